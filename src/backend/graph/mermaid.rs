//! The graph as a Mermaid flowchart (left to right): services as rectangles, tasks
//! as stadiums, files artifacts as parallelograms; edges carrying run-time values
//! dotted, artifacts made at run time with a dashed border (class `runtime`).
//!
//! Escaping: every label is a quoted string (`"..."`) in which only ASCII letters,
//! digits, non-ASCII letters and digits, space and `-_./:,+=@()[]{}!?*'~^$` stand as
//! themselves; every other character (quotes, `#`, `;`, `%`, `<`, `>`, `&`, `|`, `\`,
//! backticks, newlines, symbols) is written as Mermaid's entity code `#<decimal>;`,
//! which Mermaid turns back into the character when it draws. Lines of a node are
//! joined with `<br/>`. Ids are `s0`, `t0`, `a0` (see [`super::Key::id`]), so no
//! name can become syntax. Checked with Mermaid's own parser in tests/it/graph.rs.

use super::{Graph, Kind};
use std::fmt::Write;

/// The flowchart, with a `%%` comment header.
pub fn render(g: &Graph) -> String {
    let mut s = format!("%% {}\nflowchart LR\n", g.header);
    for n in &g.nodes {
        let label = n.label(escape, "<br/>");
        let (open, close) = match n.kind {
            Kind::Service => ("[\"", "\"]"),
            Kind::Task => ("([\"", "\"])"),
            Kind::Artifact => ("[/\"", "\"/]"),
        };
        let _ = writeln!(s, "    {}{open}{label}{close}", n.key.id());
    }
    for e in &g.edges {
        let arrow = if e.runtime { "-.->" } else { "-->" };
        let label = escape(&e.labels.join(", "));
        let _ = writeln!(s, "    {} {arrow}|\"{label}\"| {}", e.from.id(), e.to.id());
    }
    let runtime: Vec<String> = g
        .nodes
        .iter()
        .filter(|n| n.runtime)
        .map(|n| n.key.id())
        .collect();
    if !runtime.is_empty() {
        s.push_str("    classDef runtime stroke-dasharray: 5 5\n");
        let _ = writeln!(s, "    class {} runtime", runtime.join(","));
    }
    s
}

/// A label's text inside `"..."`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_alphanumeric() || " -_./:,+=@()[]{}!?*'~^$".contains(c) {
            out.push(c);
        } else {
            let _ = write!(out, "#{};", u32::from(c));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn syntax_characters_become_entity_codes() {
        assert_eq!(escape("a\"b"), "a#34;b");
        assert_eq!(escape("x#quot;"), "x#35;quot#59;");
        assert_eq!(escape("<br/>\n|`%%"), "#60;br/#62;#10;#124;#96;#37;#37;");
        assert_eq!(escape("web-1 (ü) [x]"), "web-1 (ü) [x]");
    }
}
