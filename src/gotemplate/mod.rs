//! Go `text/template` engine for `plan.render_templates`.
//!
//! This module owns parsing and executing Go templates (as Kurtosis packages
//! write them) over JSON-shaped data. It is pure: no I/O, no Starlark, no other
//! kplan module. It follows Go's semantics: trim markers, `if`/`else if`/
//! `with`/`range` (maps in sorted key order, `break`/`continue`), variables
//! with Go scoping, pipelines, the builtin functions (`printf` with Go `fmt`
//! verbs, `index`, `eq` and friends, `and`/`or` short-circuiting, `html`,
//! `js`, `urlquery`, `slice`, `len`, `not`, `print`, `println`), `<no value>`
//! for missing map keys, and Go `fmt` printing of lists and maps. Data numbers
//! are Go `json.Number` values (a string type) holding the text Kurtosis's float64
//! round trip leaves ([`Number`]): they print as that text, but
//! `printf "%d"` gives `%!d(json.Number=8080)` and `eq .Port 8080` fails with
//! "incompatible types for comparison", exactly as Kurtosis renders them.
//! `{{define}}`, `{{template}}` and `{{block}}` are rejected at parse time.
//!
//! Strings may contain holes ([`Piece::Hole`]): values known only at run time.
//! Printing copies holes into the output, so templates that only print such
//! values render at compile time to text with holes; anything that needs a
//! hole's content fails with [`ExecError::NeedsRuntimeValue`] naming the hole.

#![allow(
    clippy::wildcard_enum_match_arm,
    reason = "Go template values and tokens, not the IR: a wildcard is Go's \"any other kind\""
)]

mod exec;
mod format;
mod funcs;
mod lexer;
mod number;
mod parser;
mod value;

#[cfg(test)]
mod tests;

pub use number::{Number, NumberError};
pub use value::{value_from_json, Piece, Value};

/// The default bound on what one template execution writes: 64 MiB, a thousand
/// times the largest file the real packages render.
pub const DEFAULT_MAX_OUTPUT: usize = 64 << 20;

/// A parsed template.
#[derive(Debug)]
pub struct Template {
    name: String,
    /// The source, for the positions of execution errors.
    source: String,
    root: Vec<parser::Node>,
}

/// A template that does not parse. `line` and `col` are 1-based (col in characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template: {name}:{line}:{col}: {message}")]
pub struct ParseError {
    /// Template name.
    pub name: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
    /// Go-like message, e.g. "unexpected {{end}}".
    pub message: String,
}

/// A failed execution. Positions are those of the failing action (1-based).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// Rendering needs the content of run-time value `hole`.
    #[error("{line}:{col}: {what} needs run-time value #{hole}")]
    NeedsRuntimeValue {
        /// The hole whose content is needed.
        hole: u32,
        /// 1-based line of the action.
        line: usize,
        /// 1-based column of the action.
        col: usize,
        /// What needed it, e.g. "eq on a string".
        what: String,
    },
    /// Go's execution error.
    #[error("template: {name}:{line}:{col}: executing \"{name}\" at <{context}>: {message}")]
    Failed {
        /// Template name.
        name: String,
        /// 1-based line of the action.
        line: usize,
        /// 1-based column of the action.
        col: usize,
        /// Source of the failing command (at most 20 characters, then "...").
        context: String,
        /// Go-like message, e.g. "error calling eq: incompatible types for comparison".
        message: String,
    },
}

impl ExecError {
    /// 1-based line of the failing action.
    pub fn line(&self) -> usize {
        match self {
            ExecError::NeedsRuntimeValue { line, .. } | ExecError::Failed { line, .. } => *line,
        }
    }

    /// 1-based column of the failing action.
    pub fn col(&self) -> usize {
        match self {
            ExecError::NeedsRuntimeValue { col, .. } | ExecError::Failed { col, .. } => *col,
        }
    }
}

impl Template {
    /// Parses `source`; `name` appears in error messages.
    pub fn parse(name: &str, source: &str) -> Result<Template, ParseError> {
        Ok(Template {
            name: name.to_string(),
            source: source.to_owned(),
            root: parser::parse(name, source)?,
        })
    }

    /// Executes the template over `data`; adjacent text pieces are merged. Output
    /// past [`DEFAULT_MAX_OUTPUT`] bytes is an error.
    pub fn execute(&self, data: &Value) -> Result<Vec<Piece>, ExecError> {
        self.execute_limited(data, DEFAULT_MAX_OUTPUT)
    }

    /// [`Template::execute`] with output bounded to `max_output` bytes: past it the
    /// action that wrote the last piece fails (Go has no bound; a template such as
    /// `{{ range 1000000000 }}...` would fill memory).
    pub fn execute_limited(
        &self,
        data: &Value,
        max_output: usize,
    ) -> Result<Vec<Piece>, ExecError> {
        exec::execute(&self.name, &self.source, &self.root, data, max_output)
    }
}
