//! Positions that the syntax tree knows and values do not, for diagnostics that should
//! point where the user wrote something rather than where a builtin was called:
//!
//! - where a dict key is written, looked up by the position of its value:
//!   `{"http": PortSpec(...)}` and `ports["http"] = PortSpec(...)` both map the
//!   `PortSpec(` to the `"http"` (so a bad port id is reported at the id);
//! - where a top-level `def` is, and its parameters (so a wrong `run` signature is
//!   reported at the `def run(...)` line).

use super::instruction::to_span;
use crate::ir::Span;
use starlark::syntax::ast::{AssignTargetP, AstExpr, AstNoPayload, AstStmt, ExprP, StmtP};
use starlark::syntax::AstModule;
use starlark_syntax::syntax::uniplate::Visit;
use std::collections::HashMap;

/// Value position -> key position, over every file parsed in a run.
#[derive(Debug, Default)]
pub struct KeyPositions(HashMap<Span, Span>);

impl KeyPositions {
    /// Every dict entry and subscript assignment of `ast`.
    pub fn of(ast: &AstModule) -> Self {
        let mut keys = KeyPositions::default();
        let mut add = |key: &AstExpr, value: &AstExpr| {
            let at = |e: &AstExpr| to_span(Some(&ast.file_span(e.span)));
            keys.0.insert(at(value), at(key));
        };
        stmt(ast.statement(), &mut add);
        keys
    }

    /// Adds the positions of another module.
    pub fn extend(&mut self, other: KeyPositions) {
        self.0.extend(other.0);
    }

    /// Where the key whose value starts at `value` is written.
    pub fn key_of(&self, value: &Span) -> Option<&Span> {
        self.0.get(value)
    }
}

fn stmt(s: &AstStmt, add: &mut dyn FnMut(&AstExpr, &AstExpr)) {
    if let StmtP::Assign(a) = &s.node {
        if let AssignTargetP::Index(target) = &a.lhs.node {
            add(&target.1, &a.rhs);
        }
    }
    s.node
        .visit_children(|child: Visit<AstNoPayload>| match child {
            Visit::Stmt(s) => stmt(s, add),
            Visit::Expr(e) => expr(e, add),
        });
}

fn expr(e: &AstExpr, add: &mut dyn FnMut(&AstExpr, &AstExpr)) {
    if let ExprP::Dict(entries) = &e.node {
        for (k, v) in entries {
            add(k, v);
        }
    }
    e.node.visit_expr(|child| expr(child, add));
}

/// A top-level `def`: where its name is, and where each parameter is.
pub struct DefPosition {
    pub name: Span,
    pub params: Vec<Span>,
}

/// The top-level `def NAME(...)` of `ast`, if there is one.
pub fn top_level_def(ast: &AstModule, name: &str) -> Option<DefPosition> {
    let StmtP::Statements(stmts) = &ast.statement().node else {
        return find_def(ast, ast.statement(), name);
    };
    stmts.iter().find_map(|s| find_def(ast, s, name))
}

fn find_def(ast: &AstModule, s: &AstStmt, name: &str) -> Option<DefPosition> {
    let StmtP::Def(def) = &s.node else {
        return None;
    };
    let at = |span| to_span(Some(&ast.file_span(span)));
    (def.name.ident == name).then(|| DefPosition {
        name: at(def.name.span),
        params: def.params.iter().map(|p| at(p.span)).collect(),
    })
}
