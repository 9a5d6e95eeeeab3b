//! Source positions carried by every IR node, for diagnostics.

use serde::{Serialize, Serializer};
use std::fmt;

/// A position in a package file. `file` is the display path: relative to the package
/// root for files of the package, `github.com/OWNER/REPO/PATH` for files from the cache,
/// never an absolute path (so output is the same on every machine). Lines and columns
/// are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    pub file: String,
    pub line: u32,
    pub col: u32,
}

impl Span {
    pub fn new(file: impl Into<String>, line: u32, col: u32) -> Self {
        Span {
            file: file.into(),
            line,
            col,
        }
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
