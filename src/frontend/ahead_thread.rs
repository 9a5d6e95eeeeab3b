//! The second thread of an interpretation (what it shares with the evaluation thread
//! is in `ahead.rs`). It parses the main file first, while the globals are built
//! (`globals::shared`), then walks the import graph (every `import_module` call whose locator is
//! a string literal) depth first, taking each module's imports in the reverse of the
//! order they are written: it starts where the evaluation thread, which imports in
//! written order, arrives last, and the two meet in the middle. On the way down it
//! parses each module not finished yet (going on below modules the evaluation thread
//! has claimed); on the way up it evaluates a module if nobody has claimed it and
//! every module it imports is finished. Otherwise it offers the
//! parse to the evaluation thread and keeps the module pending: after the walk, each
//! time either thread finishes a module, it evaluates the pending modules that have
//! become ready (taking their parse back), until none is left or it is stopped.
//!
//! Why both: interpreting ethereum-package is about a third parsing and two thirds
//! evaluating (compiling each module to bytecode, running it, freezing it); parsing
//! ahead alone left all of the evaluating on one thread.
//!
//! It never fetches (a package missing from the cache is the evaluation's to fetch or
//! report) and never waits for the evaluation thread: an import of a module that is
//! not finished (a computed locator, or one the evaluation thread is busy with) makes
//! it give the module up. A module it evaluates that the evaluation never imports (its
//! call is in a branch not taken) is kept and unused; its errors are never reported.

use super::ahead::{parse_file, Ahead, Begin, Evaluated, Parsed};
use super::context::Context;
use super::package::{Kind, Packages, ResolvedFile};
use super::reads::{self, Reads};
use super::ClusterType;
use crate::memory::unbudgeted;
use std::collections::HashSet;
use std::sync::Arc;

/// How the evaluation thread evaluates, for evaluations ahead to do the same.
pub struct Settings {
    pub cluster: ClusterType,
    pub allow_privileged: bool,
    pub max_template_output: usize,
    /// `--max-eval-memory`: this thread's evaluations are held to it as the
    /// evaluation thread's are (its parses are not: their trees are mostly handed over
    /// and freed on the evaluation thread, which would never show on this account).
    pub budget: usize,
    /// Whether the evaluation records the paths it looks at (`apply --watch`).
    pub record: bool,
}

/// A module on the walk's stack.
struct Frame {
    /// `None` for a module the evaluation thread evaluates (the main file, and any it
    /// claimed before the walk came to it).
    module: Option<(ResolvedFile, Parsed)>,
    /// Its literal imports, last written first.
    imports: Vec<ResolvedFile>,
    /// How many of them the walk has visited.
    next: usize,
}

/// The second thread. `packages` must not fetch (see [`Packages::without_fetching`]).
pub fn run(ahead: &Arc<Ahead>, packages: &Packages, main: &ResolvedFile, settings: &Settings) {
    /// Ends the thread's share however it stops, a panic included.
    struct Ending<'a>(&'a Ahead);
    impl Drop for Ending<'_> {
        fn drop(&mut self) {
            self.0.end();
        }
    }
    let _ending = Ending(ahead);
    crate::memory::set_budget(settings.budget);
    super::guard::cancel_with(ahead.stop_flag());
    if let Some(imports) = parse_main(ahead, packages, main) {
        let pending = walk(ahead, packages, main, imports, settings);
        retry(ahead, packages, pending, settings);
    }
}

/// A module whose imports were not all finished when the walk came back up to it.
struct Pending {
    file: ResolvedFile,
    imports: Vec<ResolvedFile>,
}

/// Evaluates pending modules as they become ready.
fn retry(ahead: &Arc<Ahead>, packages: &Packages, mut pending: Vec<Pending>, settings: &Settings) {
    while !pending.is_empty() && !ahead.stopped() {
        let seen = ahead.generation();
        let mut progressed = false;
        pending.retain(|p| {
            if ahead.claimed(&p.file) {
                return false;
            }
            match ahead.try_begin_offered(&p.file, &p.imports) {
                Begin::Ready(parsed) => {
                    let done = evaluate(ahead, packages, &p.file, *parsed, settings);
                    ahead.complete(&p.file, done);
                    progressed = true;
                    false
                }
                Begin::Gone => false,
                Begin::NotReady => true,
            }
        });
        if !progressed {
            ahead.wait_for_change(seen);
        }
    }
}

/// The walk; returns the modules it left pending.
fn walk(
    ahead: &Arc<Ahead>,
    packages: &Packages,
    main: &ResolvedFile,
    imports: Vec<ResolvedFile>,
    settings: &Settings,
) -> Vec<Pending> {
    let mut pending = Vec::new();
    let mut seen = HashSet::from([main.key().to_owned()]);
    let mut stack = vec![Frame {
        module: None,
        imports,
        next: 0,
    }];
    while let Some(top) = stack.last_mut() {
        if ahead.stopped() {
            break;
        }
        if let Some(file) = top.imports.get(top.next).cloned() {
            top.next += 1;
            if !seen.insert(file.key().to_owned()) || ahead.finished(file.key()).is_some() {
                continue;
            }
            // A module the evaluation thread has claimed is its own, but the walk goes
            // on below it: the evaluation imports its modules in written order, so the
            // last ones are left here (in ethereum-package, the client launchers below
            // participant_network.star). Its imports are known once the evaluation has
            // parsed it; otherwise it is parsed here and the parse offered.
            if let Some(locators) = ahead
                .claimed(&file)
                .then(|| ahead.noted_imports(&file))
                .flatten()
            {
                let imports = resolve_imports(packages, &locators, &file);
                stack.push(Frame {
                    module: None,
                    imports,
                    next: 0,
                });
                continue;
            }
            // A parser panic is the evaluation's to report, on its own thread.
            let Ok(parsed) = std::panic::catch_unwind(|| unbudgeted(|| parse_file(&file))) else {
                break;
            };
            // A file that does not parse is the evaluation's to report.
            let Ok(tree) = &parsed.result else {
                continue;
            };
            let imports = resolve_imports(packages, &tree.imports, &file);
            let module = if ahead.claimed(&file) {
                ahead.offer(&file, parsed);
                None
            } else {
                Some((file, parsed))
            };
            stack.push(Frame {
                module,
                imports,
                next: 0,
            });
        } else if let Some(Frame {
            module: Some((file, parsed)),
            imports,
            ..
        }) = stack.pop()
        {
            if ahead.try_begin(&file, &imports) {
                let done = evaluate(ahead, packages, &file, parsed, settings);
                ahead.complete(&file, done);
            } else {
                ahead.offer(&file, parsed);
                pending.push(Pending { file, imports });
            }
        }
    }
    pending
}

/// Parses the main file for the evaluation thread and returns its literal imports;
/// `None` when its parse panicked.
fn parse_main(
    ahead: &Ahead,
    packages: &Packages,
    main: &ResolvedFile,
) -> Option<Vec<ResolvedFile>> {
    let claimed = ahead.claim(main);
    let parsed = std::panic::catch_unwind(|| unbudgeted(|| parse_file(main))).ok();
    let imports = match parsed.as_ref().map(|p| &p.result) {
        Some(Ok(tree)) => resolve_imports(packages, &tree.imports, main),
        _ => Vec::new(),
    };
    let panicked = parsed.is_none();
    if claimed {
        ahead.finish(main, parsed);
    }
    (!panicked).then_some(imports)
}

/// The `.star` modules named by `locators` in `file`, last written first.
fn resolve_imports(
    packages: &Packages,
    locators: &[String],
    file: &ResolvedFile,
) -> Vec<ResolvedFile> {
    let mut imports: Vec<ResolvedFile> = locators
        .iter()
        .filter_map(|l| packages.resolve(l, file, Kind::File).ok())
        .filter(|f| f.display.ends_with(".star"))
        .collect();
    imports.reverse();
    imports
}

/// Evaluates `file` as the evaluation thread would; `None` when anything stops it.
fn evaluate(
    ahead: &Arc<Ahead>,
    packages: &Packages,
    file: &ResolvedFile,
    parsed: Parsed,
    settings: &Settings,
) -> Option<Evaluated> {
    let mut ctx = Context::new(
        packages.clone(),
        super::globals::shared(),
        settings.cluster,
        settings.allow_privileged,
    )
    .evaluating_ahead(ahead.clone());
    ctx.max_template_output = settings.max_template_output;
    let run = || ctx.eval_parsed(file, parsed);
    let (result, reads) = super::guard::catching(|| {
        if settings.record {
            reads::record(run)
        } else {
            (run(), Reads::default())
        }
    })
    .ok()?;
    let imported = result.ok()?;
    let (effects, deps) = ctx.into_effects(reads);
    Some(Evaluated {
        file: file.clone(),
        imported,
        effects: std::sync::Mutex::new(Some(effects)),
        deps,
    })
}
