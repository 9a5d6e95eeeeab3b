//! Diagnostics shared by every stage: a stable code, a message, where it happened, what
//! else is involved, and how to fix it; plus the one renderer that prints them, built
//! on annotate-snippets (the renderer cargo prints its lints with and rustc is moving
//! to), so kplan's errors read like the compiler's and colour like them on a terminal.
//! The codes, with what each means, are the registry in [`codes`].

pub mod codes;

pub use codes::Code;

use crate::console::Palette;
use crate::ir::Span;
use annotate_snippets::{AnnotationKind, Element, Level, Origin, Renderer, Snippet};
use serde::Serialize;
use std::borrow::Cow;

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

/// Lines are cut to fit this many columns, around the marked column, with `...` where
/// they are cut (minified JSON, generated code): a line of up to about 90 characters is
/// shown whole.
const WIDTH: usize = 112;

/// Renders a diagnostic the way rustc and cargo do, with their renderer, styled with
/// `palette` (plain when it is off):
///
/// ```text
/// error[KP101]: service name 'Web_1' is invalid
///  --> main.star:4:5
///   |
/// 4 |     plan.add_service("Web_1", config)
///   |     ^
///   |
///   = help: use lower-case letters, digits and '-', starting with a letter
/// ```
///
/// Each related place follows as ` ::: file:line:col` with its line and note; a place
/// whose file has no source (a file outside the package) is named without a line, its
/// note as `= note:`. A position one line past the end of a file (a parser that ran out
/// of input) is marked on an empty line, noted `end of file`. The text ends with a
/// blank line's newline, so diagnostics printed in a row are set apart.
pub fn render(d: &Diagnostic, sources: &dyn SourceLookup, palette: Palette) -> String {
    let level = match d.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
    };
    let mut elements: Vec<Element> = Vec::new();
    if let Some(at) = &d.at {
        place(&mut elements, at, None, AnnotationKind::Primary, sources);
    }
    for (at, note) in &d.related {
        place(
            &mut elements,
            at,
            Some(note),
            AnnotationKind::Context,
            sources,
        );
    }
    if let Some(h) = &d.hint {
        elements.push(Level::HELP.message(h.as_str()).into());
    }
    let group = level
        .primary_title(d.message.as_str())
        .id(d.code.as_str())
        .elements(elements);
    let renderer = if palette.is_on() {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut out = renderer.term_width(WIDTH).render(&[group]);
    out.push('\n');
    out
}

/// Line `n` (0-based) of `src`, as `src.lines().nth(n)` gives it, found by skipping
/// to its newline with memchr: `lines()` steps through every line before it, and
/// placing the 15 warnings of compiling ethereum-package that way was 0.9M
/// instructions, more than writing its Compose file.
fn nth_line(src: &str, n: usize) -> Option<&str> {
    let start = match n.checked_sub(1) {
        None => 0,
        Some(k) => memchr::memchr_iter(b'\n', src.as_bytes()).nth(k)? + 1,
    };
    let rest = src.get(start..).filter(|r| !r.is_empty())?;
    // Like `lines()`: a `\r` goes only with the `\n` after it.
    Some(match memchr::memchr(b'\n', rest.as_bytes()) {
        Some(end) => rest[..end].strip_suffix('\r').unwrap_or(&rest[..end]),
        None => rest,
    })
}

/// The elements showing `at`: its source line with a marker (and `note`), or, with no
/// source, the position and the note alone.
fn place<'a>(
    elements: &mut Vec<Element<'a>>,
    at: &'a Span,
    note: Option<&'a str>,
    kind: AnnotationKind,
    sources: &'a dyn SourceLookup,
) {
    let src = sources.source(&at.file);
    let line = src.and_then(|src| nth_line(src, at.line.saturating_sub(1) as usize));
    // A parser that ran out of input reports the line after the last one.
    let end_of_file = line.is_none() && src.is_some_and(|s| at.line as usize > s.lines().count());
    let note: Option<Cow<'a, str>> = match (end_of_file, note) {
        (true, Some(n)) => Some(format!("end of file: {n}").into()),
        (true, None) => Some("end of file".into()),
        (false, n) => n.map(Cow::Borrowed),
    };
    match line.or(end_of_file.then_some("")) {
        Some(text) => {
            // Columns count characters; the marker goes at that character's byte.
            let col = at.col.saturating_sub(1) as usize;
            let start = text.char_indices().nth(col).map_or(text.len(), |(i, _)| i);
            let mark = kind.span(start..start).label(note);
            let snippet = Snippet::source(text)
                .path(at.file.as_str())
                .line_start(at.line as usize)
                .annotation(mark);
            elements.push(snippet.into());
        }
        None => {
            let origin = Origin::path(at.file.as_str())
                .line(at.line as usize)
                .char_column(at.col as usize);
            elements.push(origin.into());
            if let Some(n) = note {
                elements.push(Level::NOTE.message(n).into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn nth_line_is_lines_nth() {
        for src in [
            "",
            "a",
            "a\n",
            "a\nb",
            "a\n\nb\n",
            "\n",
            "\n\n",
            "a\r\nb\r\n",
            "x\r",
            "é\nü\n\n",
        ] {
            for n in 0..6 {
                assert_eq!(super::nth_line(src, n), src.lines().nth(n), "{src:?} {n}");
            }
        }
    }

    use super::*;

    struct One(&'static str);
    impl SourceLookup for One {
        fn source(&self, file: &str) -> Option<&str> {
            (file == "main.star").then_some(self.0)
        }
    }

    fn plain(d: &Diagnostic, src: &dyn SourceLookup) -> String {
        render(d, src, Palette::PLAIN)
    }

    #[test]
    fn every_fact_is_shown() {
        let d = Diagnostic::error(Code::KP101, "bad name", Some(Span::new("main.star", 2, 5)))
            .with_related(Span::new("main.star", 1, 1), "made here")
            .with_related(Span::new("lib.star", 7, 3), "used there")
            .with_hint("rename it");
        let text = plain(&d, &One("x = 1\n    y(x)\n"));
        let want = "\
error[KP101]: bad name
 --> main.star:2:5
  |
2 |     y(x)
  |     ^
  |
 ::: main.star:1:1
  |
1 | x = 1
  | - made here
 ::: lib.star:7:3
  = note: used there
  = help: rename it
";
        assert_eq!(text, want);
    }

    #[test]
    fn no_source_names_the_place() {
        let d = Diagnostic::warning(Code::KP210, "cannot write", Some(Span::new("x.star", 3, 4)));
        assert_eq!(
            plain(&d, &NoSources),
            "warning[KP210]: cannot write\n--> x.star:3:4\n"
        );
        let d = Diagnostic::error(Code::KP005, "cannot write", None);
        assert_eq!(plain(&d, &NoSources), "error[KP005]: cannot write\n");
    }

    #[test]
    fn end_of_file_is_marked() {
        let d = Diagnostic::error(
            Code::KP010,
            "unexpected end",
            Some(Span::new("main.star", 3, 1)),
        );
        let text = plain(&d, &One("a = (\n  1\n"));
        assert!(text.contains("3 |\n  | ^ end of file\n"), "{text}");
    }

    #[test]
    fn long_lines_are_cut_around_the_column() {
        let line: &'static str =
            Box::leak(format!("{}HERE{}\n", "a".repeat(300), "b".repeat(300)).into_boxed_str());
        let d = Diagnostic::error(Code::KP011, "here", Some(Span::new("main.star", 1, 301)));
        let text = plain(&d, &One(line));
        let shown = text
            .lines()
            .find(|l| l.starts_with("1 |"))
            .unwrap_or_default();
        assert!(shown.contains("...") && shown.contains("HERE"), "{text}");
        assert!(shown.chars().count() <= WIDTH, "{text}");
        let marker = text.lines().find(|l| l.contains('^')).unwrap_or_default();
        assert_eq!(marker.find('^'), shown.find("HERE"), "{text}");
    }

    #[test]
    fn colour_only_when_the_palette_is_on() {
        let d = Diagnostic::error(Code::KP101, "bad", Some(Span::new("main.star", 1, 1)));
        let src = One("x = 1\n");
        assert!(!plain(&d, &src).contains('\x1b'));
        let styled = render(&d, &src, Palette::of_choice(true));
        assert!(styled.contains("\x1b["), "{styled:?}");
        assert_eq!(
            anstream::adapter::strip_str(&styled).to_string(),
            plain(&d, &src)
        );
    }
}
