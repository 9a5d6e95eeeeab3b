//! `--output json`: the one way every command prints a JSON document, so each carries
//! the same `version` field first. The shape of each command's document is the JSON
//! Schema `schemas/<command>.schema.json` (draft 2020-12); [`VERSION`] changes when a
//! field is removed, renamed or changes meaning, and the schemas with it
//! (`tests/it/json_output.rs` validates real outputs against them).

use crate::console::{errln, outln};
use serde::Serialize;

/// The version of every `--output json` document's shape.
pub const VERSION: u32 = 1;

/// A document with its version.
#[derive(Serialize)]
struct Versioned<'a, T: Serialize> {
    version: u32,
    #[serde(flatten)]
    doc: &'a T,
}

/// Prints `doc`, an object, with `"version"` first, as one pretty-printed document on
/// stdout.
pub fn print<T: Serialize>(doc: &T) {
    emit(serde_json::to_string_pretty(&Versioned {
        version: VERSION,
        doc,
    }));
}

/// Prints `doc` as [`print()`] does, on one line: one of a stream of documents (JSON
/// Lines), as `apply --watch` prints one per apply.
pub fn print_line<T: Serialize>(doc: &T) {
    emit(serde_json::to_string(&Versioned {
        version: VERSION,
        doc,
    }));
}

fn emit(text: serde_json::Result<String>) {
    match text {
        Ok(s) => outln!("{s}"),
        Err(e) => errln!("error: cannot write the JSON document: {e}"),
    }
}
