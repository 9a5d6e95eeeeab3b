//! Diagnostics shared by every stage: a stable code, a message, where it happened, what
//! else is involved, and how to fix it; plus the one renderer that prints them. The
//! codes, with what each means, are the registry in [`codes`].

pub mod codes;

pub use codes::Code;

use crate::ir::Span;
use serde::Serialize;
use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    /// As printed: `error`, `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem found in a package, with enough context to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Stable code, e.g. `KP101` (see [`codes`]; `kplan explain KP101`).
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    /// Where the problem is; `None` only for problems outside any file (bad CLI args).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<Span>,
    /// Other places involved (e.g. where a value is produced), each with a note (in
    /// JSON: `{"at": ..., "note": ...}` objects).
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "related_objects"
    )]
    pub related: Vec<(Span, String)>,
    /// How to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

fn related_objects<S: serde::Serializer>(
    related: &[(Span, String)],
    s: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Related<'a> {
        at: &'a Span,
        note: &'a str,
    }
    s.collect_seq(related.iter().map(|(at, note)| Related { at, note }))
}

impl Diagnostic {
    /// An error; `code` must be one whose severity is error.
    pub fn error(code: Code, message: impl Into<String>, at: Option<Span>) -> Self {
        debug_assert_eq!(code.severity(), Severity::Error, "{code} is a warning");
        Self::new(code, Severity::Error, message.into(), at)
    }

    /// A warning; `code` must be one whose severity is warning.
    pub fn warning(code: Code, message: impl Into<String>, at: Option<Span>) -> Self {
        debug_assert_eq!(code.severity(), Severity::Warning, "{code} is an error");
        Self::new(code, Severity::Warning, message.into(), at)
    }

    fn new(code: Code, severity: Severity, message: String, at: Option<Span>) -> Self {
        Diagnostic {
            code,
            severity,
            message,
            at,
            related: Vec::new(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_related(mut self, at: Span, note: impl Into<String>) -> Self {
        self.related.push((at, note.into()));
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Looks up the text of a file by its display path, for source snippets.
pub trait SourceLookup {
    fn source(&self, file: &str) -> Option<&str>;
}

/// No sources: diagnostics render without snippets.
pub struct NoSources;
impl SourceLookup for NoSources {
    fn source(&self, _: &str) -> Option<&str> {
        None
    }
}

/// Renders diagnostics the way rustc does:
///
/// ```text
/// error[KP101]: service name 'Web_1' is invalid
///   --> main.star:4:5
///    |
///  4 |     plan.add_service("Web_1", config)
///    |     ^
///    = help: use lower-case letters, digits and '-', starting with a letter
/// ```
pub fn render(d: &Diagnostic, sources: &dyn SourceLookup) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}[{}]: {}", d.severity.as_str(), d.code, d.message);
    if let Some(at) = &d.at {
        snippet(&mut out, at, None, sources);
    }
    for (at, note) in &d.related {
        snippet(&mut out, at, Some(note), sources);
    }
    if let Some(h) = &d.hint {
        let _ = writeln!(out, "   = help: {h}");
    }
    out
}

/// Widest source line shown whole; a longer one (minified JSON, generated code) is
/// shown as this many characters around the column, with `...` where it is cut.
const SHOWN_CHARS: usize = 100;

/// The part of `text` shown for column `col` (0-based), and the column within it.
fn window(text: &str, col: usize) -> (String, usize) {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= SHOWN_CHARS {
        return (text.to_owned(), col);
    }
    let start = col
        .saturating_sub(SHOWN_CHARS / 2)
        .min(chars.len() - SHOWN_CHARS);
    let end = start + SHOWN_CHARS;
    let mut shown = String::new();
    let mut col = col - start.min(col);
    if start > 0 {
        shown.push_str("...");
        col += 3;
    }
    shown.extend(&chars[start..end]);
    if end < chars.len() {
        shown.push_str("...");
    }
    (shown, col)
}

fn snippet(out: &mut String, at: &Span, note: Option<&str>, sources: &dyn SourceLookup) {
    let _ = writeln!(out, "  --> {at}");
    let src = sources.source(&at.file);
    let line = src.and_then(|src| src.lines().nth(at.line.saturating_sub(1) as usize));
    // A parser that ran out of input reports the line after the last one.
    let end_of_file = line.is_none() && src.is_some_and(|s| at.line as usize > s.lines().count());
    let note = match (end_of_file, note) {
        (true, Some(n)) => Some(format!("end of file: {n}")),
        (true, None) => Some("end of file".to_owned()),
        (false, n) => n.map(str::to_owned),
    };
    let note = note.as_deref();
    match line.or(end_of_file.then_some("")) {
        Some(text) => {
            let num = at.line.to_string();
            let pad = " ".repeat(num.len());
            let text = text.replace('\t', "    ");
            let (text, col) = window(&text, at.col.saturating_sub(1) as usize);
            let _ = writeln!(out, " {pad} |");
            let _ = writeln!(out, "{}", format!(" {num} | {text}").trim_end());
            let marker = format!("{}^", " ".repeat(col.min(text.chars().count())));
            match note {
                Some(n) => {
                    let _ = writeln!(out, " {pad} | {marker} {n}");
                }
                None => {
                    let _ = writeln!(out, " {pad} | {marker}");
                }
            }
        }
        None => {
            if let Some(n) = note {
                let _ = writeln!(out, "   = note: {n}");
            }
        }
    }
}
