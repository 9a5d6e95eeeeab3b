//! YAML text for the static targets: kplan's own block-style emitter for a
//! `serde_yaml::Value` (Compose), the scalar rule every target shares ([`scalar`],
//! [`double_quoted_body`]; Helm writes its own trees with it), and the `$` escaping
//! Compose's interpolation needs.
//!
//! Why not `serde_yaml::to_string`: serde_yaml 0.9 quotes strings that *its* YAML 1.2
//! parser would retype (`true`, `null`, `0755`, `1e3`, `0x1F`, `.inf`), but leaves
//! YAML 1.1 forms plain (`yes`, `no`, `on`, `off`, `y`, `n`, `1_000`, `1:30`), which
//! YAML 1.1 readers (PyYAML, older Go yaml) turn into booleans and numbers. This
//! emitter writes a string plain only when it is made of a conservative set of
//! characters and matches none of the YAML 1.1 or 1.2 non-string forms; everything
//! else is double-quoted with every non-printable character escaped, so any string
//! (multi-line, quotes, unicode, control characters) reads back exactly. Structure
//! and field order come from the serde structs, through `serde_yaml::to_value`.

#![allow(
    clippy::wildcard_enum_match_arm,
    reason = "emitters: every value but a non-empty mapping or sequence is written inline"
)]

use serde_yaml::Value;
use std::fmt::Write as _;

/// Replaces every `$` with `$$` in every string *value* of the document (Compose
/// interpolates values, not keys), so `$HOME` reaches the container as `$HOME`.
pub fn escape_dollars(v: &mut Value) {
    match v {
        Value::String(s) => {
            if s.contains('$') {
                *s = s.replace('$', "$$");
            }
        }
        Value::Sequence(items) => items.iter_mut().for_each(escape_dollars),
        Value::Mapping(m) => m.values_mut().for_each(escape_dollars),
        Value::Tagged(t) => escape_dollars(&mut t.value),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// The document as block-style YAML, ending with a newline.
pub fn emit(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Mapping(m) if !m.is_empty() => mapping(&mut out, m, 0),
        Value::Sequence(s) if !s.is_empty() => sequence(&mut out, s, 0),
        other => {
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
    out
}

/// A value that fits on one line (scalars, empty collections), or `None`.
fn inline(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => scalar(s),
        Value::Sequence(_) => "[]".into(),
        Value::Mapping(_) => "{}".into(),
        Value::Tagged(t) => inline(&t.value),
    }
}

fn is_block(v: &Value) -> bool {
    match v {
        Value::Sequence(s) => !s.is_empty(),
        Value::Mapping(m) => !m.is_empty(),
        Value::Tagged(t) => is_block(&t.value),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => false,
    }
}

fn untag(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => untag(&t.value),
        other => other,
    }
}

fn mapping(out: &mut String, m: &serde_yaml::Mapping, indent: usize) {
    for (k, v) in m {
        let key = inline(k);
        let _ = write!(out, "{:indent$}{key}:", "");
        match untag(v) {
            Value::Mapping(inner) if !inner.is_empty() => {
                out.push('\n');
                mapping(out, inner, indent + 2);
            }
            Value::Sequence(inner) if !inner.is_empty() => {
                out.push('\n');
                sequence(out, inner, indent + 2);
            }
            other => {
                let _ = writeln!(out, " {}", inline(other));
            }
        }
    }
}

fn sequence(out: &mut String, s: &[Value], indent: usize) {
    for item in s {
        let item = untag(item);
        if !is_block(item) {
            let _ = writeln!(out, "{:indent$}- {}", "", inline(item));
            continue;
        }
        // A block item: its first line goes after "- ", the rest indented under it.
        let mut inner = String::new();
        match item {
            Value::Mapping(m) => mapping(&mut inner, m, 0),
            Value::Sequence(s) => sequence(&mut inner, s, 0),
            _ => {}
        }
        for (i, line) in inner.lines().enumerate() {
            if i == 0 {
                let _ = writeln!(out, "{:indent$}- {line}", "");
            } else {
                let _ = writeln!(out, "{:indent$}  {line}", "");
            }
        }
    }
}

/// A string scalar: plain when that is unambiguous in YAML 1.1 and 1.2, else
/// double-quoted.
pub fn scalar(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_owned()
    } else {
        double_quoted(s)
    }
}

fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if !(first.is_ascii_alphanumeric() || first == '/' || first == '_') {
        return false;
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-./@%+=,:".contains(c))
    {
        return false;
    }
    // ": " cannot occur (no spaces); a trailing ':' reads as a key.
    if s.ends_with(':') {
        return false;
    }
    !looks_typed(s)
}

/// Whether a YAML 1.1 or 1.2 reader could read `s` (plain) as something other than a
/// string: booleans, nulls, numbers in any base, with `_` separators, sexagesimal
/// (`1:30`), floats, infinities, NaN, timestamps.
fn looks_typed(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "y" | "yes" | "n" | "no" | "true" | "false" | "on" | "off" | "null" | "~"
    ) {
        return true;
    }
    // Anything starting like a number is treated as possibly one: digits, signs and
    // dots in front cover ints, floats, octal, hex, binary, sexagesimal and dates.
    let first = s.as_bytes()[0];
    if first.is_ascii_digit() || first == b'+' || first == b'-' || first == b'.' {
        // Plain when it has a letter outside number syntax and no date shape.
        let numeric_chars = s
            .chars()
            .all(|c| c.is_ascii_hexdigit() || "xXoObB+-._:eE".contains(c));
        return numeric_chars;
    }
    false
}

fn double_quoted(s: &str) -> String {
    format!("\"{}\"", double_quoted_body(s))
}

/// The inside of a YAML double-quoted scalar holding `s` (without the quotes), so a
/// target can put other text between pieces of one string (Helm's template actions).
pub fn double_quoted_body(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            // Not printable in YAML, or read as line breaks / BOM.
            '\u{80}'..='\u{9f}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{feff}'
            | '\u{fffe}'
            | '\u{ffff}' => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_adversarial_strings() {
        let cases = [
            "yes",
            "no",
            "on",
            "off",
            "Y",
            "N",
            "~",
            "null",
            "NULL",
            "true",
            "0755",
            "1e3",
            "0x1F",
            ".inf",
            "-.inf",
            ".NaN",
            "1_000",
            "1:30",
            "2001-12-14",
            "+1",
            "-",
            "",
            " lead",
            "trail ",
            "a: b",
            "#x",
            "a #b",
            "line\nbreak\n",
            "tab\tx",
            "quote\"s'",
            "back\\slash",
            "ünïcödé ✓ 🚀",
            "\u{85}nel",
            "\u{2028}",
            "\u{feff}bom",
            "\x07bell",
            "*alias",
            "&anchor",
            "!tag",
            "%dir",
            "@at",
            "`tick",
            "{a}",
            "[b]",
            "a,b",
            "?q",
            "|",
            ">",
            "key:",
            "http://x:80/p",
            "$HOME",
            "--flag=1",
            "-v",
            "12",
            "1.5",
        ];
        let mut m = serde_yaml::Mapping::new();
        let mut seq = Vec::new();
        for (i, c) in cases.iter().enumerate() {
            m.insert(Value::String(format!("k{i}")), Value::String((*c).into()));
            m.insert(Value::String((*c).into()), Value::String((*c).into()));
            seq.push(Value::String((*c).into()));
        }
        m.insert("list".into(), Value::Sequence(seq));
        let doc = Value::Mapping(m);
        let text = emit(&doc);
        let back: Value = serde_yaml::from_str(&text).expect(&text);
        assert_eq!(back, doc, "{text}");
        for word in ["yes", "on", "off", "1_000", "1:30", "0755", "1e3"] {
            assert!(text.contains(&format!("\"{word}\"")), "{word} not quoted");
        }
    }

    #[test]
    fn nested_blocks() {
        let doc: Value =
            serde_yaml::from_str("a:\n  b: [1, {c: [x, {d: e}], f: []}]\n  g: {}\nh: null\n")
                .unwrap();
        let text = emit(&doc);
        assert_eq!(serde_yaml::from_str::<Value>(&text).unwrap(), doc, "{text}");
    }

    #[test]
    fn dollars_double() {
        let mut v: Value = serde_yaml::from_str("a: ${X} $$ $\nb: [\"$y\"]\n").unwrap();
        escape_dollars(&mut v);
        assert_eq!(emit(&v), "a: \"$${X} $$$$ $$\"\nb:\n  - \"$$y\"\n");
    }
}
