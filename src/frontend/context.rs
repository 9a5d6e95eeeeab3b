//! Per-run interpreter state, reached from builtins through `Evaluator::extra`: the
//! package resolver, the module cache (each module evaluated once per run, cycles
//! reported with the chain), the sources read, and the plan recorder. The evaluation
//! thread has one; the second thread (`ahead_thread.rs`) makes one per module it
//! evaluates ahead, whose imports are only modules already finished and whose state
//! it hands over as [`Effects`].

#![allow(
    unsafe_code,
    reason = "derive(ProvidesStaticType) expands to an `unsafe impl`"
)]

use super::ahead::{parse_file, Ahead, Claim, Effects, Evaluated, Parsed, Tree};
pub use super::ahead::{ParseFailure, MAX_FILE_BYTES};
use super::package::{Kind, Packages, Refused, ResolvedFile};
use super::positions::KeyPositions;
use super::reads::Reads;
use super::recorder::Recorder;
use super::sources::Sources;
use super::ClusterType;
use crate::diagnostic::Code;
use starlark::any::ProvidesStaticType;
use starlark::codemap::FileSpan;
use starlark::environment::{FrozenModule, Globals, Module};
use starlark::eval::{Evaluator, FileLoader};
use starlark::syntax::AstModule;
use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::OsString;
use std::sync::Arc;

/// A module's frozen globals and all their names. starlark-rust treats `_name` as
/// private and leaves it out of `FrozenModule::names`, but Kurtosis (starlark-go)
/// exposes every global of an imported module, so the names are kept here.
#[derive(Clone)]
pub struct Imported {
    pub module: FrozenModule,
    pub names: Vec<String>,
}

enum Slot {
    Loading,
    Done(Imported),
    Failed(String),
}

/// Everything a builtin may need during one interpretation.
#[derive(ProvidesStaticType)]
pub struct Context {
    pub packages: Packages,
    pub globals: Globals,
    pub cluster: ClusterType,
    pub allow_privileged: bool,
    /// Most bytes one rendered template may hold.
    pub max_template_output: usize,
    pub sources: RefCell<Sources>,
    pub rec: RefCell<Recorder>,
    /// Where dict keys are written, for diagnostics about them (a bad port id).
    pub keys: RefCell<KeyPositions>,
    modules: RefCell<HashMap<OsString, Slot>>,
    import_stack: RefCell<Vec<String>>,
    /// Display path -> resolved file, for locators relative to the calling file.
    files: RefCell<HashMap<String, ResolvedFile>>,
    /// Modules parsed and evaluated ahead on another thread (see `ahead.rs`).
    ahead: Option<Arc<Ahead>>,
    /// This context evaluates one module ahead, on the second thread.
    is_ahead: bool,
    /// The modules imported while evaluating ahead.
    deps: RefCell<Vec<OsString>>,
}

/// A module that cannot be parsed, as the error of the `import_module` that asked for it.
fn import_error(f: ParseFailure) -> starlark::Error {
    match f {
        ParseFailure::Read(msg) => other(msg),
        ParseFailure::Limit(at, msg) => other(format!("{at}: {msg}")),
        ParseFailure::Syntax(e) => e,
    }
}

impl Context {
    pub fn new(
        packages: Packages,
        globals: Globals,
        cluster: ClusterType,
        allow_privileged: bool,
    ) -> Self {
        Context {
            packages,
            globals,
            cluster,
            allow_privileged,
            max_template_output: crate::gotemplate::DEFAULT_MAX_OUTPUT,
            sources: RefCell::default(),
            rec: RefCell::default(),
            keys: RefCell::default(),
            modules: RefCell::default(),
            import_stack: RefCell::default(),
            files: RefCell::default(),
            ahead: None,
            is_ahead: false,
            deps: RefCell::default(),
        }
    }

    /// Takes modules from `ahead` where it parsed or evaluated them first.
    pub fn with_ahead(mut self, ahead: Arc<Ahead>) -> Self {
        self.ahead = Some(ahead);
        self
    }

    /// A context for evaluating one module on the second thread: it imports only
    /// modules `ahead` holds finished (see [`Context::import`]).
    pub fn evaluating_ahead(mut self, ahead: Arc<Ahead>) -> Self {
        self.ahead = Some(ahead);
        self.is_ahead = true;
        self
    }

    /// What evaluating ahead did to this context, and the modules it imported.
    pub fn into_effects(self, reads: Reads) -> (Effects, Vec<OsString>) {
        let effects = Effects {
            sources: self.sources.into_inner(),
            files: self.files.into_inner(),
            keys: self.keys.into_inner(),
            reads,
        };
        (effects, self.deps.into_inner())
    }

    pub fn from_eval<'a>(eval: &Evaluator<'_, 'a, '_>) -> starlark::Result<&'a Context> {
        eval.extra
            .and_then(|e| e.downcast_ref::<Context>())
            .ok_or_else(|| {
                starlark::Error::new_other(anyhow::anyhow!(
                    "kplan builtins are only available while interpreting a package"
                ))
            })
    }

    /// The file that contains the current call (for relative locators).
    pub fn calling_file(&self, at: Option<&FileSpan>) -> Option<ResolvedFile> {
        let name = at?.filename().to_owned();
        self.files.borrow().get(&name).cloned()
    }

    /// Resolves a locator given in the current call (see [`Packages::resolve`]); a
    /// refusal becomes a KP004 error at the call.
    pub fn resolve(
        &self,
        locator: &str,
        at: Option<&FileSpan>,
        kind: Kind,
    ) -> starlark::Result<ResolvedFile> {
        let from = self
            .calling_file(at)
            .ok_or_else(|| other("cannot tell which file this call is in"))?;
        self.packages.resolve(locator, &from, kind).map_err(refused)
    }

    /// A build context (a directory of the package) and the paths given inside it
    /// (`(argument, path)`), all checked; returns the context's display path.
    pub fn build_context(
        &self,
        locator: &str,
        at: Option<&FileSpan>,
        inside: &[(&str, &str)],
    ) -> Result<String, Refused> {
        let named = |arg: &str, e: Refused| Refused {
            message: format!("{arg}: {}", e.message),
            hint: e.hint,
        };
        let from = self
            .calling_file(at)
            .ok_or_else(|| Refused::new("cannot tell which file this call is in"))?;
        let dir = self
            .packages
            .resolve(locator, &from, Kind::Dir)
            .map_err(|e| named("build_context_dir", e))?;
        // An image is built from everything in it.
        super::reads::tree(&dir.real);
        for (arg, rel) in inside {
            self.packages.inside(&dir, rel).map_err(|e| named(arg, e))?;
        }
        Ok(dir.display)
    }

    /// Reads a resolved file as text (see [`super::ahead::read_text`]).
    pub fn read_text(&self, file: &ResolvedFile) -> Result<String, String> {
        super::ahead::read_text(file)
    }

    /// Registers a file and parses it as Starlark (or takes the parse made ahead).
    pub fn parse(&self, file: &ResolvedFile) -> Result<AstModule, ParseFailure> {
        let parsed = self
            .ahead
            .as_ref()
            .and_then(|a| a.take(file))
            .unwrap_or_else(|| parse_file(file));
        let tree = self.register(file, parsed)?;
        if let (Some(ahead), false) = (&self.ahead, self.is_ahead) {
            // So the second thread's walk can go on below this module without
            // parsing it again.
            ahead.note_imports(file, tree.imports);
        }
        Ok(tree.ast)
    }

    /// Registers a parsed file: its text for diagnostics, its path for relative
    /// locators, its dict-key positions.
    fn register(&self, file: &ResolvedFile, parsed: Parsed) -> Result<Tree, ParseFailure> {
        if let Some(text) = &parsed.text {
            self.sources.borrow_mut().insert(&file.display, text);
            self.files
                .borrow_mut()
                .insert(file.display.clone(), file.clone());
        }
        let mut tree = parsed.result?;
        self.keys
            .borrow_mut()
            .extend(std::mem::take(&mut tree.keys));
        Ok(tree)
    }

    /// Marks the main file as the start of every import chain (for cycle messages).
    pub fn enter_main(&self, file: &ResolvedFile) {
        self.import_stack.borrow_mut().push(file.display.clone());
        self.modules
            .borrow_mut()
            .insert(file.key().to_owned(), Slot::Loading);
    }

    /// `import_module`: evaluates a module once per run and returns it frozen. With a
    /// second thread, a module it finished is taken instead (its effects merged), and
    /// every module finished here is handed to it.
    pub fn import(&self, file: &ResolvedFile) -> starlark::Result<Imported> {
        if self.is_ahead {
            return self.import_finished(file);
        }
        match self.modules.borrow().get(file.key()) {
            Some(Slot::Done(m)) => return Ok(m.clone()),
            Some(Slot::Failed(msg)) => {
                return Err(other(format!(
                    "module '{}' failed to load earlier: {msg}",
                    file.display
                )))
            }
            Some(Slot::Loading) => {
                let stack = self.import_stack.borrow();
                let start = stack.iter().position(|d| *d == file.display).unwrap_or(0);
                let mut chain: Vec<&str> = stack[start..].iter().map(String::as_str).collect();
                chain.push(&file.display);
                return Err(other(format!(
                    "There's a cycle in the import_module calls: {}; move what both modules need into a third module",
                    chain.join(" -> ")
                )));
            }
            None => {}
        }
        if let Some(ahead) = &self.ahead {
            if let Claim::Finished(e) = ahead.claim_module(file) {
                return Ok(self.adopt(ahead, &e));
            }
        }
        self.modules
            .borrow_mut()
            .insert(file.key().to_owned(), Slot::Loading);
        self.import_stack.borrow_mut().push(file.display.clone());
        let result = self.eval_module(file);
        self.import_stack.borrow_mut().pop();
        if let (Some(ahead), Ok(m)) = (&self.ahead, &result) {
            ahead.publish(file, m);
        }
        let slot = match &result {
            Ok(m) => Slot::Done(m.clone()),
            Err(e) => Slot::Failed(e.without_diagnostic().to_string()),
        };
        self.modules
            .borrow_mut()
            .insert(file.key().to_owned(), slot);
        result
    }

    /// Takes a module the second thread finished, with every module it imported that
    /// this context does not have yet, merging what their evaluations did.
    fn adopt(&self, ahead: &Ahead, e: &Evaluated) -> Imported {
        for dep in &e.deps {
            if self.modules.borrow().contains_key(dep) {
                continue;
            }
            if let Some(d) = ahead.finished(dep) {
                self.adopt(ahead, &d);
            }
        }
        // Taken, not copied: only this thread merges them, once per module.
        let effects = e.effects.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(effects) = effects {
            self.sources.borrow_mut().extend(effects.sources);
            self.files.borrow_mut().extend(effects.files);
            self.keys.borrow_mut().extend(effects.keys);
            super::reads::merge(&effects.reads);
        }
        self.modules
            .borrow_mut()
            .insert(e.file.key().to_owned(), Slot::Done(e.imported.clone()));
        e.imported.clone()
    }

    /// An import while evaluating ahead: only a finished module; anything else gives
    /// the evaluation up (the evaluation thread will do it).
    fn import_finished(&self, file: &ResolvedFile) -> starlark::Result<Imported> {
        let e = self
            .ahead
            .as_ref()
            .and_then(|a| a.finished(file.key()))
            .ok_or_else(|| other(format!("'{}' is not evaluated yet", file.display)))?;
        self.deps.borrow_mut().push(file.key().to_owned());
        self.files
            .borrow_mut()
            .insert(e.file.display.clone(), e.file.clone());
        Ok(e.imported.clone())
    }

    fn eval_module(&self, file: &ResolvedFile) -> starlark::Result<Imported> {
        let ast = self.parse(file).map_err(import_error)?;
        self.eval_ast(ast)
    }

    /// Evaluates a module parsed on the second thread (see `ahead_thread.rs`).
    pub fn eval_parsed(&self, file: &ResolvedFile, parsed: Parsed) -> starlark::Result<Imported> {
        let tree = self.register(file, parsed).map_err(import_error)?;
        self.eval_ast(tree.ast)
    }

    fn eval_ast(&self, ast: AstModule) -> starlark::Result<Imported> {
        Module::with_temp_heap(|module| -> starlark::Result<Imported> {
            {
                let mut eval = Evaluator::new(&module);
                super::guard::watch(&mut eval);
                eval.set_loader(&NoLoad);
                eval.extra = Some(self);
                eval.eval_module(ast, &self.globals)?;
            }
            let names = module
                .names_and_visibilities()
                .map(|(n, _)| n.as_str().to_owned())
                .collect();
            let module = module.freeze().map_err(|e| other(format!("{e:?}")))?;
            Ok(Imported { module, names })
        })
    }
}

pub fn other(msg: impl std::fmt::Display) -> starlark::Error {
    starlark::Error::new_other(anyhow::anyhow!("{msg}"))
}

/// A refused locator or path as a starlark error, reported with its own code.
pub fn refused(e: Refused) -> starlark::Error {
    starlark::Error::new_other(anyhow::Error::new(e))
}

/// The code and hint of an error made by [`refused`] (KP004), if `e` is one.
pub fn refusal(e: &starlark::Error) -> Option<(Code, Option<String>)> {
    match e.kind() {
        starlark::ErrorKind::Other(a) => a
            .downcast_ref::<Refused>()
            .map(|r| (Code::KP004, r.hint.clone())),
        _ => None,
    }
}

/// `load()` is not part of Kurtosis Starlark.
pub struct NoLoad;
impl FileLoader for NoLoad {
    fn load(&self, path: &str) -> starlark::Result<FrozenModule> {
        Err(other(format!(
            "load(\"{path}\", ...) is not supported in Kurtosis packages; use `x = import_module(\"{path}\")` and then `x.name`"
        )))
    }
}
