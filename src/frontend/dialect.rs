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
    fn expands_tabs_only_in_indentation() {
        let src = "def f():\n\tx = \"a\\tb\"\n\tif x:\n\t\treturn '''\n\tkept\n'''\n";
        let got = expand_indent_tabs(src);
        assert_eq!(got, "def f():\n        x = \"a\\tb\"\n        if x:\n                return '''\n\tkept\n'''\n");
    }
}
