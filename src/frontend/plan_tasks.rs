//! Task instructions: `exec`, `request`, `wait`, `verify`, `print`, `run_sh`,
//! `run_python`. Each records a task and returns placeholders for its results.
//!
//! `methods` is long only as a `#[starlark_module]` declaration: it is the list of
//! these builtins, each its own function of less than 120 lines.

#![allow(
    clippy::too_many_arguments,
    reason = "argument lists mirror Kurtosis signatures, as long as Kurtosis made them"
)]

use super::check::Args;
use super::context::{other, Context};
use super::instruction::{call_site, convert, description};
use super::refs::placeholder;
use super::task_args::{
    task_files, task_image, task_name, task_result, task_store, task_wait, tolerations_arg,
};
use super::value::{KValue, Owned};
use crate::ir::{self, Assertion, GoDuration, Recipe, Span, Step, StepKind, TaskId, TaskKind};
use starlark::environment::MethodsBuilder;
use starlark::eval::Evaluator;
use starlark::starlark_module;
use starlark::values::Value;
use std::collections::BTreeMap;

const HTTP_OK_CODES: [i64; 10] = [200, 201, 202, 203, 204, 205, 206, 207, 208, 226];
const RUN_SH_IMAGE: &str = "badouralix/curl-jq";
const RUN_PYTHON_IMAGE: &str = "python:3.11-alpine";

/// Records a task and its step; returns its id and placeholder UUID.
fn record(
    ctx: &Context,
    kind: TaskKind,
    description: Option<String>,
    at: Span,
) -> (TaskId, String) {
    let mut rec = ctx.rec.borrow_mut();
    let id = rec.next_task_id();
    let uuid = rec.refs.task(id);
    let stores = match &kind {
        TaskKind::RunSh { store, .. } | TaskKind::RunPython { store, .. } => store.clone(),
        TaskKind::Exec { .. }
        | TaskKind::Request { .. }
        | TaskKind::Wait { .. }
        | TaskKind::Verify { .. }
        | TaskKind::Print { .. } => Vec::new(),
    };
    for s in stores {
        rec.artifacts.push(ir::Artifact {
            name: s.name,
            named: true,
            source: ir::ArtifactSource::TaskStore {
                task: id,
                src: s.src,
            },
            description: None,
            at: at.clone(),
        });
    }
    rec.tasks.push(ir::Task {
        kind,
        description,
        at: at.clone(),
    });
    rec.steps.push(Step {
        kind: StepKind::RunTask(id),
        at,
    });
    (id, uuid)
}

/// The `{"code", "output"|"body", "extract.<k>"}` dict of exec/request/wait results.
fn result_dict(uuid: &str, main: &str, extract: &BTreeMap<String, String>) -> Owned {
    let mut entries = vec![
        (
            Owned::Str("code".into()),
            Owned::Str(placeholder(uuid, "code")),
        ),
        (Owned::Str(main.into()), Owned::Str(placeholder(uuid, main))),
    ];
    for k in extract.keys() {
        let f = format!("extract.{k}");
        entries.push((Owned::Str(f.clone()), Owned::Str(placeholder(uuid, &f))));
    }
    Owned::Dict(entries)
}

fn codes(a: &mut Args, v: Option<Value>, default: &[i64]) -> Vec<i64> {
    let o = a.owned("acceptable_codes", v);
    a.int_list("acceptable_codes", &o)
        .unwrap_or_else(|| default.to_vec())
}

fn common_description<'v>(a: &mut Args, d: Option<Value<'v>>) -> Option<String> {
    let d = a.owned("description", d);
    a.non_empty_string("description", &d);
    description(&d)
}

fn recipe_arg(a: &mut Args, v: Option<Value>, types: &[&str]) -> Option<KValue> {
    let o = a.owned("recipe", v);
    let o = a.required("recipe", o);
    a.ktype("recipe", &o, types).cloned()
}

fn service_name_arg(a: &mut Args, v: Option<Value>) -> String {
    let o = a.owned("service_name", v);
    let o = a.required("service_name", o);
    a.non_empty_string("service_name", &o).unwrap_or_default()
}

fn assertion_arg(a: &mut Args, v: Option<Value>, target: &Option<Owned>) -> Assertion {
    let o = a.owned("assertion", v);
    let o = a.required("assertion", o);
    let s = a.string("assertion", &o).unwrap_or_default();
    match Assertion::parse(&s) {
        Some(x @ (Assertion::In | Assertion::NotIn)) => {
            if !matches!(target, Some(Owned::List(_) | Owned::Tuple(_))) {
                a.fail(
                    "target_value",
                    format!("assertion '{s}' needs a list as target_value"),
                );
            }
            x
        }
        Some(x) => x,
        None => {
            if o.is_some() {
                a.fail(
                    "assertion",
                    format!("'{s}' is not one of ==, !=, >=, <=, >, <, IN, NOT_IN"),
                );
            }
            Assertion::Eq
        }
    }
}

#[starlark_module]
pub fn methods(builder: &mut MethodsBuilder) {
    fn exec<'v>(
        #[starlark(this)] _this: Value<'v>,
        service_name: Option<Value<'v>>,
        recipe: Option<Value<'v>>,
        acceptable_codes: Option<Value<'v>>,
        skip_code_check: Option<Value<'v>>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let ctx = Context::from_eval(eval)?;
        let (from, at) = call_site(eval);
        let mut a = Args::for_instruction("exec");
        let service_name = service_name_arg(&mut a, service_name);
        let recipe = recipe_arg(&mut a, recipe, &["ExecRecipe"]);
        let acceptable_codes = codes(&mut a, acceptable_codes, &[0]);
        let skip = a.owned("skip_code_check", skip_code_check);
        let skip_code_check = a.boolean("skip_code_check", &skip).unwrap_or(false);
        let d = common_description(&mut a, description);
        a.finish()?;
        let recipe = recipe.ok_or_else(|| other("exec needs an ExecRecipe"))?;
        let recipe = convert(ctx, &at, from.as_ref(), "exec", |c| c.exec_recipe(&recipe))?;
        let extract = recipe.extract.clone();
        let (_, uuid) = record(
            ctx,
            TaskKind::Exec {
                service_name,
                recipe,
                acceptable_codes,
                skip_code_check,
            },
            d,
            at,
        );
        Ok(result_dict(&uuid, "output", &extract).to_value(eval.heap()))
    }

    fn request<'v>(
        #[starlark(this)] _this: Value<'v>,
        service_name: Option<Value<'v>>,
        recipe: Option<Value<'v>>,
        acceptable_codes: Option<Value<'v>>,
        skip_code_check: Option<Value<'v>>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let ctx = Context::from_eval(eval)?;
        let (from, at) = call_site(eval);
        let mut a = Args::for_instruction("request");
        let service_name = service_name_arg(&mut a, service_name);
        let recipe = recipe_arg(
            &mut a,
            recipe,
            &["GetHttpRequestRecipe", "PostHttpRequestRecipe"],
        );
        let acceptable_codes = codes(&mut a, acceptable_codes, &HTTP_OK_CODES);
        let skip = a.owned("skip_code_check", skip_code_check);
        let skip_code_check = a.boolean("skip_code_check", &skip).unwrap_or(false);
        let d = common_description(&mut a, description);
        a.finish()?;
        let recipe = recipe.ok_or_else(|| other("request needs an HTTP recipe"))?;
        let recipe = convert(ctx, &at, from.as_ref(), "request", |c| {
            c.http_recipe(&recipe)
        })?;
        let extract = recipe.extract.clone();
        let (_, uuid) = record(
            ctx,
            TaskKind::Request {
                service_name,
                recipe,
                acceptable_codes,
                skip_code_check,
            },
            d,
            at,
        );
        Ok(result_dict(&uuid, "body", &extract).to_value(eval.heap()))
    }

    fn wait<'v>(
        #[starlark(this)] _this: Value<'v>,
        service_name: Option<Value<'v>>,
        recipe: Option<Value<'v>>,
        field: Option<Value<'v>>,
        assertion: Option<Value<'v>>,
        target_value: Option<Value<'v>>,
        interval: Option<Value<'v>>,
        timeout: Option<Value<'v>>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let ctx = Context::from_eval(eval)?;
        let (from, at) = call_site(eval);
        let mut a = Args::for_instruction("wait");
        let service_name = service_name_arg(&mut a, service_name);
        let recipe = recipe_arg(
            &mut a,
            recipe,
            &[
                "ExecRecipe",
                "GetHttpRequestRecipe",
                "PostHttpRequestRecipe",
            ],
        );
        let field = a.owned("field", field);
        let field = a.required("field", field);
        let field = a.non_empty_string("field", &field).unwrap_or_default();
        let target = a.owned_keep_none("target_value", target_value);
        let target = a.required("target_value", target);
        let assertion = assertion_arg(&mut a, assertion, &target);
        let interval = a.owned("interval", interval);
        let interval = a
            .duration("interval", &interval)
            .unwrap_or(GoDuration::from_secs(1));
        let timeout = a.owned("timeout", timeout);
        let timeout = a
            .duration("timeout", &timeout)
            .unwrap_or(GoDuration::from_secs(10));
        let d = common_description(&mut a, description);
        a.finish()?;
        let recipe = recipe.ok_or_else(|| other("wait needs a recipe"))?;
        let target = target.unwrap_or(Owned::None);
        let (recipe, field, target_value) = convert(ctx, &at, from.as_ref(), "wait", |c| {
            let recipe = c.recipe(&recipe);
            let field = c.task_field("field", &recipe, &field);
            (recipe, field, c.data(&target))
        })?;
        let (main, extract) = match &recipe {
            Recipe::Exec(r) => ("output", r.extract.clone()),
            Recipe::Http(r) => ("body", r.extract.clone()),
        };
        let kind = TaskKind::Wait {
            service_name,
            recipe,
            field,
            assertion,
            target_value,
            interval,
            timeout,
        };
        let (_, uuid) = record(ctx, kind, d, at);
        Ok(result_dict(&uuid, main, &extract).to_value(eval.heap()))
    }

    fn verify<'v>(
        #[starlark(this)] _this: Value<'v>,
        value: Option<Value<'v>>,
        assertion: Option<Value<'v>>,
        target_value: Option<Value<'v>>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let ctx = Context::from_eval(eval)?;
        let (from, at) = call_site(eval);
        let mut a = Args::for_instruction("verify");
        let value = a.owned("value", value);
        let value = a.required("value", value);
        let value = a.string("value", &value).unwrap_or_default();
        let target = a.owned_keep_none("target_value", target_value);
        let target = a.required("target_value", target);
        let assertion = assertion_arg(&mut a, assertion, &target);
        let d = common_description(&mut a, description);
        a.finish()?;
        let target = target.unwrap_or(Owned::None);
        let (value, target_value) = convert(ctx, &at, from.as_ref(), "verify", |c| {
            (c.expr("value", &value), c.data(&target))
        })?;
        record(
            ctx,
            TaskKind::Verify {
                value,
                assertion,
                target_value,
            },
            d,
            at,
        );
        Ok(Value::new_none())
    }

    fn print<'v>(
        #[starlark(this)] _this: Value<'v>,
        msg: Option<Value<'v>>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let ctx = Context::from_eval(eval)?;
        let (from, at) = call_site(eval);
        let mut a = Args::for_instruction("print");
        let text = match msg {
            None => {
                a.fail("msg", "is required");
                String::new()
            }
            Some(v) => match v.unpack_str() {
                Some(s) => s.to_owned(),
                None => v.to_str(),
            },
        };
        let d = common_description(&mut a, description);
        a.finish()?;
        let message = convert(ctx, &at, from.as_ref(), "print", |c| c.expr("msg", &text))?;
        record(ctx, TaskKind::Print { message }, d, at);
        Ok(Value::new_none())
    }

    fn run_sh<'v>(
        #[starlark(this)] _this: Value<'v>,
        name: Option<Value<'v>>,
        run: Option<Value<'v>>,
        image: Option<Value<'v>>,
        files: Option<Value<'v>>,
        store: Option<Value<'v>>,
        env_vars: Option<Value<'v>>,
        wait: Option<Value<'v>>,
        acceptable_codes: Option<Value<'v>>,
        skip_code_check: Option<Value<'v>>,
        node_selectors: Option<Value<'v>>,
        tolerations: Option<Value<'v>>,
        privileged: Option<Value<'v>>,
        host_pid_namespace: Option<Value<'v>>,
        bind_mounts: Option<Value<'v>>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let ctx = Context::from_eval(eval)?;
        let (from, at) = call_site(eval);
        let mut a = Args::for_instruction("run_sh");
        let name = task_name(ctx, &mut a, name);
        let run = a.owned("run", run);
        let run = a.required("run", run);
        let run = a.string("run", &run).unwrap_or_default();
        let image = task_image(ctx, &mut a, image, RUN_SH_IMAGE, &at, from.as_ref())?;
        let files = task_files(&mut a, files);
        let env = a.owned("env_vars", env_vars);
        let env = a.string_dict("env_vars", &env).unwrap_or_default();
        let wait = task_wait(&mut a, wait);
        let acceptable_codes = codes(&mut a, acceptable_codes, &[0]);
        let skip = a.owned("skip_code_check", skip_code_check);
        let skip_code_check = a.boolean("skip_code_check", &skip).unwrap_or(false);
        let ns = a.owned("node_selectors", node_selectors);
        let node_selectors: BTreeMap<String, String> = a
            .string_dict("node_selectors", &ns)
            .unwrap_or_default()
            .into_iter()
            .collect();
        let tolerations = tolerations_arg(ctx, &mut a, tolerations, &at, from.as_ref())?;
        let p = a.owned("privileged", privileged);
        let privileged = a.boolean("privileged", &p).unwrap_or(false);
        let h = a.owned("host_pid_namespace", host_pid_namespace);
        let host_pid_namespace = a.boolean("host_pid_namespace", &h).unwrap_or(false);
        let b = a.owned("bind_mounts", bind_mounts);
        let bind_mounts: BTreeMap<String, String> = a
            .string_dict("bind_mounts", &b)
            .unwrap_or_default()
            .into_iter()
            .collect();
        let d = common_description(&mut a, description);
        if (privileged || host_pid_namespace || !bind_mounts.is_empty()) && !ctx.allow_privileged {
            a.fail("privileged", "this run did not opt in to privileged tasks; pass --privileged if you trust this package");
        }
        let store = task_store(ctx, &mut a, store);
        a.finish()?;
        let (run, env_vars, files) = convert(ctx, &at, from.as_ref(), "run_sh", |c| {
            let run = c.expr("run", &run);
            let env: BTreeMap<_, _> = env
                .iter()
                .map(|(k, v)| (k.clone(), c.expr(&format!("env_vars[{k:?}]"), v)))
                .collect();
            let files: BTreeMap<_, _> = files
                .iter()
                .map(|(k, v)| (k.clone(), c.plain("files", v)))
                .collect();
            (run, env, files)
        })?;
        let kind = TaskKind::RunSh {
            name,
            run,
            image,
            files,
            store: store.clone(),
            env_vars,
            wait,
            acceptable_codes,
            skip_code_check,
            node_selectors,
            tolerations,
            privileged,
            host_pid_namespace,
            bind_mounts,
        };
        let (_, uuid) = record(ctx, kind, d, at);
        Ok(task_result(&uuid, &store).to_value(eval.heap()))
    }

    fn run_python<'v>(
        #[starlark(this)] _this: Value<'v>,
        name: Option<Value<'v>>,
        run: Option<Value<'v>>,
        args: Option<Value<'v>>,
        packages: Option<Value<'v>>,
        image: Option<Value<'v>>,
        files: Option<Value<'v>>,
        store: Option<Value<'v>>,
        wait: Option<Value<'v>>,
        acceptable_codes: Option<Value<'v>>,
        skip_code_check: Option<Value<'v>>,
        node_selectors: Option<Value<'v>>,
        tolerations: Option<Value<'v>>,
        description: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> starlark::Result<Value<'v>> {
        let ctx = Context::from_eval(eval)?;
        let (from, at) = call_site(eval);
        let mut a = Args::for_instruction("run_python");
        let name = task_name(ctx, &mut a, name);
        let run = a.owned("run", run);
        let run = a.required("run", run);
        let run = a.string("run", &run).unwrap_or_default();
        let args_o = a.owned("args", args);
        let args_v = a.string_list("args", &args_o).unwrap_or_default();
        let pk = a.owned("packages", packages);
        let packages = a.string_list("packages", &pk).unwrap_or_default();
        let image = task_image(ctx, &mut a, image, RUN_PYTHON_IMAGE, &at, from.as_ref())?;
        let files = task_files(&mut a, files);
        let wait = task_wait(&mut a, wait);
        let acceptable_codes = codes(&mut a, acceptable_codes, &[0]);
        let skip = a.owned("skip_code_check", skip_code_check);
        let skip_code_check = a.boolean("skip_code_check", &skip).unwrap_or(false);
        let ns = a.owned("node_selectors", node_selectors);
        let node_selectors: BTreeMap<String, String> = a
            .string_dict("node_selectors", &ns)
            .unwrap_or_default()
            .into_iter()
            .collect();
        let tolerations = tolerations_arg(ctx, &mut a, tolerations, &at, from.as_ref())?;
        let d = common_description(&mut a, description);
        let store = task_store(ctx, &mut a, store);
        a.finish()?;
        let (run, args, files) = convert(ctx, &at, from.as_ref(), "run_python", |c| {
            let run = c.plain("run", &run);
            let args: Vec<_> = args_v.iter().map(|s| c.expr("args", s)).collect();
            let files: BTreeMap<_, _> = files
                .iter()
                .map(|(k, v)| (k.clone(), c.plain("files", v)))
                .collect();
            (run, args, files)
        })?;
        let kind = TaskKind::RunPython {
            name,
            run,
            args,
            packages,
            image,
            files,
            store: store.clone(),
            wait,
            acceptable_codes,
            skip_code_check,
            node_selectors,
            tolerations,
        };
        let (_, uuid) = record(ctx, kind, d, at);
        Ok(task_result(&uuid, &store).to_value(eval.heap()))
    }
}
