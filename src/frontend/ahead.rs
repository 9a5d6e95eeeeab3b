//! Work done ahead of the evaluation, on a second thread (`ahead_thread.rs`), and
//! what the evaluation and that thread share ([`Ahead`]).
//!
//! Parses: the main file is parsed there first, while the globals are built
//! (`globals::shared`). The evaluation asks for each module's parse with [`Ahead::take`]: a
//! finished parse is handed over, one in progress is waited for, and any other the
//! evaluation parses itself. Either way the result is the one [`parse_file`] gives, so
//! diagnostics do not depend on which thread parsed a file. A parse is only handed
//! over when the module was reached under the same display path, since its spans name
//! that path.
//!
//! Modules: the second thread also evaluates modules, from the other end of the
//! import order (see `ahead_thread.rs`), and both threads record every module they
//! finish here ([`Ahead::publish`], [`Ahead::complete`]), so each module is evaluated
//! once per run, by whichever thread claims it first ([`Ahead::claim_module`],
//! [`Ahead::try_begin`]). The evaluation thread waits for a module the other thread is
//! evaluating; the other thread never waits for the evaluation thread (it gives a
//! module up when one of its imports is not finished), so they cannot deadlock. A
//! module the other thread evaluated comes with what its evaluation did to the run's
//! state ([`Effects`]: sources read, files registered, key positions, paths looked
//! at), which the evaluation thread merges when it takes the module. A module that
//! fails there is given up silently: the evaluation thread evaluates it again and
//! reports the error as it always would.
//!
//! Memory: the second thread's evaluations are held to the same budget as the
//! evaluation thread's (`crate::memory`); its parses are not charged, since their trees
//! are mostly handed over and freed on the evaluation thread. Each file is at most
//! [`MAX_FILE_BYTES`] and parsed once or twice, so parsing is bounded by the
//! package's size.

use super::context::Imported;
use super::dialect::{dialect, expand_indent_tabs};
use super::package::ResolvedFile;
use super::positions::KeyPositions;
use super::reads::Reads;
use super::sources::Sources;
use starlark::syntax::ast::{ArgumentP, AstExpr, AstLiteral, ExprP};
use starlark::syntax::AstModule;
use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

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
    pub result: Result<Tree, ParseFailure>,
}

/// A module's syntax tree, and what it says before the module runs.
pub struct Tree {
    pub ast: AstModule,
    /// Where its dict keys are written.
    pub keys: KeyPositions,
    /// The locators of its `import_module` calls that are string literals, in
    /// written order.
    pub imports: Vec<String>,
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
                let mut imports = Vec::new();
                let keys = KeyPositions::of(&ast, &mut |e| literal_import(e, &mut imports));
                Tree { ast, keys, imports }
            })
            .map_err(ParseFailure::Syntax),
    };
    Parsed {
        text: Some(text),
        result,
    }
}

/// What one module's evaluation on the second thread did to the run's state, for the
/// evaluation thread to merge when it takes the module.
#[derive(Default)]
pub struct Effects {
    pub sources: Sources,
    pub files: HashMap<String, ResolvedFile>,
    pub keys: KeyPositions,
    pub reads: Reads,
}

/// A module evaluated once in this run, by either thread.
pub struct Evaluated {
    pub file: ResolvedFile,
    pub imported: Imported,
    /// `None` when the evaluation thread evaluated it (its effects are already its own)
    /// or has taken them.
    pub effects: Mutex<Option<Effects>>,
    /// The modules it imported (real paths), all finished before it.
    pub deps: Vec<OsString>,
}

/// Who has a module.
enum Owner {
    /// The evaluation thread claimed it (it may still be evaluating it, or it failed).
    Evaluation,
    /// The second thread is evaluating it.
    Ahead,
    Finished(Arc<Evaluated>),
}

/// Whether the second thread may evaluate a pending module now.
pub enum Begin {
    /// Not every import is finished yet.
    NotReady,
    /// Claimed, with its parse back.
    Ready(Box<Parsed>),
    /// The evaluation has it (or its parse): drop it.
    Gone,
}

/// The evaluation thread's claim on a module.
pub enum Claim {
    /// Evaluate it.
    Yours,
    /// Finished on either thread.
    Finished(Arc<Evaluated>),
}

#[derive(Default)]
struct State {
    /// The real path the parser thread is parsing now.
    parsing: Option<PathBuf>,
    /// Finished parses not yet taken: real path -> (display path, parse).
    done: HashMap<OsString, (String, Parsed)>,
    /// Modules the evaluation has asked for: the parser thread skips them.
    asked: HashSet<OsString>,
    /// The second thread has stopped (finished, stopped, or its parse panicked).
    ended: bool,
    /// Every module claimed so far, by real path.
    modules: HashMap<OsString, Owner>,
    /// Counts changes to `modules`, for [`Ahead::wait_for_change`].
    generation: u64,
    /// The literal import locators of modules the evaluation thread parsed.
    imports: HashMap<OsString, Vec<String>>,
}

impl State {
    /// Nobody has claimed `file`, and every module in `deps` is finished.
    fn ready(&self, file: &ResolvedFile, deps: &[ResolvedFile]) -> bool {
        !self.modules.contains_key(file.key())
            && deps
                .iter()
                .all(|d| matches!(self.modules.get(d.key()), Some(Owner::Finished(_))))
    }
}

/// What the evaluation and the second thread share.
#[derive(Default)]
pub struct Ahead {
    state: Mutex<State>,
    changed: Condvar,
    stop: Arc<AtomicBool>,
}

impl Ahead {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while the lock is held leaves plain data behind: still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wait<'a>(&self, st: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.changed.wait(st).unwrap_or_else(|p| p.into_inner())
    }

    /// The parse of `file` if the parser thread made (or is making) it; `None`: the
    /// caller parses it.
    pub fn take(&self, file: &ResolvedFile) -> Option<Parsed> {
        let mut st = self.lock();
        loop {
            if let Some((display, parsed)) = st.done.remove(file.key()) {
                st.asked.insert(file.key().to_owned());
                return (display == file.display).then_some(parsed);
            }
            if st.parsing.as_ref() != Some(&file.real) || st.ended {
                st.asked.insert(file.key().to_owned());
                return None;
            }
            st = self.wait(st);
        }
    }

    /// Tells the second thread to stop: it ends its parse, gives up the module it is
    /// evaluating at its next statement (see [`Ahead::stop_flag`]) and ends.
    pub fn stop(&self) {
        // Under the lock, so a thread between its check and its wait cannot miss it.
        let _st = self.lock();
        self.stop.store(true, Ordering::Relaxed);
        self.changed.notify_all();
    }

    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// The flag [`Ahead::stop`] sets, for the statement hook of evaluations ahead.
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    /// Claims `file` for the parser thread unless the evaluation has asked for it.
    pub(super) fn claim(&self, file: &ResolvedFile) -> bool {
        let mut st = self.lock();
        if st.asked.contains(file.key()) || st.done.contains_key(file.key()) {
            return false;
        }
        st.parsing = Some(file.real.clone());
        true
    }

    /// Hands over a parse the second thread made (`None`: its parse panicked; it ends).
    pub(super) fn finish(&self, file: &ResolvedFile, parsed: Option<Parsed>) {
        let mut st = self.lock();
        if st.parsing.as_ref() == Some(&file.real) {
            st.parsing = None;
        }
        match parsed {
            Some(p) => {
                st.done
                    .insert(file.key().to_owned(), (file.display.clone(), p));
            }
            None => st.ended = true,
        }
        self.changed.notify_all();
    }

    /// Offers a parse the second thread made for itself and will not use (it could not
    /// evaluate the module), unless the evaluation has parsed the file already.
    pub(super) fn offer(&self, file: &ResolvedFile, parsed: Parsed) {
        let mut st = self.lock();
        if !st.asked.contains(file.key()) {
            st.done
                .insert(file.key().to_owned(), (file.display.clone(), parsed));
        }
    }

    /// The second thread has ended (also when it panicked): nothing it claimed is
    /// left for the evaluation to wait for.
    pub(super) fn end(&self) {
        let mut st = self.lock();
        st.ended = true;
        st.parsing = None;
        st.modules.retain(|_, owner| !matches!(owner, Owner::Ahead));
        self.changed.notify_all();
    }

    /// The evaluation thread is about to import `file`: it is finished (possibly after
    /// waiting for the second thread to finish it), or the evaluation's to evaluate.
    pub fn claim_module(&self, file: &ResolvedFile) -> Claim {
        let mut st = self.lock();
        loop {
            match st.modules.get(file.key()) {
                Some(Owner::Finished(e)) => return Claim::Finished(e.clone()),
                Some(Owner::Evaluation) => return Claim::Yours,
                Some(Owner::Ahead) => st = self.wait(st),
                None => {
                    st.modules.insert(file.key().to_owned(), Owner::Evaluation);
                    return Claim::Yours;
                }
            }
        }
    }

    /// The evaluation thread finished `file`: the second thread may import it.
    pub fn publish(&self, file: &ResolvedFile, imported: &Imported) {
        let e = Evaluated {
            file: file.clone(),
            imported: imported.clone(),
            effects: Mutex::new(None),
            deps: Vec::new(),
        };
        let mut st = self.lock();
        st.modules
            .insert(file.key().to_owned(), Owner::Finished(Arc::new(e)));
        st.generation += 1;
        self.changed.notify_all();
    }

    /// Like [`Ahead::try_begin`] for a module whose parse was offered: claims it and
    /// takes the parse back in one step, unless the evaluation has taken the parse.
    pub(super) fn try_begin_offered(&self, file: &ResolvedFile, deps: &[ResolvedFile]) -> Begin {
        let mut st = self.lock();
        if !st.ready(file, deps) {
            return Begin::NotReady;
        }
        match st.done.remove(file.key()) {
            Some((_, parsed)) => {
                st.modules.insert(file.key().to_owned(), Owner::Ahead);
                Begin::Ready(Box::new(parsed))
            }
            None => Begin::Gone,
        }
    }

    /// How many times a module was finished or given up so far.
    pub(super) fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Waits until a module is finished or given up after `seen` (see
    /// [`Ahead::generation`]), or a stop.
    pub(super) fn wait_for_change(&self, seen: u64) {
        let mut st = self.lock();
        while st.generation == seen && !self.stopped() {
            st = self.wait(st);
        }
    }

    /// A finished module, for an import on either thread; never waits.
    pub fn finished(&self, key: &OsStr) -> Option<Arc<Evaluated>> {
        match self.lock().modules.get(key) {
            Some(Owner::Finished(e)) => Some(e.clone()),
            _ => None,
        }
    }

    /// The evaluation thread parsed `file`, which imports `locators` (literal ones).
    pub fn note_imports(&self, file: &ResolvedFile, locators: Vec<String>) {
        self.lock().imports.insert(file.key().to_owned(), locators);
    }

    /// What [`Ahead::note_imports`] noted for `file`, if it has.
    pub(super) fn noted_imports(&self, file: &ResolvedFile) -> Option<Vec<String>> {
        self.lock().imports.get(file.key()).cloned()
    }

    /// Whether `file` is claimed by either thread (or finished).
    pub(super) fn claimed(&self, file: &ResolvedFile) -> bool {
        self.lock().modules.contains_key(file.key())
    }

    /// Claims `file` for the second thread when nobody has and every module in `deps`
    /// is finished.
    pub(super) fn try_begin(&self, file: &ResolvedFile, deps: &[ResolvedFile]) -> bool {
        let mut st = self.lock();
        let ready = st.ready(file, deps);
        if ready {
            st.modules.insert(file.key().to_owned(), Owner::Ahead);
        }
        ready
    }

    /// The second thread finished `file` (`None`: it gave it up, the evaluation
    /// thread will evaluate it).
    pub(super) fn complete(&self, file: &ResolvedFile, done: Option<Evaluated>) {
        let mut st = self.lock();
        match done {
            Some(e) => st
                .modules
                .insert(file.key().to_owned(), Owner::Finished(Arc::new(e))),
            None => st.modules.remove(file.key()),
        };
        st.generation += 1;
        self.changed.notify_all();
    }
}

/// Adds the locator of `e` to `out` when `e` is an `import_module` call with a string
/// literal for a locator.
fn literal_import(e: &AstExpr, out: &mut Vec<String>) {
    let ExprP::Call(f, args) = &e.node else {
        return;
    };
    if !matches!(&f.node, ExprP::Identifier(id) if id.node.ident == "import_module") {
        return;
    }
    let locator = args.args.iter().find_map(|a| match &a.node {
        ArgumentP::Positional(x) => Some(x),
        ArgumentP::Named(n, x) if n.node == "module_file" => Some(x),
        _ => None,
    });
    if let Some(ExprP::Literal(AstLiteral::String(s))) = locator.map(|x| &x.node) {
        out.push(s.node.clone());
    }
}
