//! Running tasks during apply: `exec` (docker exec), `request` (HTTP from this host to
//! the service's address), `wait` (a recipe retried until its assertion holds),
//! `verify`, `print`, and `run_sh`/`run_python` as one-shot containers on the enclave
//! network with their files uploaded and their `store` paths copied out: the shared
//! programs of [`crate::backend::lower::program`] (the same command lines as Compose's,
//! run as argv lists without a shell). Also the ready conditions of the shared model's
//! readiness probes, and the assertion comparison they share with `wait`/`verify`.
//!
//! Here: what a task needs from the apply and [`run`], one arm per kind of task;
//! `recipes` runs recipes and probes (once or polled), `assertions` compares results,
//! `one_shot` runs `run_sh`/`run_python` and uploads files.

mod assertions;
mod one_shot;
mod recipes;

pub use assertions::{assert_holds, field};
pub use one_shot::upload;
pub use recipes::{wait_for, wait_probe};

use super::desired::{self, FileEntry, TaskResult, Values};
use super::engine::Engine;
use crate::backend::lower::{JobKind, Model};
use crate::ir::{ArtifactId, Plan, PlanInfo, Recipe, ServiceId, TaskId, TaskKind};
use anyhow::{anyhow, bail, Result};
use assertions::json_text;
use one_shot::one_shot;
use recipes::recipe_once;
use std::collections::BTreeMap;

/// The files a task stored, by artifact name.
type Stored = BTreeMap<String, Vec<FileEntry>>;

/// Where a service runs, for tasks against it.
#[derive(Debug, Clone)]
pub struct Target {
    pub container: String,
    pub ip: String,
}

/// Fails unless `code` is acceptable (or the check is skipped), showing the start of
/// the output.
fn check_code(code: i64, acceptable: &[i64], skip: bool, what: &str, output: &str) -> Result<()> {
    if skip || acceptable.contains(&code) {
        return Ok(());
    }
    let out = output.trim();
    let cut = out.char_indices().nth(2000).map_or(out.len(), |(i, _)| i);
    let out = &out[..cut];
    bail!("{what} returned {code}, not one of {acceptable:?}; output:\n{out}")
}

/// What a task needs from the apply.
pub struct TaskEnv<'a> {
    pub engine: &'a Engine,
    pub plan: &'a Plan,
    pub enclave: &'a str,
    pub info: &'a PlanInfo,
    /// The shared deployment model (the programs of run_sh/run_python).
    pub model: &'a Model,
    /// Service name -> where it runs.
    pub targets: &'a BTreeMap<String, Target>,
    /// The files of a mounted artifact (the version the task binds to).
    pub files: &'a dyn Fn(ArtifactId) -> Result<std::sync::Arc<Vec<FileEntry>>>,
    pub print: &'a dyn Fn(&str),
}

/// For messages: the task's label.
pub fn label(plan: &Plan, tid: TaskId) -> String {
    desired::task_label(plan, tid)
}

/// Runs one task; its stored artifacts' files are returned by name.
pub fn run(env: &TaskEnv, tid: TaskId, values: &Values) -> Result<(TaskResult, Stored)> {
    let plan = env.plan;
    let t = plan.task(tid);
    let resolve = |e| values.resolve(plan, e).map_err(|w| anyhow!(w));
    let none = BTreeMap::new();
    match &t.kind {
        TaskKind::Exec {
            service_name,
            recipe,
            acceptable_codes,
            skip_code_check,
        } => {
            let recipe = Recipe::Exec(recipe.clone());
            let codes = (acceptable_codes.as_slice(), *skip_code_check);
            Ok((
                checked(env, values, service_name, &recipe, codes, "the command")?,
                none,
            ))
        }
        TaskKind::Request {
            service_name,
            recipe,
            acceptable_codes,
            skip_code_check,
        } => {
            let recipe = Recipe::Http(recipe.clone());
            let codes = (acceptable_codes.as_slice(), *skip_code_check);
            Ok((
                checked(env, values, service_name, &recipe, codes, "the request")?,
                none,
            ))
        }
        TaskKind::Wait {
            service_name,
            recipe,
            field,
            assertion,
            target_value,
            interval,
            timeout,
        } => {
            let (sid, tg) = target(env, service_name)?;
            let tv = values
                .resolve_json(plan, target_value)
                .map_err(|w| anyhow!(w))?;
            let res = wait_for(
                env.engine,
                plan,
                sid,
                &tg,
                recipe,
                field,
                *assertion,
                &tv,
                interval.as_std(),
                timeout.as_std(),
                values,
            )?;
            Ok((res, none))
        }
        TaskKind::Verify {
            value,
            assertion,
            target_value,
        } => {
            let v = resolve(value)?;
            let tv = values
                .resolve_json(plan, target_value)
                .map_err(|w| anyhow!(w))?;
            if !assert_holds(&v, *assertion, &tv) {
                bail!(
                    "verification failed: {v:?} {} {}",
                    assertion.as_str(),
                    json_text(&tv)
                );
            }
            Ok((TaskResult::default(), none))
        }
        TaskKind::Print { message } => {
            let m = resolve(message)?;
            (env.print)(&m);
            Ok((
                TaskResult {
                    output: m,
                    ..Default::default()
                },
                none,
            ))
        }
        TaskKind::RunSh { .. } | TaskKind::RunPython { .. } => run_program(env, tid, values),
    }
}

/// The service a task runs against: its id (when it is a final service) and where it
/// runs.
fn target(env: &TaskEnv, name: &str) -> Result<(Option<ServiceId>, Target)> {
    let sid = env.info.final_service(name);
    let tg = env.targets.get(name).cloned().ok_or_else(|| {
        anyhow!("service '{name}' is not running in this enclave (kplan apply does not run services that the package removes later)")
    })?;
    Ok((sid, tg))
}

/// One recipe run against a service, with its exit or status code checked.
fn checked(
    env: &TaskEnv,
    values: &Values,
    service: &str,
    recipe: &Recipe,
    codes: (&[i64], bool),
    what: &str,
) -> Result<TaskResult> {
    let (sid, tg) = target(env, service)?;
    let res = recipe_once(env.engine, env.plan, sid, &tg, recipe, values)?;
    let text = match recipe {
        Recipe::Exec(_) => &res.output,
        Recipe::Http(_) => &res.body,
    };
    check_code(res.code, codes.0, codes.1, what, text)?;
    Ok(res)
}

/// `run_sh`/`run_python`: the shared program's argv and env resolved, run in a
/// one-shot container.
fn run_program(env: &TaskEnv, tid: TaskId, values: &Values) -> Result<(TaskResult, Stored)> {
    let plan = env.plan;
    let t = plan.task(tid);
    // The shared program: the same command lines Compose runs, as argv lists
    // run without a shell (each package and argument exactly one word).
    let program = env
        .model
        .task_jobs
        .get(&tid)
        .map(|j| &env.model.job(*j).kind)
        .and_then(|k| match k {
            JobKind::Task(p) => Some(p),
            JobKind::Request(_)
            | JobKind::Copy { .. }
            | JobKind::StoreInit
            | JobKind::Extract { .. }
            | JobKind::Render { .. }
            | JobKind::Wait { .. }
            | JobKind::Verify { .. } => None,
        })
        .ok_or_else(|| anyhow!("internal error: no program for {}", t.kind.instruction()))?;
    let text = |t| {
        values
            .resolve_text(plan, env.model, t)
            .map_err(|w| anyhow!(w))
    };
    let argv: Vec<String> = program.argv.iter().map(text).collect::<Result<_>>()?;
    let envs: Vec<String> = program
        .env
        .iter()
        .map(|(k, v)| Ok(format!("{k}={}", text(v)?)))
        .collect::<Result<_>>()?;
    one_shot(env, tid, program, argv, envs)
}
