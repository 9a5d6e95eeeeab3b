//! One interpretation, start to end: find the package, read the arguments, evaluate the
//! main file, call the main function with `plan` and the arguments, and collect the
//! recorded plan, turning every failure into a diagnostic with a position.

use super::ahead::Ahead;
use super::ahead_thread;
use super::context::{Context, NoLoad, ParseFailure};
use super::convert::Conv;
use super::globals::{self, from_json};
use super::instruction::to_span;
use super::package::ResolvedFile;
use super::plan_object::PlanValue;
use super::reads::{self, Reads};
use super::value::Owned;
use super::{guard, positions, syntax};
use super::{Failure, Interpreted, Options, Sources};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{self, PackageInfo, Span};
use starlark::environment::Module;
use starlark::eval::Evaluator;
use starlark::values::{Heap, Value};
use std::cell::Cell;
use std::sync::Arc;

fn fail(code: Code, msg: impl Into<String>, at: Option<Span>) -> Failure {
    Failure {
        diagnostics: vec![Diagnostic::error(code, msg, at)],
        sources: Sources::default(),
    }
}

/// Stack of the thread every interpretation runs on. starlark-rust parses, compiles
/// and evaluates recursively; `nesting.rs` bounds how deep a file may nest, and
/// tests/it/limits.rs evaluates each construct at its bound on this stack. Each passes
/// on 64 MiB in a debug build (the deepest: 1000 nested `lambda`s); 256 MiB leaves
/// four times that. It is address space: pages are touched only when used.
pub const EVAL_STACK_BYTES: usize = 256 << 20;

thread_local! {
    /// This thread's stack is at least [`EVAL_STACK_BYTES`] (see [`with_stack`]).
    static LARGE_STACK: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` on this thread, saying that the thread's stack is `bytes` large: when that
/// is at least [`EVAL_STACK_BYTES`], interpretations started in `f` run on this thread
/// rather than on one of their own. The kplan binary runs its command line on such a
/// thread: a thread of its own for the evaluation cost ethereum-package 5 MiB of
/// peak RSS (the allocator's pages of one more thread, zeroed by the kernel) and 7% of
/// the wall time (farm-bench, 100 alternating pairs: 29 -> 27 ms, 63.6 -> 58.8 MiB).
pub fn with_stack<T>(bytes: usize, f: impl FnOnce() -> T) -> T {
    /// Puts the flag back however `f` ends, a panic included.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            LARGE_STACK.set(self.0);
        }
    }
    let _restore = Restore(LARGE_STACK.replace(bytes >= EVAL_STACK_BYTES));
    f()
}

/// Interprets the package named in `opts`, on a thread with a stack of known size
/// whatever thread calls it: this one if [`with_stack`] said it is large enough,
/// otherwise a thread of its own.
pub fn interpret(opts: &Options) -> Result<Interpreted, Failure> {
    on_eval_thread(|| (interpret_here(opts), Reads::default())).0
}

/// [`interpret`], also saying which paths it looked at (see [`Reads`]), whether it
/// succeeded or not: what `apply --watch` watches. Only this records: noting every
/// path in an ordered set cost 9M of the 191M instructions of interpreting
/// ethereum-package, which a one-off compile does not need.
pub fn interpret_recording(opts: &Options) -> (Result<Interpreted, Failure>, Reads) {
    on_eval_thread(|| reads::record(|| interpret_here(opts)))
}

/// Runs `run` on the evaluation thread and waits for it (on this thread when its stack
/// is large enough, see [`with_stack`]).
fn on_eval_thread(
    run: impl FnOnce() -> (Result<Interpreted, Failure>, Reads) + Send,
) -> (Result<Interpreted, Failure>, Reads) {
    if LARGE_STACK.get() {
        return run();
    }
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name("kplan-eval".into())
            .stack_size(EVAL_STACK_BYTES)
            .spawn_scoped(scope, run);
        match thread {
            Ok(t) => t
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(e) => (
                Err(fail(
                    Code::KP011,
                    format!("cannot start the evaluation thread: {e}"),
                    None,
                )),
                Reads::default(),
            ),
        }
    })
}

fn interpret_here(opts: &Options) -> Result<Interpreted, Failure> {
    crate::memory::on_exhausted(guard::report_exhausted);
    crate::memory::set_budget(opts.max_eval_memory);
    let mut result = interpret_budgeted(opts);
    // The last statement may have gone past the budget with no statement after it.
    if let (Ok(_), Some(limit)) = (&result, crate::memory::exceeded()) {
        let d = Diagnostic::error(
            guard::LIMIT,
            guard::OverBudget { limit }.to_string(),
            guard::statement(),
        );
        result = Err(Failure {
            diagnostics: vec![d],
            sources: result.map(|i| i.sources).unwrap_or_default(),
        });
    }
    crate::memory::set_budget(0);
    result
}

fn interpret_budgeted(opts: &Options) -> Result<Interpreted, Failure> {
    let (packages, main) = super::root::locate(opts)?;
    let args = read_args(opts)?;
    let ahead = Arc::new(Ahead::default());
    let prefetch = packages.without_fetching();
    let settings = ahead_thread::Settings {
        cluster: opts.cluster_type,
        allow_privileged: opts.allow_privileged,
        max_template_output: opts.max_template_output,
        budget: opts.max_eval_memory,
        record: reads::recording(),
    };
    let result = std::thread::scope(|scope| {
        // The second thread stops when this closure ends, also by a panic: the scope
        // waits for it before the panic goes on.
        let _stop = StopOnDrop(&ahead);
        // Work ahead only saves time; without its thread the evaluation does it all.
        let started = std::thread::Builder::new()
            .name("kplan-ahead".into())
            .stack_size(EVAL_STACK_BYTES)
            .spawn_scoped(scope, || {
                ahead_thread::run(&ahead, &prefetch, &main, &settings);
            })
            .is_ok();
        let mut ctx = Context::new(
            packages,
            globals::shared(),
            opts.cluster_type,
            opts.allow_privileged,
        );
        if started {
            ctx = ctx.with_ahead(ahead.clone());
        }
        interpret_in(ctx, &main, opts, args)
    });
    if opts.exits_after {
        // The modules both threads evaluated (syntax trees, frozen heaps) took 3 ms
        // to free on ethereum-package, on the path of every compile, for a process
        // about to exit; rustc leaves its arenas to the exit the same way. (Freeing
        // them on another thread was no better: 1-3.5 ms, contending with this one.)
        std::mem::forget(ahead);
    }
    result
}

/// Stops the second thread when dropped.
struct StopOnDrop<'a>(&'a Ahead);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// Evaluates the package in `ctx` and collects the plan.
fn interpret_in(
    mut ctx: Context,
    main: &ResolvedFile,
    opts: &Options,
    args: Option<serde_json::Value>,
) -> Result<Interpreted, Failure> {
    ctx.max_template_output = opts.max_template_output;
    let result = evaluate(&ctx, main, opts, args);
    let sources = ctx.sources.take();
    let output = match result {
        Ok(o) => o,
        Err(d) => {
            return Err(Failure {
                diagnostics: vec![*d],
                sources,
            })
        }
    };
    let rec = ctx.rec.into_inner();
    let plan = ir::Plan {
        package: PackageInfo {
            name: if ctx.packages.root_name.is_empty() {
                main.display.clone()
            } else {
                ctx.packages.root_name
            },
            main_file: main.display.clone(),
            main_function: opts.main_function.clone(),
        },
        services: rec.services,
        artifacts: rec.artifacts,
        tasks: rec.tasks,
        steps: rec.steps,
        output,
    };
    Ok(Interpreted {
        plan,
        sources,
        warnings: rec.warnings,
    })
}

impl Failure {
    fn with_hint(mut self, hint: &str) -> Self {
        for d in &mut self.diagnostics {
            d.hint = Some(hint.to_owned());
        }
        self
    }
}

/// Reads `--args` / `--args-file` (JSON or YAML, objects only). `--args` wins.
fn read_args(opts: &Options) -> Result<Option<serde_json::Value>, Failure> {
    let (text, origin) = match (&opts.args, &opts.args_file) {
        (Some(a), _) => (a.clone(), "--args".to_owned()),
        (None, Some(f)) => {
            let meta = std::fs::metadata(f).map_err(|e| {
                fail(
                    Code::KP003,
                    format!("cannot read --args-file {}: {e}", f.display()),
                    None,
                )
            })?;
            if meta.len() > 64 << 20 {
                return Err(fail(
                    Code::KP003,
                    format!("--args-file {} is larger than 64 MiB", f.display()),
                    None,
                ));
            }
            let t = std::fs::read_to_string(f).map_err(|e| {
                fail(
                    Code::KP003,
                    format!("cannot read --args-file {}: {e}", f.display()),
                    None,
                )
            })?;
            (t, f.display().to_string())
        }
        (None, None) => return Ok(None),
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    if let Err((line, col)) = check_args_depth(&text) {
        let at = Span::new(origin.clone(), line, col);
        let mut failure = fail(
            Code::KP003,
            format!(
                "{} nests lists and objects more than {MAX_ARGS_DEPTH} levels deep",
                describe_origin(&origin)
            ),
            Some(at),
        )
        .with_hint("pass flatter arguments; real packages nest a few levels");
        failure.sources.insert(&origin, &text);
        return Err(failure);
    }
    let value: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(json_err) => match serde_yaml::from_str::<serde_json::Value>(&text) {
            Ok(v) => v,
            Err(yaml_err) => {
                let looks_json =
                    text.trim_start().starts_with('{') || text.trim_start().starts_with('[');
                // Point at the problem in the file (or in the --args text).
                let (msg, line, col) = if looks_json {
                    let (l, c) = (json_err.line(), json_err.column());
                    (
                        format!("{} is not valid JSON: {json_err}", describe_origin(&origin)),
                        l,
                        c,
                    )
                } else {
                    let (l, c) = yaml_err
                        .location()
                        .map(|p| (p.line(), p.column()))
                        .unwrap_or((1, 1));
                    (
                        format!(
                            "{} is not valid JSON or YAML: {yaml_err}",
                            describe_origin(&origin)
                        ),
                        l,
                        c,
                    )
                };
                let at = Span::new(origin.clone(), line.max(1) as u32, col.max(1) as u32);
                let mut failure = fail(Code::KP003, msg, Some(at));
                failure.sources.insert(&origin, &text);
                return Err(failure);
            }
        },
    };
    match value {
        serde_json::Value::Object(_) => Ok(Some(value)),
        serde_json::Value::Null => Ok(None),
        other => Err(fail(
            Code::KP003,
            format!(
                "{} must be an object of named arguments, got {}",
                describe_origin(&origin),
                json_kind(&other)
            ),
            (origin != "--args").then(|| Span::new(origin.clone(), 1, 1)),
        )
        .with_hint(
            "write the arguments as an object, e.g. '{\"name\": \"value\"}' or 'name: value'",
        )),
    }
}

/// Deepest nesting of `[`/`{` accepted in `--args`: serde_json's own recursion limit.
/// Checked before parsing, in linear time, because the YAML parser (tried when the text
/// is not JSON, and JSON deeper than this is not) takes quadratic time in the depth of
/// flow collections: 100,000 levels took over a minute.
const MAX_ARGS_DEPTH: usize = 128;

/// The 1-based line and column of the first bracket nested deeper than
/// [`MAX_ARGS_DEPTH`], skipping quoted strings (JSON `"..."` with backslash escapes,
/// YAML `'...'`).
fn check_args_depth(text: &str) -> Result<(), (u32, u32)> {
    let (mut depth, mut line, mut col) = (0usize, 1u32, 0u32);
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in text.chars() {
        col += 1;
        if c == '\n' {
            (line, col) = (line + 1, 0);
        }
        match quote {
            Some(_) if escaped => escaped = false,
            Some('"') if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' => quote = Some(c),
                '[' | '{' => {
                    depth += 1;
                    if depth > MAX_ARGS_DEPTH {
                        return Err((line, col));
                    }
                }
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
    }
    Ok(())
}

/// `--args` or `--args-file PATH`, for messages.
fn describe_origin(origin: &str) -> String {
    if origin == "--args" {
        origin.to_owned()
    } else {
        format!("--args-file {origin}")
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Turns a starlark error into a diagnostic at its position.
pub fn to_diagnostic(code: Code, e: &starlark::Error) -> Diagnostic {
    let stack = e.call_stack();
    let span = e.span().map(|s| to_span(Some(s))).or_else(|| {
        stack
            .frames
            .last()
            .and_then(|f| f.location.as_ref())
            .map(|l| to_span(Some(l)))
    });
    let message = e.without_diagnostic().to_string();
    let message = message.trim_start_matches("error: ").trim().to_owned();
    let hint = if message == "Immutable" || message.contains("frozen") {
        Some("values at the top level of an imported module are frozen (as in starlark-go); copy before changing, e.g. dict(m.X) or list(m.X)")
    } else {
        None
    };
    // A refused locator or path, and a budget exceeded, keep their own code and hint.
    let (code, hint) = match super::context::refusal(e).or_else(|| guard::over_budget(e)) {
        Some((code, h)) => (code, h),
        None => (code, hint.map(str::to_owned)),
    };
    let mut d = Diagnostic::error(code, message, span.clone());
    d.hint = hint;
    for f in stack
        .frames
        .iter()
        .rev()
        .skip(if e.span().is_some() { 0 } else { 1 })
    {
        if let Some(loc) = &f.location {
            let s = to_span(Some(loc));
            if Some(&s) != span.as_ref() {
                d.related
                    .push((s, format!("called from here (in {})", f.name)));
            }
        }
    }
    d
}

/// Evaluates the main file and calls the main function. Returns `run`'s result.
fn evaluate(
    ctx: &Context,
    main: &ResolvedFile,
    opts: &Options,
    args: Option<serde_json::Value>,
) -> Result<Option<ir::Data>, Box<Diagnostic>> {
    let ast = ctx.parse(main).map_err(|f| parse_failure(ctx, f))?;
    let main_span = Span::new(main.display.clone(), 1, 1);
    // Problems with the main function's signature point at its `def`.
    let def = positions::top_level_def(&ast, &opts.main_function);
    let def_span = def
        .as_ref()
        .map_or_else(|| main_span.clone(), |d| d.name.clone());
    ctx.enter_main(main);
    Module::with_temp_heap(|module| -> Result<Option<ir::Data>, Box<Diagnostic>> {
        let mut eval = Evaluator::new(&module);
        guard::watch(&mut eval);
        eval.set_loader(&NoLoad);
        eval.extra = Some(ctx);
        guard::catching(|| eval.eval_module(ast, &ctx.globals))
            .map_err(|panic| stopped(&panic, &main_span))?
            .map_err(|e| Box::new(syntax::diagnose(Code::KP011, &e, &*ctx.sources.borrow())))?;
        let func = module.get(&opts.main_function).ok_or_else(|| {
            Box::new(
                Diagnostic::error(
                    Code::KP012,
                    format!(
                        "No '{}' function found in {}",
                        opts.main_function, main.display
                    ),
                    Some(main_span.clone()),
                )
                .with_hint(format!(
                    "define `def {}(plan, args = {{}}):` in {}",
                    opts.main_function, main.display
                )),
            )
        })?;
        let params = param_names(func);
        let heap = eval.heap();
        let plan = heap.alloc(PlanValue);
        let mut positional: Vec<Value> = Vec::new();
        if let Some(first) = params.first() {
            if first == "plan" {
                positional.push(plan);
            } else if opts.main_function == "run" {
                let first_param = def.as_ref().and_then(|d| d.params.first().cloned());
                return Err(Box::new(Diagnostic::error(
                    Code::KP012,
                    format!("Expected argument at index '0' of run function to be called 'plan', got '{first}'"),
                    Some(first_param.unwrap_or_else(|| def_span.clone())),
                )
                .with_hint("write `def run(plan, args = {}):`")));
            }
        }
        let named = call_args(heap, &params, args, &mut positional);
        let named_refs: Vec<(&str, Value)> = named.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let ret = guard::catching(|| eval.eval_function(func, &positional, &named_refs))
            .map_err(|panic| stopped(&panic, &main_span))?
            .map_err(|e| {
            let mut d = syntax::diagnose(Code::KP011, &e, &*ctx.sources.borrow());
            if d.at.is_none() {
                d.at = Some(def_span.clone());
            }
            if d.message.contains("Missing parameter") || d.message.contains("extra named parameter") {
                d.hint = Some(format!("the arguments given with --args/--args-file must match the parameters of {}()", opts.main_function));
            }
            Box::new(d)
        })?;
        if ret.is_none() {
            return Ok(None);
        }
        let owned = Owned::from_value(ret).map_err(|e| {
            Diagnostic::error(
                Code::KP011,
                format!(
                    "the value {}() returned cannot be recorded: {e}",
                    opts.main_function
                ),
                Some(main_span.clone()),
            )
        })?;
        let rec = ctx.rec.borrow();
        let no_build = |_: &str, _: &[(&str, &str)]| -> Result<String, super::package::Refused> {
            Err(super::package::Refused::new(
                "a build context is not available in run()'s return value",
            ))
        };
        let mut conv = Conv::new(&rec.refs, &main_span, &no_build);
        let data = conv.data(&owned);
        Ok(Some(data))
    })
}

/// The diagnostic for a main file that cannot be read or parsed.
fn parse_failure(ctx: &Context, f: ParseFailure) -> Box<Diagnostic> {
    Box::new(match f {
        ParseFailure::Read(msg) => Diagnostic::error(Code::KP001, msg, None),
        ParseFailure::Syntax(e) => syntax::diagnose(syntax::SYNTAX, &e, &*ctx.sources.borrow()),
        ParseFailure::Limit(at, msg) => Diagnostic::error(Code::KP013, msg, Some(at)),
    })
}

/// The arguments of the main function from `--args`: its keyword arguments, or, with
/// the legacy signature `run(plan, args)`, the whole object as its second positional
/// argument (pushed onto `positional`). Kurtosis sends `{}` when none are given.
fn call_args<'v>(
    heap: Heap<'v>,
    params: &[String],
    args: Option<serde_json::Value>,
    positional: &mut Vec<Value<'v>>,
) -> Vec<(String, Value<'v>)> {
    let args = args.unwrap_or_else(|| serde_json::Value::Object(Default::default()));
    let o = from_json(&args);
    let args_owned = if args.get("_kurtosis_parser").and_then(|p| p.as_str()) == Some("struct") {
        to_structs(o)
    } else {
        o
    };
    let legacy = params.len() == 2 && params[1] == "args" && positional.len() == 1;
    let mut named = Vec::new();
    if legacy {
        positional.push(args_owned.to_value(heap));
    } else if let Owned::Dict(entries) = args_owned {
        for (k, v) in entries {
            if let Owned::Str(k) = k {
                if k != "_kurtosis_parser" {
                    named.push((k, v.to_value(heap)));
                }
            }
        }
    }
    named
}

/// A panic caught while evaluating, at the statement that was running, or at `file`
/// when none was (starlark folds calls with constant arguments, such as
/// `list(range(10**9))`, while it compiles the file, before any statement runs).
fn stopped(panic: &str, file: &Span) -> Box<Diagnostic> {
    let at = guard::statement().unwrap_or_else(|| file.clone());
    Box::new(guard::panic_diagnostic(panic, Some(at)))
}

fn to_structs(o: Owned) -> Owned {
    match o {
        Owned::Dict(entries) => Owned::Struct(
            entries
                .into_iter()
                .filter_map(|(k, v)| match k {
                    Owned::Str(k) if k != "_kurtosis_parser" => Some((k, to_structs(v))),
                    _ => None,
                })
                .collect(),
        ),
        Owned::List(items) => Owned::List(items.into_iter().map(to_structs).collect()),
        other => other,
    }
}

/// Parameter names of a `def`, from its signature (`plan, args={}` -> [plan, args]).
fn param_names(func: Value) -> Vec<String> {
    let Some(spec) = func.parameters_spec() else {
        return Vec::new();
    };
    spec.parameters_str()
        .split(',')
        .map(|p| {
            p.trim()
                .trim_start_matches('*')
                .split(['=', ':'])
                .next()
                .unwrap_or("")
                .trim()
                .to_owned()
        })
        .filter(|p| !p.is_empty())
        .collect()
}
