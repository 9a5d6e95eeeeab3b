//! Bounds on how deeply a Starlark file nests, checked before it is parsed, because
//! starlark-rust builds, compiles, evaluates and drops the syntax tree recursively: a
//! file nested deeply enough exhausts any stack (300,000 `and` terms, `not`s,
//! conditional expressions, calls `f()()`, `elif`s or `\`-continued `+` terms
//! aborted kplan). The evaluation runs on a thread with a stack of known size (see
//! `run.rs`), and these limits keep every construct well inside it (tests/it/limits.rs
//! evaluates each one at its limit).
//!
//! The scan uses starlark's own lexer, so strings, comments, f-strings and `\`
//! continuations are seen exactly as the parser sees them, and it is linear. What it
//! bounds:
//!
//! - brackets open at once ([`MAX_BRACKETS`]);
//! - how deep an expression nests ([`MAX_TERMS`]): every token that can add a level
//!   to its tree counts one (operators, `and`/`or`/`not`, `if`/`else`, `lambda`,
//!   `for`/`in`, `.`, opening brackets, so calls and indexing too), and what is
//!   inside a bracket stops counting when it closes; after a comma (the next
//!   element or argument) counting starts again at the bracket, except in a
//!   lambda's parameters.
//!   Names and literals add none, so a long list of dicts costs a few levels;
//! - the depth of blocks ([`MAX_BLOCKS`]): indentation, plus each `elif` (which
//!   nests the rest of its chain inside the previous `else`).

use super::instruction::to_span;
use starlark::codemap::CodeMap;
use starlark_syntax::lexer::{Lexer, Token};

/// Deepest bracket nesting accepted (real packages nest a few levels).
pub const MAX_BRACKETS: usize = 1000;
/// Deepest expression: terms one inside another (real packages: a few dozen).
pub const MAX_TERMS: usize = 1000;
/// Deepest nesting of blocks (`def`, `if`, `for`) and `elif` chains.
pub const MAX_BLOCKS: usize = 1000;

/// How deep one file nests: the largest of each measure. The deepest in the real
/// packages (ethereum-package and five others): 7 brackets, 24 terms, 29 blocks (an
/// `elif` chain), so the limits leave room for any hand-written package.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Depth {
    pub brackets: usize,
    pub terms: usize,
    pub blocks: usize,
}

/// Where a limit is passed: 1-based line and column, and what to do.
pub type Exceeded = (u32, u32, String);

/// Refuses `src` (tabs already expanded) when it passes a limit.
pub fn check(file: &str, src: &str) -> Result<Depth, Exceeded> {
    scan(file, src, true)
}

/// The deepest of each measure in `src`, limits ignored.
#[cfg(test)]
pub fn measure(file: &str, src: &str) -> Depth {
    scan(file, src, false).unwrap_or_default()
}

fn scan(file: &str, src: &str, enforce: bool) -> Result<Depth, Exceeded> {
    let codemap = CodeMap::new(file.to_owned(), src.to_owned());
    let at = |pos: usize| {
        let pos = starlark::codemap::Pos::new(u32::try_from(pos).unwrap_or(u32::MAX));
        let span = to_span(Some(
            &codemap.file_span(starlark::codemap::Span::new(pos, pos)),
        ));
        (span.line, span.col)
    };
    let mut deepest = Depth::default();
    // The depth reached in the current statement, and the depth at each open bracket.
    let mut terms = 0usize;
    let mut open: Vec<(usize, usize)> = Vec::new();
    // Lambdas whose parameters are being read, at the current bracket level.
    let mut lambdas = 0usize;
    // Per indentation level, the length of the `elif` chain running at that level.
    let mut chains: Vec<usize> = vec![0];
    let mut line_start = true;
    // A lexical error may repeat without advancing: stop there (the parser reports
    // it), and never take more tokens than the text can hold.
    let most = 2 * src.len() + 16;
    for lexeme in Lexer::new(src, &super::dialect::dialect(), codemap.clone()).take(most) {
        let Ok((start, token, _)) = lexeme else {
            break;
        };
        let first = std::mem::replace(&mut line_start, false);
        match token {
            Token::Newline => {
                (terms, lambdas) = (0, 0);
                open.clear();
                line_start = true;
                continue;
            }
            Token::Indent => {
                chains.push(0);
                line_start = true;
            }
            Token::Dedent => {
                if chains.len() > 1 {
                    chains.pop();
                }
                line_start = true;
                continue;
            }
            Token::Elif if first => {
                if let Some(c) = chains.last_mut() {
                    *c += 1;
                }
            }
            Token::Else if first => {}
            _ if first => {
                if let Some(c) = chains.last_mut() {
                    *c = 0;
                }
            }
            _ => {}
        }
        let blocks = chains.len() - 1 + chains.iter().sum::<usize>();
        deepest.blocks = deepest.blocks.max(blocks);
        if enforce && blocks > MAX_BLOCKS {
            let (l, c) = at(start);
            return Err((l, c, format!("blocks and `elif` chains nest more than {MAX_BLOCKS} levels deep here; move inner blocks into functions, or use a dict instead of a long `elif` chain")));
        }
        if matches!(token, Token::Indent) {
            continue;
        }
        match token {
            Token::OpeningRound | Token::OpeningSquare | Token::OpeningCurly => {
                terms += 1;
                open.push((terms, std::mem::take(&mut lambdas)));
                deepest.brackets = deepest.brackets.max(open.len());
                if enforce && open.len() > MAX_BRACKETS {
                    let (l, c) = at(start);
                    return Err((l, c, format!("brackets are nested more than {MAX_BRACKETS} levels deep; split the expression into named parts")));
                }
            }
            // What is inside a closed bracket no longer deepens what follows it.
            Token::ClosingRound | Token::ClosingSquare | Token::ClosingCurly => {
                (terms, lambdas) = open.pop().unwrap_or((terms, lambdas));
                continue;
            }
            // Elements and arguments are siblings: each starts at the depth of the
            // bracket that holds them (not in a lambda's parameters: its body
            // nests inside the lambda).
            Token::Comma => {
                if lambdas == 0 {
                    terms = open.last().map_or(0, |o| o.0);
                }
                continue;
            }
            Token::Colon => {
                lambdas = lambdas.saturating_sub(1);
                continue;
            }
            Token::Lambda => {
                lambdas += 1;
                terms += 1;
            }
            _ if adds_no_level(&token) => continue,
            _ => terms += 1,
        }
        deepest.terms = deepest.terms.max(terms);
        if enforce && terms > MAX_TERMS {
            let (l, c) = at(start);
            return Err((l, c, format!("this expression nests more than {MAX_TERMS} operators, calls, brackets or conditionals; split it into several statements")));
        }
    }
    Ok(deepest)
}

/// Tokens that never add a level to a syntax tree.
fn adds_no_level(token: &Token) -> bool {
    matches!(
        token,
        Token::Identifier(_)
            | Token::Int(_)
            | Token::Float(_)
            | Token::String(_)
            | Token::Bytes(_)
            | Token::FStringText(_)
            | Token::FStringEnd
            | Token::FStringExprEnd
            | Token::Semicolon
            | Token::Comment(_)
            | Token::Tabs
            | Token::Pass
            | Token::Break
            | Token::Continue
            | Token::Return
            | Token::Def
            | Token::Load
            | Token::Equal
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth(src: &str) -> Depth {
        measure("f.star", src)
    }

    #[test]
    fn measures_every_recursive_construct() {
        assert_eq!(depth("x = 1 and 2 and 3\n").terms, 2);
        assert_eq!(depth("x = not not y\n").terms, 2);
        assert_eq!(depth("x = 1 \\\n + 2 \\\n + 3\n").terms, 2);
        assert_eq!(depth("x = f()()\n").terms, 2);
        assert_eq!(depth("x = lambda a, b: lambda: {\"k\": -1}\n").terms, 4);
        assert_eq!(depth("x = [1, 2, 3, \"a\", b]\n").terms, 1);
        // Siblings do not add up; what is inside a bracket counts from it.
        assert_eq!(depth("x = [{\"a\": 1}, {\"b\": -2}, {}]\n").terms, 3);
        assert_eq!(depth("x = 1 + (2 + 3 + 4) + 5\n").terms, 4);
        assert_eq!(depth("x = ((1))\n").brackets, 2);
        let elifs = "if a:\n  pass\nelif b:\n  pass\nelif c:\n  pass\nelse:\n  pass\n";
        assert_eq!(depth(elifs).blocks, 3);
        assert_eq!(depth("def f():\n  if a:\n    pass\n").blocks, 2);
        // A new statement at the same level ends the chain.
        let two = "if a:\n  pass\nelif b:\n  pass\nx = 1\nif c:\n  pass\nelif d:\n  pass\n";
        assert_eq!(depth(two).blocks, 2);
    }

    #[test]
    fn refuses_at_the_token_past_the_limit() {
        let src = format!("x = {}1\n", "-".repeat(MAX_TERMS + 1));
        let (line, col, _) = check("f.star", &src).expect_err("too many terms");
        assert_eq!((line, col), (1, 5 + MAX_TERMS as u32));
    }
}
