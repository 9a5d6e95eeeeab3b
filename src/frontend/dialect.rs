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

/// Rewrites tabs in indentation (outside string literals) to spaces, with tab stops
/// every 8 columns as starlark-go does; starlark-rust rejects tab indentation.
pub fn expand_indent_tabs(src: &str) -> std::borrow::Cow<'_, str> {
    if !src.contains('\t') {
        return std::borrow::Cow::Borrowed(src);
    }
    let mut out = String::with_capacity(src.len() + 64);
    // Inside a triple-quoted string, indentation is content and must stay as written.
    let mut in_triple: Option<&str> = None;
    for line in src.split_inclusive('\n') {
        let mut rest = line;
        if in_triple.is_none() {
            let mut col = 0usize;
            let mut indent = String::new();
            for (i, c) in line.char_indices() {
                match c {
                    ' ' => {
                        col += 1;
                        indent.push(' ');
                    }
                    '\t' => {
                        let next = col + 8 - col % 8;
                        indent.push_str(&" ".repeat(next - col));
                        col = next;
                    }
                    _ => {
                        rest = &line[i..];
                        break;
                    }
                }
                rest = &line[i + c.len_utf8()..];
            }
            out.push_str(&indent);
        }
        out.push_str(rest);
        in_triple = scan_triple_quotes(rest, in_triple);
    }
    std::borrow::Cow::Owned(out)
}

/// Tracks whether a line leaves us inside a triple-quoted string.
fn scan_triple_quotes(line: &str, mut state: Option<&'static str>) -> Option<&'static str> {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match state {
            Some(q) => {
                if b[i] == b'\\' {
                    i += 2;
                    continue;
                }
                if line[i..].starts_with(q) {
                    state = None;
                    i += 3;
                    continue;
                }
                i += 1;
            }
            None => match b[i] {
                b'#' => return None,
                b'"' | b'\'' => {
                    let q: &'static str = if b[i] == b'"' { "\"\"\"" } else { "'''" };
                    if line[i..].starts_with(q) {
                        state = Some(q);
                        i += 3;
                        continue;
                    }
                    // A single-quoted string: skip to its end on this line.
                    let quote = b[i];
                    i += 1;
                    while i < b.len() && b[i] != quote {
                        if b[i] == b'\\' {
                            i += 1;
                        }
                        i += 1;
                    }
                    i += 1;
                }
                _ => i += 1,
            },
        }
    }
    state
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
