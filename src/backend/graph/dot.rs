//! The graph in Graphviz DOT (left to right): services as boxes, tasks as rounded
//! boxes, files artifacts as notes; edges carrying run-time values dashed, artifacts
//! made at run time with a dashed border.
//!
//! Escaping: every id and label is a double-quoted string. In a label `\` and `"` are
//! escaped with a backslash, a line break is `\n` (Graphviz's own centred line
//! break), `&` is `&amp;` (Graphviz reads HTML entities in labels, so `&lt;` in a name
//! must not turn into `<`), and any other control character is written as its code
//! point (`U+0007`), never raw. Text is UTF-8 (Graphviz's default charset). Ids are
//! `s0`, `t0`, `a0` (see [`super::Key::id`]). Checked with Graphviz's `dot` in
//! tests/it/graph.rs.

use super::{Graph, Kind};
use std::fmt::Write;

/// The digraph, with a `//` comment header.
pub fn render(g: &Graph) -> String {
    let mut s = format!(
        "// {}\ndigraph kplan {{\n    rankdir=LR;\n    node [shape=box];\n",
        g.header
    );
    for n in &g.nodes {
        let label = n.label(escape, "\\n");
        let shape = match n.kind {
            Kind::Service => "shape=box",
            Kind::Task => "shape=box, style=rounded",
            Kind::Artifact => "shape=note",
        };
        let dashed = match (n.runtime, n.kind) {
            (false, _) => "",
            (true, Kind::Task) => ", style=\"rounded,dashed\"",
            (true, Kind::Service | Kind::Artifact) => ", style=dashed",
        };
        let _ = writeln!(
            s,
            "    \"{}\" [{shape}{dashed}, label=\"{label}\"];",
            n.key.id()
        );
    }
    for e in &g.edges {
        let style = if e.runtime { ", style=dashed" } else { "" };
        let _ = writeln!(
            s,
            "    \"{}\" -> \"{}\" [label=\"{}\"{style}];",
            e.from.id(),
            e.to.id(),
            escape(&e.labels.join(", "))
        );
    }
    s.push_str("}\n");
    s
}

/// A label's text inside `"..."`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '&' => out.push_str("&amp;"),
            c if c.is_control() => {
                let _ = write!(out, "U+{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn quotes_backslashes_entities_and_controls_are_escaped() {
        assert_eq!(escape(r#"a"b\n"#), r#"a\"b\\n"#);
        assert_eq!(escape("x\ny"), "x\\ny");
        assert_eq!(escape("&lt;"), "&amp;lt;");
        assert_eq!(escape("\u{7}\r"), "U+0007U+000D");
        assert_eq!(escape("ü{}[]<>"), "ü{}[]<>");
    }
}
