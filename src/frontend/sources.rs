//! The text of every file read during interpretation, by display path, for snippets in
//! diagnostics.

use crate::diagnostic::SourceLookup;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default)]
pub struct Sources {
    files: BTreeMap<String, String>,
}

impl Sources {
    pub fn insert(&mut self, display: &str, text: &str) {
        self.files.insert(display.to_owned(), text.to_owned());
    }

    /// Adds every file of `other` this does not have.
    pub fn extend(&mut self, other: Sources) {
        for (k, v) in other.files {
            self.files.entry(k).or_insert(v);
        }
    }
}

impl SourceLookup for Sources {
    fn source(&self, file: &str) -> Option<&str> {
        self.files.get(file).map(String::as_str)
    }
}
