//! The text of a chart's YAML files: a small typed tree ([`Node`]) whose user strings
//! are escaped twice, for YAML and for Helm's template engine, and whose template
//! actions are kept verbatim, written block-style by [`emit`].
//!
//! Why a tree of our own rather than `serde_yaml::Value`: a chart template mixes
//! user text (which must reach the cluster byte-exact) with Helm actions (`{{ ... }}`,
//! which must not be escaped), sometimes inside one string (`"http://{{ include ...
//! }}:8080"`), plus comment lines in `values.yaml` and `{{- with }}` lines. Scalars
//! follow the shared rule of [`crate::backend::yaml`] (plain only when unambiguous in
//! YAML 1.1 and 1.2, else double-quoted with every special character escaped); then
//! every `{{` of user text becomes `{{ "{{" }}`, the one sequence Go templates treat
//! as an action outside an action. A literal `{` right before an action is written
//! as `{{ "{" }}` so the two cannot join into `{{{`.

#![allow(
    clippy::wildcard_enum_match_arm,
    reason = "the emitter: every node but a non-empty map or sequence is written inline"
)]

use crate::backend::yaml::{double_quoted_body, scalar};
use std::fmt::Write as _;

/// A piece of a string that mixes user text and template actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// User text.
    Lit(String),
    /// A template action rendering text that needs no YAML escaping inside a
    /// double-quoted scalar (a DNS name), e.g. `{{ include "c.obj" (list $ "db") }}`.
    Action(String),
}

/// A YAML value of a chart file.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// User text, escaped for YAML and Helm.
    Str(String),
    /// User text with template actions inside one scalar.
    Text(Vec<Piece>),
    /// A template action that renders a whole flow value (`{{ $svc.image | toJson }}`).
    Expr(String),
    Int(i64),
    Bool(bool),
    Map(Vec<Entry>),
    Seq(Vec<Node>),
}

/// One line of a mapping.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// `key: value`, after an optional comment line.
    Pair {
        comment: Option<String>,
        key: String,
        value: Node,
    },
    /// A template line (`{{- with ... }}`) written as is at the mapping's indentation.
    Line(String),
}

impl Node {
    pub fn str(s: impl Into<String>) -> Node {
        Node::Str(s.into())
    }

    pub fn expr(s: impl Into<String>) -> Node {
        Node::Expr(s.into())
    }

    /// A text: a plain [`Node::Str`] when it holds no action.
    pub fn text(pieces: Vec<Piece>) -> Node {
        if pieces.iter().all(|p| matches!(p, Piece::Lit(_))) {
            let mut s = String::new();
            for p in &pieces {
                if let Piece::Lit(l) = p {
                    s.push_str(l);
                }
            }
            Node::Str(s)
        } else {
            Node::Text(pieces)
        }
    }

    fn is_block(&self) -> bool {
        match self {
            Node::Map(m) => !m.is_empty(),
            Node::Seq(s) => !s.is_empty(),
            Node::Str(_) | Node::Text(_) | Node::Expr(_) | Node::Int(_) | Node::Bool(_) => false,
        }
    }
}

/// Builds a mapping entry by entry, in the order given.
#[derive(Debug, Default, Clone)]
pub struct Map(pub Vec<Entry>);

impl Map {
    pub fn new() -> Map {
        Map::default()
    }

    pub fn put(mut self, key: &str, value: Node) -> Map {
        self.set(key, value);
        self
    }

    pub fn set(&mut self, key: &str, value: Node) {
        self.0.push(Entry::Pair {
            comment: None,
            key: key.to_owned(),
            value,
        });
    }

    /// `key: value` under a `# comment` line.
    pub fn doc(&mut self, comment: &str, key: &str, value: Node) {
        self.0.push(Entry::Pair {
            comment: Some(comment.to_owned()),
            key: key.to_owned(),
            value,
        });
    }

    pub fn line(&mut self, line: &str) {
        self.0.push(Entry::Line(line.to_owned()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn node(self) -> Node {
        Node::Map(self.0)
    }
}

/// Escapes user text for Helm's template engine: every `{{` becomes `{{ "{{" }}`.
pub fn escape_actions(s: &str) -> String {
    // Most text has no `{`: one byte scan instead of a substring searcher per call
    // (building one was 5% of compiling 1000 services).
    if !s.contains('{') {
        return s.to_owned();
    }
    s.replace("{{", "{{ \"{{\" }}")
}

/// Escapes a literal that an action follows: as [`escape_actions`], and a trailing
/// `{` written as an action, so it cannot start one with the next `{{`.
fn escape_before_action(s: &str) -> String {
    match s.strip_suffix('{') {
        Some(head) => format!("{}{{{{ \"{{\" }}}}", escape_actions(head)),
        None => escape_actions(s),
    }
}

/// A scalar of user text as it appears in a template.
pub fn user_scalar(s: &str) -> String {
    escape_actions(&scalar(s))
}

/// A template document as block-style YAML, ending with a newline.
pub fn emit(n: &Node) -> String {
    emit_as(n, Mode::Template)
}

/// A file Helm does not render (`values.yaml`): user text is escaped for YAML only.
pub fn emit_plain(n: &Node) -> String {
    emit_as(n, Mode::Plain)
}

/// Whether the text goes through Helm's template engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Template,
    Plain,
}

fn emit_as(n: &Node, mode: Mode) -> String {
    let mut out = String::new();
    match n {
        Node::Map(m) if !m.is_empty() => mapping(&mut out, m, 0, mode),
        Node::Seq(s) if !s.is_empty() => sequence(&mut out, s, 0, mode),
        other => {
            out.push_str(&inline(other, mode));
            out.push('\n');
        }
    }
    out
}

fn inline(n: &Node, mode: Mode) -> String {
    match n {
        Node::Str(s) => match mode {
            Mode::Template => user_scalar(s),
            Mode::Plain => scalar(s),
        },
        Node::Text(pieces) => {
            let mut out = String::from("\"");
            for (i, p) in pieces.iter().enumerate() {
                match p {
                    Piece::Lit(l) => {
                        let body = double_quoted_body(l);
                        let next_is_action = matches!(pieces.get(i + 1), Some(Piece::Action(_)));
                        out.push_str(&if next_is_action {
                            escape_before_action(&body)
                        } else {
                            escape_actions(&body)
                        });
                    }
                    Piece::Action(a) => out.push_str(a),
                }
            }
            out.push('"');
            out
        }
        Node::Expr(e) => e.clone(),
        Node::Int(i) => i.to_string(),
        Node::Bool(b) => b.to_string(),
        Node::Map(_) => "{}".into(),
        Node::Seq(_) => "[]".into(),
    }
}

fn mapping(out: &mut String, m: &[Entry], indent: usize, mode: Mode) {
    for e in m {
        match e {
            Entry::Line(l) => {
                let _ = writeln!(out, "{:indent$}{l}", "");
            }
            Entry::Pair {
                comment,
                key,
                value,
            } => {
                if let Some(c) = comment {
                    for line in c.lines() {
                        let _ = writeln!(out, "{:indent$}# {line}", "");
                    }
                }
                let key = inline(&Node::Str(key.clone()), mode);
                let _ = write!(out, "{:indent$}{key}:", "");
                match value {
                    Node::Map(inner) if !inner.is_empty() => {
                        out.push('\n');
                        mapping(out, inner, indent + 2, mode);
                    }
                    Node::Seq(inner) if !inner.is_empty() => {
                        out.push('\n');
                        sequence(out, inner, indent + 2, mode);
                    }
                    other => {
                        let _ = writeln!(out, " {}", inline(other, mode));
                    }
                }
            }
        }
    }
}

fn sequence(out: &mut String, s: &[Node], indent: usize, mode: Mode) {
    for item in s {
        if !item.is_block() {
            let _ = writeln!(out, "{:indent$}- {}", "", inline(item, mode));
            continue;
        }
        let mut inner = String::new();
        match item {
            Node::Map(m) => mapping(&mut inner, m, 0, mode),
            Node::Seq(s) => sequence(&mut inner, s, 0, mode),
            Node::Str(_) | Node::Text(_) | Node::Expr(_) | Node::Int(_) | Node::Bool(_) => {}
        }
        for (i, line) in inner.lines().enumerate() {
            let lead = if i == 0 { "- " } else { "  " };
            let _ = writeln!(out, "{:indent$}{lead}{line}", "");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_braces_never_start_an_action() {
        assert_eq!(user_scalar("a{{b}}"), "\"a{{ \"{{\" }}b}}\"");
        let t = Node::text(vec![
            Piece::Lit("x{".into()),
            Piece::Action("{{ .A }}".into()),
            Piece::Lit("{{".into()),
        ]);
        assert_eq!(
            inline(&t, Mode::Template),
            "\"x{{ \"{\" }}{{ .A }}{{ \"{{\" }}\""
        );
    }

    #[test]
    fn blocks_and_lines() {
        let mut m = Map::new();
        m.doc("the image", "image", Node::str("yes"));
        m.line("{{- with .X }}");
        m.set(
            "l",
            Node::Seq(vec![
                Node::Int(1),
                Map::new().put("a", Node::Bool(true)).node(),
            ]),
        );
        assert_eq!(
            emit(&m.node()),
            "# the image\nimage: \"yes\"\n{{- with .X }}\nl:\n  - 1\n  - a: true\n"
        );
    }
}
