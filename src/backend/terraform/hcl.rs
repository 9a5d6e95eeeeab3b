//! HCL text: expressions built with hcl-rs, string literals escaped the way
//! Terraform reads them back, and the layout `terraform fmt` leaves.
//!
//! The structure (blocks, attributes, arrays, objects, traversals) is built with
//! hcl-rs's types and written by its formatter. Two things are kplan's own, each for
//! a measured reason (the escaping fixture round-trips through Terraform 1.15):
//! - string literals: hcl-rs 0.19.10 writes the literal `$${` as `$${` (Terraform
//!   reads that back as `${`) and escapes U+0008 and U+000C as `\b` and `\f`, which
//!   HCL does not accept. [`escape`] escapes `"` and `\`, `\n`, `\r`, `\t`, every
//!   other control character as `\uNNNN`, and doubles the `$` or `%` of every `${`
//!   and `%{`; the result goes to hcl-rs as an already-quoted template, which its
//!   formatter writes as is. Everything else (unicode included) is written verbatim.
//! - alignment: hcl-rs does not align the `=` of consecutive one-line attributes as
//!   `terraform fmt` does; [`align`] applies hclwrite's rule (`formatCells`) to
//!   hcl-rs's output: a run of consecutive lines that each assign a whole one-line
//!   value has its `=` one space after the longest key, measured in characters (the
//!   escaping fixture has keys with multi-byte characters).

use hcl::expr::{Expression, ObjectKey, TemplateExpr, Traversal, Variable};

/// `s` as an HCL quoted-string literal that Terraform evaluates to exactly `s`.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// A string literal.
pub fn string(s: &str) -> Expression {
    Expression::TemplateExpr(Box::new(TemplateExpr::QuotedString(escape(s))))
}

/// A template: literal pieces (escaped) and interpolated references, e.g.
/// `"${var.name_prefix}-web"`.
pub fn template(parts: &[Piece]) -> Expression {
    let mut s = String::new();
    for p in parts {
        match p {
            Piece::Lit(l) => s.push_str(&escape(l)),
            Piece::Ref(r) => {
                s.push_str("${");
                s.push_str(r);
                s.push('}');
            }
        }
    }
    Expression::TemplateExpr(Box::new(TemplateExpr::QuotedString(s)))
}

/// A piece of a [`template`].
pub enum Piece<'a> {
    Lit(&'a str),
    /// A reference written inside `${...}` (kplan's own, e.g. `var.name_prefix`).
    Ref(&'a str),
}

/// A list of string literals.
pub fn strings<S: AsRef<str>>(items: &[S]) -> Expression {
    Expression::Array(items.iter().map(|s| string(s.as_ref())).collect())
}

/// A reference `root.a.b`.
pub fn reference(root: &str, attrs: &[&str]) -> Expression {
    let mut b = Traversal::builder(Variable::unchecked(root));
    for a in attrs {
        b = b.attr(*a);
    }
    Expression::Traversal(Box::new(b.build()))
}

/// An object key: bare when it is an identifier, else a quoted literal.
pub fn key(k: &str) -> ObjectKey {
    if is_ident(k) {
        ObjectKey::Identifier(hcl::Identifier::unchecked(k))
    } else {
        ObjectKey::Expression(string(k))
    }
}

/// Whether `s` is an HCL identifier (ASCII subset): a letter or `_`, then letters,
/// digits, `_` and `-`.
pub fn is_ident(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_' || x == '-')
}

/// A name made into an identifier: characters outside `[a-zA-Z0-9_-]` become `_`,
/// and a leading digit or `-` gets a `_` before it.
pub fn ident(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        out.insert(0, '_');
    }
    out
}

/// hcl-rs's text of a body, aligned as `terraform fmt` aligns it.
pub fn format(body: &hcl::Body) -> Result<String, String> {
    let text = hcl::format::to_string(body).map_err(|e| e.to_string())?;
    Ok(align(&text))
}

/// Aligns the `=` of each run of consecutive one-line assignments (see the module
/// doc). Every string in kplan's output is one line (newlines are escaped), so a
/// line-based scan that skips quoted text sees every bracket.
pub fn align(text: &str) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let keys: Vec<Option<usize>> = lines.iter().map(|l| assign_key_end(l)).collect();
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut i = 0;
    while i < lines.len() {
        if keys[i].is_none() {
            out.push_str(lines[i]);
            i += 1;
            continue;
        }
        let mut j = i;
        while j < lines.len() && keys[j].is_some() {
            j += 1;
        }
        // Terraform measures the key in characters (runes), not bytes.
        let cols = |l: &str, k: usize| l[..k].chars().count();
        let width = lines[i..j]
            .iter()
            .zip(&keys[i..j])
            .map(|(l, k)| cols(l, k.unwrap_or(0)))
            .max()
            .unwrap_or(0);
        for (line, k) in lines[i..j].iter().zip(&keys[i..j]) {
            let k = k.unwrap_or(0);
            let rest = line[k..].trim_start_matches(' ');
            out.push_str(&line[..k]);
            out.push_str(&" ".repeat(width - cols(line, k) + 1));
            out.push_str(rest);
        }
        i = j;
    }
    out
}

/// For a line `KEY = VALUE` whose value opens and closes on the line: the byte
/// offset where the key ends (indentation included).
fn assign_key_end(line: &str) -> Option<usize> {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i] == b' ' {
        i += 1;
    }
    let start = i;
    if i < b.len() && b[i] == b'"' {
        i = skip_string(b, i)?;
    } else {
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'-') {
            i += 1;
        }
    }
    if i == start {
        return None;
    }
    let key_end = i;
    while i < b.len() && b[i] == b' ' {
        i += 1;
    }
    if i >= b.len() || b[i] != b'=' || b.get(i + 1) == Some(&b'=') {
        return None;
    }
    let mut depth = 0i32;
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'"' => {
                j = skip_string(b, j)?;
                continue;
            }
            b'[' | b'{' | b'(' => depth += 1,
            b']' | b'}' | b')' => depth -= 1,
            _ => {}
        }
        j += 1;
    }
    (depth == 0).then_some(key_end)
}

/// The index just past the quoted string starting at `i` (template
/// interpolations inside it hold no quotes in kplan's output).
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markers_quotes_and_controls() {
        assert_eq!(escape("${x}"), "$${x}");
        assert_eq!(escape("$${x}"), "$$${x}");
        assert_eq!(escape("%{ if }"), "%%{ if }");
        assert_eq!(escape("$x %d"), "$x %d");
        assert_eq!(escape("a\"b\\c\nd\te\r"), "a\\\"b\\\\c\\nd\\te\\r");
        assert_eq!(
            escape("\u{8}\u{c}\u{1b}\u{7f}"),
            "\\u0008\\u000c\\u001b\\u007f"
        );
        assert_eq!(escape("é😀"), "é😀");
    }

    #[test]
    fn aligns_runs_of_one_line_assignments() {
        let text = "x {\n  a = 1\n  long = \"=[\"\n  list = [\n    \"a\"\n  ]\n  b = {\n    k = 1\n    kk = 2\n  }\n}\n";
        assert_eq!(
            align(text),
            "x {\n  a    = 1\n  long = \"=[\"\n  list = [\n    \"a\"\n  ]\n  b = {\n    k  = 1\n    kk = 2\n  }\n}\n"
        );
    }

    #[test]
    fn identifiers() {
        assert_eq!(ident("redis:7"), "redis_7");
        assert_eq!(ident("1x"), "_1x");
        assert!(is_ident("a-b_c"));
        assert!(!is_ident("a.b"));
    }
}
