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
use starlark::codemap::{self, CodeMap};
use starlark::syntax::ast::{AssignTargetP, AstExpr, AstNoPayload, AstStmt, ExprP, StmtP};
use starlark::syntax::AstModule;
use starlark_syntax::syntax::uniplate::Visit;
use std::collections::HashMap;

/// Where dict keys are written in every file parsed in a run: per file, the byte
/// offset of each value's start -> its key's. Offsets become lines and columns only
/// when looked up (once per port): resolving every entry of every module when it was
/// parsed cost 25M of the 299M instructions of ethereum-package -> compose.
#[derive(Debug, Default)]
pub struct KeyPositions(HashMap<String, FileKeys>);

#[derive(Debug)]
struct FileKeys {
    codemap: CodeMap,
    keys: HashMap<u32, u32>,
}

impl KeyPositions {
    /// Every dict entry and subscript assignment of `ast`. `each` sees every
    /// expression on the same walk, for other facts of the tree (the literal imports:
    /// walking the tree once for both saves 3M of the 270M instructions of
    /// ethereum-package -> compose).
    pub fn of(ast: &AstModule, each: &mut dyn FnMut(&AstExpr)) -> Self {
        let codemap = ast.file_span(codemap::Span::default()).file;
        let mut keys = HashMap::new();
        let mut walk = Walk {
            add: &mut |key: &AstExpr, value: &AstExpr| {
                keys.insert(value.span.begin().get(), key.span.begin().get());
            },
            each,
        };
        walk.stmt(ast.statement());
        let file = codemap.filename().to_owned();
        KeyPositions(HashMap::from([(file, FileKeys { codemap, keys })]))
    }

    /// Adds the positions of another module.
    pub fn extend(&mut self, other: KeyPositions) {
        self.0.extend(other.0);
    }

    /// Where the key whose value starts at `value` is written.
    pub fn key_of(&self, value: &Span) -> Option<Span> {
        let f = self.0.get(&value.file)?;
        let line = f
            .codemap
            .line_span_opt(usize::try_from(value.line.checked_sub(1)?).ok()?)?;
        // Columns count characters, as `to_span` gives them.
        let col = usize::try_from(value.col.checked_sub(1)?).ok()?;
        let (byte, _) = f.codemap.source_span(line).char_indices().nth(col)?;
        let at = line.begin().get() + u32::try_from(byte).ok()?;
        let key = codemap::Pos::new(*f.keys.get(&at)?);
        let span = f.codemap.file_span(codemap::Span::new(key, key));
        Some(to_span(Some(&span)))
    }
}

/// The walk of [`KeyPositions::of`].
struct Walk<'a> {
    /// Called with each key and its value.
    add: &'a mut dyn FnMut(&AstExpr, &AstExpr),
    each: &'a mut dyn FnMut(&AstExpr),
}

impl Walk<'_> {
    fn stmt(&mut self, s: &AstStmt) {
        if let StmtP::Assign(a) = &s.node {
            if let AssignTargetP::Index(target) = &a.lhs.node {
                (self.add)(&target.1, &a.rhs);
            }
        }
        s.node
            .visit_children(|child: Visit<AstNoPayload>| match child {
                Visit::Stmt(s) => self.stmt(s),
                Visit::Expr(e) => self.expr(e),
            });
    }

    fn expr(&mut self, e: &AstExpr) {
        if let ExprP::Dict(entries) = &e.node {
            for (k, v) in entries {
                (self.add)(k, v);
            }
        }
        (self.each)(e);
        e.node.visit_expr(|child| self.expr(child));
    }
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
