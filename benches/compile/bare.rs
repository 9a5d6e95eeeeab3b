//! The floor kplan's frontend is compared with: a bare evaluation of a package's
//! Starlark by the same starlark crate, with the same dialect, but without kplan. Every
//! module is read, parsed and evaluated once (`import_module` and `read_file` are real,
//! resolving `/`, `./`, `../` and `github.com/...` locators in a package cache), and the
//! main function is called with a stub `plan`. Everything Kurtosis-specific (the `plan`
//! instructions, `ServiceConfig`, `PortSpec`, ...) is one stub value that accepts any
//! call, attribute, index or operator and records nothing, so what is left is the cost
//! of Starlark itself: lexing, parsing, compiling and running the package's own code.
//!
//! Run by the benchmark as `compile --bare-eval PACKAGE_DIR CACHE ARGS_JSON` in a
//! process of its own (so it is timed whole, as `kplan compile` is). It prints how many
//! modules it evaluated, and whether the main function ran to its end.

use allocative::Allocative;
use starlark::any::ProvidesStaticType;
use starlark::environment::{FrozenModule, Globals, GlobalsBuilder, LibraryExtension, Module};
use starlark::eval::{Arguments, Evaluator};
use starlark::starlark_simple_value;
use starlark::syntax::AstModule;
use starlark::values::structs::AllocStruct;
use starlark::values::{starlark_value, Heap, StarlarkValue, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Any Kurtosis value: every operation on it gives another stub.
#[derive(Debug, ProvidesStaticType, Allocative)]
struct Stub;

/// `json.encode(stub)` gives `"stub"`.
impl serde::Serialize for Stub {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("stub")
    }
}
starlark_simple_value!(Stub);

impl fmt::Display for Stub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("stub")
    }
}

#[starlark_value(type = "stub")]
impl<'v> StarlarkValue<'v> for Stub {
    fn invoke(
        &self,
        _me: Value<'v>,
        _args: &Arguments<'v, '_>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        Ok(eval.heap().alloc(Stub))
    }
    fn get_attr(&self, _attribute: &str, heap: Heap<'v>) -> Option<Value<'v>> {
        Some(heap.alloc(Stub))
    }
    fn has_attr(&self, _attribute: &str, _heap: Heap<'v>) -> bool {
        true
    }
    fn at(&self, _index: Value<'v>, heap: Heap<'v>) -> starlark::Result<Value<'v>> {
        Ok(heap.alloc(Stub))
    }
    fn iterate_collect(&self, _heap: Heap<'v>) -> starlark::Result<Vec<Value<'v>>> {
        Ok(Vec::new())
    }
    fn length(&self) -> starlark::Result<i32> {
        Ok(0)
    }
    fn is_in(&self, _other: Value<'v>) -> starlark::Result<bool> {
        Ok(false)
    }
    fn add(&self, _rhs: Value<'v>, heap: Heap<'v>) -> Option<starlark::Result<Value<'v>>> {
        Some(Ok(heap.alloc(Stub)))
    }
    fn radd(&self, _lhs: Value<'v>, heap: Heap<'v>) -> Option<starlark::Result<Value<'v>>> {
        Some(Ok(heap.alloc(Stub)))
    }
}

/// Kurtosis' predeclared names that are not plain Starlark: all stubs here.
const KURTOSIS_NAMES: &[&str] = &[
    "PortSpec",
    "ServiceConfig",
    "Directory",
    "ReadyCondition",
    "ExecRecipe",
    "GetHttpRequestRecipe",
    "PostHttpRequestRecipe",
    "StoreSpec",
    "User",
    "Toleration",
    "GpuConfig",
    "ImageSpec",
    "ImageBuildSpec",
    "NixBuildSpec",
    "Service",
    "time",
    "kurtosis",
    "print",
];

#[starlark::starlark_module]
fn package_globals(builder: &mut GlobalsBuilder) {
    fn import_module<'v>(
        #[starlark(require = pos)] locator: &str,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let run = run_of(eval);
        let from = caller(eval);
        let (module, names) = run.import(&run.resolve(&from, locator))?;
        let mut members = Vec::new();
        for name in &names {
            if let Ok((v, _)) = module.get_any_visibility(name) {
                members.push((name.clone(), eval.heap().access_owned_frozen_value(&v)));
            }
        }
        Ok(eval.heap().alloc(AllocStruct(members)))
    }

    fn read_file<'v>(
        #[starlark(require = pos)] src: &str,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<String> {
        let run = run_of(eval);
        let from = caller(eval);
        let path = run.resolve(&from, src);
        std::fs::read_to_string(&path)
            .map_err(|e| starlark::Error::new_other(anyhow::anyhow!("{}: {e}", path.display())))
    }
}

/// `json` as Kurtosis has it (starlark-go's encode, decode and indent).
#[starlark::starlark_module]
fn json_members(builder: &mut GlobalsBuilder) {
    fn encode<'v>(#[starlark(require = pos)] x: Value<'v>) -> starlark::Result<String> {
        x.to_json().map_err(starlark::Error::new_other)
    }

    fn decode<'v>(
        #[starlark(require = pos)] x: &str,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let j: serde_json::Value =
            serde_json::from_str(x).map_err(|e| starlark::Error::new_other(anyhow::anyhow!(e)))?;
        Ok(eval.heap().alloc(&j))
    }

    fn indent(
        #[starlark(require = pos)] x: &str,
        #[starlark(require = named, default = "")] prefix: &str,
        #[starlark(require = named, default = "\t")] indent: &str,
    ) -> starlark::Result<String> {
        let _ = (prefix, indent);
        let j: serde_json::Value =
            serde_json::from_str(x).map_err(|e| starlark::Error::new_other(anyhow::anyhow!(e)))?;
        serde_json::to_string_pretty(&j).map_err(|e| starlark::Error::new_other(anyhow::anyhow!(e)))
    }
}

fn run_of<'a>(eval: &Evaluator<'_, 'a, '_>) -> &'a Run {
    eval.extra
        .and_then(|e| e.downcast_ref::<Run>())
        .expect("the bare evaluator sets its Run as extra")
}

/// The file of the calling statement (its path is the codemap's file name).
fn caller(eval: &Evaluator) -> PathBuf {
    eval.call_stack_top_location()
        .map(|l| PathBuf::from(l.filename()))
        .unwrap_or_default()
}

#[derive(ProvidesStaticType)]
struct Run {
    globals: Globals,
    cache: PathBuf,
    /// Each module's frozen globals and all their names (`_private` ones included).
    modules: RefCell<HashMap<PathBuf, (FrozenModule, Vec<String>)>>,
}

impl Run {
    /// A locator used in `from`, as a path (no containment checks: the floor).
    fn resolve(&self, from: &Path, locator: &str) -> PathBuf {
        if let Some(rest) = locator.strip_prefix("github.com/") {
            return self.cache.join("github.com").join(rest);
        }
        let repo = self.repo_of(from);
        match locator.strip_prefix('/') {
            Some(rel) => repo.join(rel),
            None => from.parent().unwrap_or(Path::new("/")).join(locator),
        }
    }

    /// The cached repository (`CACHE/github.com/OWNER/REPO`) a file lies in.
    fn repo_of(&self, file: &Path) -> PathBuf {
        let rel = file
            .strip_prefix(self.cache.join("github.com"))
            .unwrap_or(file);
        let mut parts = rel.components();
        let (owner, repo) = (parts.next(), parts.next());
        match (owner, repo) {
            (Some(o), Some(r)) => self.cache.join("github.com").join(o).join(r),
            _ => PathBuf::from("/"),
        }
    }

    fn parse(&self, path: &Path) -> starlark::Result<AstModule> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| starlark::Error::new_other(anyhow::anyhow!("{}: {e}", path.display())))?;
        AstModule::parse(&path.to_string_lossy(), text, &kplan::frontend::dialect())
    }

    fn import(&self, path: &Path) -> starlark::Result<(FrozenModule, Vec<String>)> {
        let path = normalise(path);
        if let Some(m) = self.modules.borrow().get(&path) {
            return Ok(m.clone());
        }
        let ast = self.parse(&path)?;
        let frozen = Module::with_temp_heap(|module| -> starlark::Result<_> {
            {
                let mut eval = Evaluator::new(&module);
                eval.extra = Some(self);
                eval.eval_module(ast, &self.globals)?;
            }
            let names = module
                .names_and_visibilities()
                .map(|(n, _)| n.as_str().to_owned())
                .collect();
            let module = module
                .freeze()
                .map_err(|e| starlark::Error::new_other(anyhow::anyhow!("{e:?}")))?;
            Ok((module, names))
        })?;
        self.modules.borrow_mut().insert(path, frozen.clone());
        Ok(frozen)
    }
}

/// Removes `.` and `..` components without touching the filesystem.
fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other @ (std::path::Component::Prefix(_)
            | std::path::Component::RootDir
            | std::path::Component::Normal(_)) => out.push(other),
        }
    }
    out
}

fn globals() -> Globals {
    let mut b = GlobalsBuilder::extended_by(&[LibraryExtension::StructType])
        .with(package_globals)
        .with_namespace("json", json_members);
    for name in KURTOSIS_NAMES {
        b.set(name, Stub);
    }
    b.build()
}

/// Evaluates `package` (a directory inside `cache`) as described in the module doc;
/// returns a one-line summary.
pub fn evaluate(package: &Path, cache: &Path, args: &str) -> Result<String, String> {
    let run = Run {
        globals: globals(),
        cache: cache.to_owned(),
        modules: RefCell::default(),
    };
    let main = normalise(&package.join("main.star"));
    let ast = run.parse(&main).map_err(|e| e.to_string())?;
    let args: serde_json::Value = serde_json::from_str(args).map_err(|e| e.to_string())?;
    let outcome = Module::with_temp_heap(|module| -> starlark::Result<String> {
        let mut eval = Evaluator::new(&module);
        eval.extra = Some(&run);
        eval.eval_module(ast, &run.globals)?;
        let run_fn = module
            .get("run")
            .ok_or_else(|| starlark::Error::new_other(anyhow::anyhow!("no run()")))?;
        let heap = eval.heap();
        let plan = heap.alloc(Stub);
        // `def run(plan, args)`: the arguments as one dict, as Kurtosis passes them.
        let args = heap.alloc(&args);
        Ok(match eval.eval_function(run_fn, &[plan, args], &[]) {
            Ok(_) => "run() completed".to_owned(),
            Err(e) => format!(
                "run() stopped early on a stub: {}",
                e.without_diagnostic()
                    .to_string()
                    .lines()
                    .next()
                    .unwrap_or("")
            ),
        })
    })
    .map_err(|e| e.to_string())?;
    Ok(format!(
        "{} modules evaluated, {outcome}",
        run.modules.borrow().len() + 1
    ))
}
