//! Syntax errors as diagnostics: one code, KP010, wherever the file is (the main file
//! or a module it imports), and, when a bracket opened before the error is never
//! closed, a second position pointing at that bracket (the parser itself only says
//! where it gave up, often at the end of the file).
//!
//! Brackets are found with starlark's own lexer over the text the parser saw (tabs
//! expanded), so strings, comments and f-strings are skipped exactly as it skips them.

use super::dialect::{dialect, expand_indent_tabs};
use super::instruction::to_span;
use super::run::to_diagnostic;
use crate::diagnostic::{Code, Diagnostic, SourceLookup};
use crate::ir::Span;
use starlark::codemap::{CodeMap, Pos};
use starlark::ErrorKind;
use starlark_syntax::lexer::{Lexer, Token};

/// The code of a syntax error, in any file.
pub const SYNTAX: Code = Code::KP010;

/// A diagnostic for an error from parsing or evaluating: KP010 with the open bracket
/// for a syntax error (also one raised while importing a module), else `code`.
pub fn diagnose(code: Code, e: &starlark::Error, sources: &dyn SourceLookup) -> Diagnostic {
    if !matches!(e.kind(), ErrorKind::Parser(_)) {
        return to_diagnostic(code, e);
    }
    let mut d = to_diagnostic(SYNTAX, e);
    let open = d.at.as_ref().and_then(|at| {
        let src = sources.source(&at.file)?;
        unclosed_bracket(&at.file, src, at)
    });
    if let Some((bracket, ch)) = open {
        if d.at.as_ref() != Some(&bracket) {
            d.related
                .insert(0, (bracket, format!("this `{ch}` is never closed")));
        }
    }
    d
}

/// The innermost bracket of `src` that is opened before `before` and never closed.
fn unclosed_bracket(file: &str, src: &str, before: &Span) -> Option<(Span, char)> {
    let text = expand_indent_tabs(src).into_owned();
    let codemap = CodeMap::new(file.to_owned(), text.clone());
    let mut open: Vec<(usize, char)> = Vec::new();
    // After a lexical error the lexer may repeat it without advancing: stop there
    // (brackets past it are unknowable), and never take more tokens than the text can
    // hold (each consumes a byte, plus one indent and one dedent per line).
    let most = 2 * text.len() + 16;
    for lexeme in Lexer::new(&text, &dialect(), codemap.clone()).take(most) {
        let Ok((start, token, _)) = lexeme else {
            break;
        };
        let closes = match token {
            Token::OpeningRound => {
                open.push((start, '('));
                continue;
            }
            Token::OpeningSquare => {
                open.push((start, '['));
                continue;
            }
            Token::OpeningCurly => {
                open.push((start, '{'));
                continue;
            }
            Token::ClosingRound => '(',
            Token::ClosingSquare => '[',
            Token::ClosingCurly => '{',
            _ => continue,
        };
        // A stray closer (one that matches nothing open) is left alone.
        if open.last().is_some_and(|(_, c)| *c == closes) {
            open.pop();
        }
    }
    open.into_iter()
        .filter_map(|(start, ch)| {
            let pos = Pos::new(u32::try_from(start).ok()?);
            let span = codemap.file_span(starlark::codemap::Span::new(pos, pos));
            Some((to_span(Some(&span)), ch))
        })
        .rfind(|(at, _)| (at.line, at.col) < (before.line, before.col))
}

#[cfg(test)]
mod tests {
    use super::unclosed_bracket;
    use crate::ir::Span;

    fn open_at(src: &str) -> Option<(u32, u32, char)> {
        let end = Span::new("f.star", u32::MAX, 1);
        unclosed_bracket("f.star", src, &end).map(|(at, c)| (at.line, at.col, c))
    }

    #[test]
    fn finds_the_innermost_bracket_never_closed() {
        assert_eq!(open_at("f(a, g(b)\n"), Some((1, 2, '(')));
        assert_eq!(open_at("x = [1, {\"a\": (2)}\n"), Some((1, 5, '[')));
        assert_eq!(open_at("f(\"(\")  # (\n"), None);
        assert_eq!(open_at("f(a]\n"), Some((1, 2, '(')));
    }

    #[test]
    fn lexical_errors_end_the_search() {
        for src in [
            "f(\"abc\n",
            "def f(:\n\t  x\n",
            "f(\u{0}\n",
            "  x = (\n y\n",
            "f(\\",
            "g(\n    f'ield = \"code\",\n)\n",
        ] {
            let _ = open_at(src);
        }
    }
}
