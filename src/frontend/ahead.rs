//! Parsing ahead: while the evaluation thread builds the globals and evaluates, a
//! second thread reads and parses the modules the package will import, so on a
//! machine with a second core most of the parsing (about a fifth of compiling
//! ethereum-package) is off the evaluation's path.
//!
//! The parser thread starts at the main file and follows every `import_module` call
//! whose locator is a string literal (`import_module("/src/x.star")`), depth first in
//! the order the calls are written, which is the order evaluation usually imports
//! them in. It resolves locators with the same checked resolver as evaluation
//! ([`Packages::resolve`]), but never fetches: a repository missing from the package
//! cache is left to the evaluation, which fetches it or reports it. A module found
//! this way that evaluation never imports (its call is in a branch not taken) is
//! parsed and dropped; it is still a file of the package or the cache.
//!
//! The evaluation asks for each module with [`Ahead::take`]: a finished parse is
//! handed over, one in progress is waited for, and any other the evaluation parses
//! itself (and the parser thread then skips it). Either way the result is the one
//! [`parse_file`] gives, so diagnostics do not depend on which thread parsed a file.
//! A parse is only handed over when the module was reached under the same display
//! path, since its spans name that path.
//!
//! Memory: the parser thread has no evaluation budget (`crate::memory`), so syntax
//! trees parsed ahead are not charged to it; each file is at most
//! [`MAX_FILE_BYTES`] and parsed once, so that is bounded by the package's size.

use super::dialect::{dialect, expand_indent_tabs};
use super::package::{Kind, Packages, ResolvedFile};
use super::positions::KeyPositions;
use starlark::syntax::ast::{ArgumentP, AstExpr, AstLiteral, AstNoPayload, AstStmt, ExprP};
use starlark::syntax::AstModule;
use starlark_syntax::syntax::uniplate::Visit;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

/// Largest file kplan reads as Starlark or with `read_file` (64 MiB).
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// Why a file could not be parsed.
pub enum ParseFailure {
    Read(String),
    /// Input the parser would need too much stack for.
    Limit(crate::ir::Span, String),
    Syntax(starlark::Error),
}

/// One file read and parsed.
pub struct Parsed {
    /// The file's text, when it could be read (for snippets in diagnostics).
    pub text: Option<String>,
    /// The syntax tree and where its dict keys are written.
    pub result: Result<(AstModule, KeyPositions), ParseFailure>,
}

/// Reads a resolved file as text (its real path, already checked to be a regular
/// file inside its repository), refusing huge files.
pub fn read_text(file: &ResolvedFile) -> Result<String, String> {
    let meta = std::fs::metadata(&file.real)
        .map_err(|e| format!("cannot read '{}': {e}", file.display))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "'{}' is {} bytes; kplan reads files of at most {MAX_FILE_BYTES} bytes",
            file.display,
            meta.len()
        ));
    }
    let bytes =
        std::fs::read(&file.real).map_err(|e| format!("cannot read '{}': {e}", file.display))?;
    String::from_utf8(bytes).map_err(|_| format!("'{}' is not UTF-8 text", file.display))
}

/// Reads `file`, checks how deeply it nests and parses it as Starlark.
pub fn parse_file(file: &ResolvedFile) -> Parsed {
    let text = match read_text(file) {
        Ok(t) => t,
        Err(msg) => {
            return Parsed {
                text: None,
                result: Err(ParseFailure::Read(msg)),
            }
        }
    };
    let src = expand_indent_tabs(&text).into_owned();
    let result = match super::nesting::check(&file.display, &src) {
        Err((line, col, msg)) => Err(ParseFailure::Limit(
            crate::ir::Span::new(file.display.clone(), line, col),
            msg,
        )),
        Ok(_) => AstModule::parse(&file.display, src, &dialect())
            .map(|ast| {
                let keys = KeyPositions::of(&ast);
                (ast, keys)
            })
            .map_err(ParseFailure::Syntax),
    };
    Parsed {
        text: Some(text),
        result,
    }
}

#[derive(Default)]
struct State {
    /// The real path the parser thread is parsing now.
    parsing: Option<PathBuf>,
    /// Finished parses not yet taken: real path -> (display path, parse).
    done: HashMap<PathBuf, (String, Parsed)>,
    /// Modules the evaluation has asked for: the parser thread skips them.
    asked: HashSet<PathBuf>,
    /// The parser thread has stopped (finished, stopped, or its parse panicked).
    ended: bool,
}

/// What the evaluation and the parser thread share.
#[derive(Default)]
pub struct Ahead {
    state: Mutex<State>,
    changed: Condvar,
    stop: AtomicBool,
}

impl Ahead {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while the lock is held leaves plain data behind: still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The parse of `file` if the parser thread made (or is making) it; `None`: the
    /// caller parses it.
    pub fn take(&self, file: &ResolvedFile) -> Option<Parsed> {
        let mut st = self.lock();
        loop {
            if let Some((display, parsed)) = st.done.remove(&file.real) {
                st.asked.insert(file.real.clone());
                return (display == file.display).then_some(parsed);
            }
            if st.parsing.as_ref() != Some(&file.real) || st.ended {
                st.asked.insert(file.real.clone());
                return None;
            }
            st = self.changed.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Tells the parser thread to stop after the file it is parsing.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Claims `file` for the parser thread unless the evaluation has asked for it.
    fn claim(&self, file: &ResolvedFile) -> bool {
        let mut st = self.lock();
        if st.asked.contains(&file.real) || st.done.contains_key(&file.real) {
            return false;
        }
        st.parsing = Some(file.real.clone());
        true
    }

    fn finish(&self, file: &ResolvedFile, parsed: Option<Parsed>) {
        let mut st = self.lock();
        st.parsing = None;
        match parsed {
            Some(p) => {
                st.done.insert(file.real.clone(), (file.display.clone(), p));
            }
            None => st.ended = true,
        }
        self.changed.notify_all();
    }

    fn end(&self) {
        self.lock().ended = true;
        self.changed.notify_all();
    }

    /// The parser thread: parses `main` and, depth first, every module it imports by
    /// a literal locator. `packages` must not fetch (see [`Packages::without_fetching`]).
    pub fn run(&self, packages: &Packages, main: ResolvedFile) {
        let mut stack = vec![main];
        let mut seen: HashSet<PathBuf> = HashSet::new();
        while let Some(file) = stack.pop() {
            if self.stop.load(Ordering::Relaxed) {
                break;
            }
            if !seen.insert(file.real.clone()) || !self.claim(&file) {
                continue;
            }
            // A parser panic is the evaluation's to report, on its own thread.
            let parsed = std::panic::catch_unwind(|| parse_file(&file)).ok();
            let Some(parsed) = parsed else {
                self.finish(&file, None);
                return;
            };
            let mut locators = Vec::new();
            if let Ok((ast, _)) = &parsed.result {
                stmt(ast.statement(), &mut locators);
            }
            self.finish(&file, Some(parsed));
            let imports = locators
                .iter()
                .filter_map(|l| packages.resolve(l, &file, Kind::File).ok())
                .filter(|f| f.display.ends_with(".star"));
            let at = stack.len();
            stack.extend(imports);
            // Popped in the order they are written.
            stack[at..].reverse();
        }
        self.end();
    }
}

/// The literal locators of `import_module` calls in a statement.
fn stmt(s: &AstStmt, out: &mut Vec<String>) {
    s.node
        .visit_children(|child: Visit<AstNoPayload>| match child {
            Visit::Stmt(s) => stmt(s, out),
            Visit::Expr(e) => expr(e, out),
        });
}

fn expr(e: &AstExpr, out: &mut Vec<String>) {
    if let ExprP::Call(f, args) = &e.node {
        let literal = |a: &AstExpr| match &a.node {
            ExprP::Literal(AstLiteral::String(s)) => Some(s.node.clone()),
            _ => None,
        };
        if matches!(&f.node, ExprP::Identifier(id) if id.node.ident == "import_module") {
            let locator = args.args.iter().find_map(|a| match &a.node {
                ArgumentP::Positional(x) => Some(x),
                ArgumentP::Named(n, x) if n.node == "module_file" => Some(x),
                _ => None,
            });
            out.extend(locator.and_then(literal));
        }
    }
    e.node.visit_expr(|child| expr(child, out));
}
