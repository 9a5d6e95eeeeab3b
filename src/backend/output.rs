//! The files a backend produces, and writing or checking them against a directory.

use std::collections::BTreeMap;

/// Files keyed by their path relative to the output directory (`/`-separated).
/// Byte-stable: the same plan always gives the same bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    pub files: BTreeMap<String, Vec<u8>>,
}

impl Output {
    pub fn add(&mut self, path: impl Into<String>, content: impl Into<Vec<u8>>) {
        self.files.insert(path.into(), content.into());
    }
}
