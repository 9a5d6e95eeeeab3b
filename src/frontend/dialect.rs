//! The starlark-go dialect real Kurtosis packages are written in, mapped onto
//! starlark-rust: tab indentation is accepted (tabs advance to the next multiple of 8,
//! as in starlark-go), and the parser allows what starlark-go allows.

use starlark::syntax::{Dialect, DialectTypes};

/// The dialect kplan parses packages with.
pub fn dialect() -> Dialect {
    Dialect {
        enable_def: true,
        enable_lambda: true,
        enable_load: true,
        enable_keyword_only_arguments: true,
        enable_positional_only_arguments: false,
        enable_types: DialectTypes::ParseOnly,
        enable_load_reexport: true,
        enable_top_level_stmt: true,
        enable_f_strings: true,
        ..Dialect::Extended
    }
}

/// Rewrites tabs outside string literals, which starlark-rust rejects anywhere: in
/// indentation they advance to the next multiple of 8 columns (as starlark-go does);
/// elsewhere (between tokens, at line ends, in comments) they become one space. Tabs
/// inside strings, including triple-quoted ones, stay as written.
pub fn expand_indent_tabs(src: &str) -> std::borrow::Cow<'_, str> {
    if !src.contains('\t') {
        return std::borrow::Cow::Borrowed(src);
    }
    expand(src)
}

/// Deepest bracket nesting accepted (starlark-go's own parser is recursive too; real
/// packages nest a few levels).
pub const MAX_NESTING: usize = 1000;
/// Most operators accepted in one logical line (a chain `a + b + ...` nests as deep).
pub const MAX_OPERATORS_PER_LINE: usize = 5000;

/// Refuses input the recursive parser and evaluator could not handle without
/// exhausting the stack: brackets nested deeper than [`MAX_NESTING`], or more than
/// [`MAX_OPERATORS_PER_LINE`] operators in one logical line. Returns the 1-based line
/// and column of the offending character and a message.
pub fn check_limits(src: &str) -> Result<(), (u32, u32, String)> {
    // Over bytes: every character that matters here is ASCII, and a UTF-8 continuation
    // byte never equals one, so only the column needs care (it counts characters: a
    // continuation byte does not advance it). Collecting the text into `char`s first
    // cost 6% of compiling ethereum-package (callgrind).
    let bytes = src.as_bytes();
    let mut depth = 0usize;
    let mut ops = 0usize;
    let (mut line, mut col) = (1u32, 0u32);
    let mut quote: Option<(u8, bool)> = None;
    let mut in_comment = false;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c & 0xC0 != 0x80 {
            col += 1;
        }
        if c == b'\n' {
            line += 1;
            col = 0;
            in_comment = false;
            if matches!(quote, Some((_, false))) {
                quote = None;
            }
            if depth == 0 && quote.is_none() {
                ops = 0;
            }
            i += 1;
            continue;
        }
        if let Some((q, triple)) = quote {
            if c == b'\\' {
                // The escaped character is skipped (its continuation bytes, if any,
                // are then passed over below without counting).
                i += 2;
                col += 1;
                continue;
            }
            if c == q
                && (!triple || (i + 2 < bytes.len() && bytes[i + 1] == q && bytes[i + 2] == q))
            {
                quote = None;
                i += if triple { 3 } else { 1 };
                continue;
            }
            i += 1;
            continue;
        }
        if in_comment {
            // Nothing in a comment counts, and the column restarts at the newline.
            i += bytes[i..]
                .iter()
                .position(|&b| b == b'\n')
                .unwrap_or(bytes.len() - i);
            continue;
        }
        match c {
            b'#' => in_comment = true,
            b'"' | b'\'' => {
                let triple = i + 2 < bytes.len() && bytes[i + 1] == c && bytes[i + 2] == c;
                quote = Some((c, triple));
                i += if triple { 3 } else { 1 };
                continue;
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err((line, col, format!("brackets are nested more than {MAX_NESTING} levels deep; split the expression into named parts")));
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'+' | b'-' | b'*' | b'/' | b'%' | b'|' | b'&' | b'^' | b'<' | b'>' | b'=' | b'!'
            | b'.' => {
                ops += 1;
                if ops > MAX_OPERATORS_PER_LINE {
                    return Err((line, col, format!("this expression has more than {MAX_OPERATORS_PER_LINE} operators; split it into several statements")));
                }
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

fn expand(src: &str) -> std::borrow::Cow<'_, str> {
    let mut out = String::with_capacity(src.len() + 64);
    let chars: Vec<char> = src.chars().collect();
    let mut i = 0;
    let mut col = 0usize; // column in the output line, for tab stops
    let mut at_line_start = true;
    // The open string's quote: one char or three.
    let mut quote: Option<(char, bool)> = None;
    let mut in_comment = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            out.push(c);
            i += 1;
            col = 0;
            at_line_start = quote.is_none();
            in_comment = false;
            // A newline ends an unterminated single-quoted string (a syntax error the
            // parser will report); keep scanning sanely.
            if matches!(quote, Some((_, false))) {
                quote = None;
                at_line_start = true;
            }
            continue;
        }
        match quote {
            Some((q, triple)) => {
                if c == '\\' && i + 1 < chars.len() {
                    out.push(c);
                    out.push(chars[i + 1]);
                    i += 2;
                    col += 2;
                    continue;
                }
                if c == q
                    && (!triple || (i + 2 < chars.len() && chars[i + 1] == q && chars[i + 2] == q))
                {
                    let n = if triple { 3 } else { 1 };
                    for _ in 0..n {
                        out.push(q);
                    }
                    i += n;
                    col += n;
                    quote = None;
                    continue;
                }
                out.push(c);
                i += 1;
                col += 1;
            }
            None => {
                if c == '\t' {
                    if at_line_start {
                        let next = col + 8 - col % 8;
                        out.extend(std::iter::repeat_n(' ', next - col));
                        col = next;
                    } else {
                        out.push(' ');
                        col += 1;
                    }
                    i += 1;
                    continue;
                }
                if c != ' ' {
                    at_line_start = false;
                }
                if !in_comment && c == '#' {
                    in_comment = true;
                }
                if !in_comment && (c == '"' || c == '\'') {
                    let triple = i + 2 < chars.len() && chars[i + 1] == c && chars[i + 2] == c;
                    quote = Some((c, triple));
                    let n = if triple { 3 } else { 1 };
                    for _ in 0..n {
                        out.push(c);
                    }
                    i += n;
                    col += n;
                    continue;
                }
                out.push(c);
                i += 1;
                col += 1;
            }
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_reported_in_characters_not_bytes() {
        let deep = format!("x = \"é\" + {}", "(".repeat(MAX_NESTING + 1));
        let (line, col, msg) = check_limits(&deep).unwrap_err();
        assert_eq!((line, col), (1, 11 + MAX_NESTING as u32), "{msg}");
        // Brackets in strings (escaped quotes, multi-byte text) and comments do not count.
        let quoted = format!(
            "x = \"\\\"é{}\"  # {}\n",
            "(".repeat(2000),
            "[".repeat(2000)
        );
        assert!(check_limits(&quoted).is_ok());
        let triple = format!("x = '''é\n{}'''\ny = 1\n", "{".repeat(2000));
        assert!(check_limits(&triple).is_ok());
    }

    #[test]
    fn expands_tabs_only_in_indentation() {
        let src = "def f():\n\tx = \"a\\tb\"\n\tif x:\n\t\treturn '''\n\tkept\n'''\n";
        let got = expand_indent_tabs(src);
        assert_eq!(got, "def f():\n        x = \"a\\tb\"\n        if x:\n                return '''\n\tkept\n'''\n");
    }
}
