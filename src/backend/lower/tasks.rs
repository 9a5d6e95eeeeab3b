//! Tasks in the model: `run_sh`/`run_python` become [`Program`] jobs, `request` a
//! request job against the final service, `exec` a hook of its service; a
//! `verify` of a task's code is folded into that task, one with values known now is
//! checked now (KP206), others cannot be lowered; `wait` is part of the service's
//! readiness; `print` has no equivalent (KP210).

use super::program::{endpoint, CodeVerify, Codes, ExecCall, HttpCall, Program, RequestCall};
use super::script;
use super::text::Use;
use super::{Builder, Condition, JobKind, NodeId};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{
    Assertion, Data, Part, RuntimeRef, ServiceId, StrExpr, Task, TaskField, TaskId, TaskKind,
};
use std::collections::BTreeMap;

pub(crate) fn lower(b: &mut Builder) {
    let plan = b.r.plan;
    let verifies = code_verifies(b);
    for t in plan.task_ids() {
        let task = plan.task(t);
        let step = b.r.info.task_step(t).unwrap_or(0);
        let verify = verifies.get(&t).cloned().unwrap_or_default();
        match &task.kind {
            TaskKind::RunSh { name, .. } | TaskKind::RunPython { name, .. } => {
                let me = b.next_job();
                if let Some(program) = program(b, t, task, NodeId::Job(me), verify) {
                    let job = b.add_job(JobKind::Task(Box::new(program)), step, name.clone());
                    b.m.task_jobs.insert(t, job);
                }
            }
            TaskKind::Request {
                service_name,
                recipe,
                acceptable_codes,
                skip_code_check,
            } => {
                let Some(target) = final_target(b, t, task) else {
                    continue;
                };
                let svc = plan.service(target);
                let Some(port) = svc.config.ports.get(&recipe.port_id) else {
                    continue;
                };
                let me = b.next_job();
                let body = match &recipe.body {
                    Some(e) => {
                        let u = Use::read_by(&task.at, "the body of plan.request", NodeId::Job(me));
                        match b.r.text(e, &u) {
                            Some(t) => Some(t),
                            None => continue,
                        }
                    }
                    None => None,
                };
                let request = JobKind::Request(RequestCall {
                    task: t,
                    call: HttpCall {
                        service: target,
                        port: port.number,
                        method: recipe.method,
                        endpoint: endpoint(&recipe.endpoint),
                        headers: recipe.headers.clone(),
                        content_type: recipe.content_type.clone(),
                        body,
                    },
                    codes: Codes {
                        acceptable: acceptable_codes.clone(),
                        skip: *skip_code_check,
                    },
                    verify,
                    results: Default::default(),
                });
                let job = b.add_job(request, step, format!("request-{service_name}"));
                b.m.task_jobs.insert(t, job);
                b.need(
                    NodeId::Job(job),
                    NodeId::Service(target),
                    Condition::Started,
                );
            }
            TaskKind::Exec {
                recipe,
                acceptable_codes,
                skip_code_check,
                ..
            } => {
                let Some(target) = final_target(b, t, task) else {
                    continue;
                };
                let u = Use::read_by(
                    &task.at,
                    "the command of plan.exec",
                    NodeId::Service(target),
                );
                let Some(argv) = b.r.texts(&recipe.command, &u) else {
                    continue;
                };
                if let Some(s) = b.m.services.get_mut(&target) {
                    s.hooks.push(ExecCall {
                        task: t,
                        service: target,
                        argv,
                        codes: Codes {
                            acceptable: acceptable_codes.clone(),
                            skip: *skip_code_check,
                        },
                        verify,
                        results: Default::default(),
                    });
                }
            }
            TaskKind::Wait { .. } => {}
            TaskKind::Verify {
                value,
                assertion,
                target_value,
            } => {
                if folded_code(b, value).is_none()
                    || script::test("\"$rc\"", *assertion, target_value).is_none()
                {
                    verify_task(b, t, task, value, *assertion, target_value);
                }
            }
            TaskKind::Print { .. } => b.r.diags.push(Diagnostic::warning(
                Code::KP210,
                format!(
                    "plan.print has no {} equivalent; the message is not part of {}",
                    b.r.words.target, b.r.words.the_project
                ),
                Some(task.at.clone()),
            )),
        }
    }
}

/// The program of a `run_sh`/`run_python`, read by job `me`.
fn program(
    b: &mut Builder,
    t: TaskId,
    task: &Task,
    me: NodeId,
    verify: Vec<CodeVerify>,
) -> Option<Program> {
    let (name, image, files, acceptable_codes, skip, wait) = match &task.kind {
        TaskKind::RunSh {
            name,
            image,
            files,
            acceptable_codes,
            skip_code_check,
            wait,
            ..
        }
        | TaskKind::RunPython {
            name,
            image,
            files,
            acceptable_codes,
            skip_code_check,
            wait,
            ..
        } => (
            name,
            image,
            files,
            acceptable_codes,
            *skip_code_check,
            *wait,
        ),
        TaskKind::Exec { .. }
        | TaskKind::Request { .. }
        | TaskKind::Wait { .. }
        | TaskKind::Verify { .. }
        | TaskKind::Print { .. } => return None,
    };
    let mut p = Program {
        task: t,
        instruction: task.kind.instruction(),
        name: name.clone(),
        image: image.clone(),
        setup: None,
        argv: Vec::new(),
        env: BTreeMap::new(),
        // Each name as the version current at this task (validated to exist).
        files: files
            .iter()
            .filter_map(|(dir, n)| Some((dir.clone(), b.r.info.task_mount(t, n)?)))
            .collect(),
        codes: Codes {
            acceptable: acceptable_codes.clone(),
            skip,
        },
        verify,
        store: store_sources(b, t),
        privileged: false,
        host_pid: false,
        binds: BTreeMap::new(),
        timeout: wait,
        results: Default::default(),
    };
    for a in p.files.values() {
        b.mounts(me, *a);
    }
    match &task.kind {
        TaskKind::RunSh {
            run,
            env_vars,
            privileged,
            host_pid_namespace,
            bind_mounts,
            ..
        } => {
            let u = Use::read_by(&task.at, "the script of run_sh", me);
            p.argv = b.r.text(run, &u).map(Program::shell).unwrap_or_default();
            for (k, v) in env_vars {
                let place = format!("env var {k} of run_sh");
                let u = Use::read_by(&task.at, &place, me);
                if let Some(v) = b.r.text(v, &u) {
                    p.env.insert(k.clone(), v);
                }
            }
            p.privileged = *privileged;
            p.host_pid = *host_pid_namespace;
            p.binds = bind_mounts.clone();
        }
        TaskKind::RunPython {
            run,
            args,
            packages,
            ..
        } => {
            let u = Use::read_by(&task.at, "the args of run_python", me);
            p.argv =
                b.r.texts(args, &u)
                    .map(|a| Program::python(run, a))
                    .unwrap_or_default();
            p.setup = Program::pip_install(packages);
        }
        TaskKind::Exec { .. }
        | TaskKind::Request { .. }
        | TaskKind::Wait { .. }
        | TaskKind::Verify { .. }
        | TaskKind::Print { .. } => {}
    }
    Some(p)
}

/// The `store` sources of a task, in store order.
fn store_sources(b: &Builder, t: TaskId) -> Vec<String> {
    b.r.info
        .task_artifacts(t)
        .iter()
        .filter_map(|a| match &b.r.plan.artifact(*a).source {
            crate::ir::ArtifactSource::TaskStore { src, .. } => Some(src.clone()),
            crate::ir::ArtifactSource::Upload { .. }
            | crate::ir::ArtifactSource::Templates { .. }
            | crate::ir::ArtifactSource::ServiceFiles { .. } => None,
        })
        .collect()
}

/// The final service an exec/request runs against, or a KP202 error.
fn final_target(b: &mut Builder, t: TaskId, task: &Task) -> Option<ServiceId> {
    let id = b.r.info.task_service(t).filter(|s| b.r.info.is_final(*s));
    if id.is_none() {
        b.r.diags.push(Diagnostic::error(
            Code::KP202,
            format!(
                "plan.{} runs against service '{}', which the package removes later; {} holds only the services that exist at the end",
                task.kind.instruction(),
                task.kind.service_name().unwrap_or_default(),
                b.r.words.project
            ),
            Some(task.at.clone()),
        ));
    }
    id
}

/// The task whose exit code (or HTTP status) alone is `value`, when that task runs
/// where the code can be checked (`exec`, `run_sh`, `run_python`, `request`).
fn folded_code(b: &Builder, value: &StrExpr) -> Option<TaskId> {
    let [Part::Ref(RuntimeRef::Task {
        task,
        field: TaskField::Code,
    })] = value.parts()
    else {
        return None;
    };
    match &b.r.plan.task(*task).kind {
        TaskKind::Exec { .. }
        | TaskKind::RunSh { .. }
        | TaskKind::RunPython { .. }
        | TaskKind::Request { .. } => Some(*task),
        TaskKind::Wait { .. } | TaskKind::Verify { .. } | TaskKind::Print { .. } => None,
    }
}

/// `plan.verify(result["code"], ...)` of an exec/run_sh/run_python/request whose
/// comparison a shell test can express: folded into that task, which then fails as
/// Kurtosis would.
fn code_verifies(b: &Builder) -> BTreeMap<TaskId, Vec<CodeVerify>> {
    let mut out: BTreeMap<TaskId, Vec<CodeVerify>> = BTreeMap::new();
    for t in b.r.plan.task_ids() {
        let TaskKind::Verify {
            value,
            assertion,
            target_value,
        } = &b.r.plan.task(t).kind
        else {
            continue;
        };
        let Some(producer) = folded_code(b, value) else {
            continue;
        };
        if script::test("\"$rc\"", *assertion, target_value).is_some() {
            out.entry(producer).or_default().push(CodeVerify {
                assertion: *assertion,
                target: target_value.clone(),
            });
        }
    }
    out
}

/// `value` against a numeric `target`, as numbers; `None` when either is not a number.
fn compare(value: &str, target: &Data) -> Option<std::cmp::Ordering> {
    let a = value.parse::<f64>().ok()?;
    let b = script::data_text(target)?.parse::<f64>().ok()?;
    a.partial_cmp(&b)
}

fn same(a: &str, b: &str) -> bool {
    a == b || matches!((a.parse::<f64>(), b.parse::<f64>()), (Ok(x), Ok(y)) if x == y)
}

/// A `verify` of a run-time value becomes a job that checks it when it exists (when a
/// shell test can express the comparison, else it is not checked: KP211); one whose
/// values are known now is checked now (KP206 when it fails).
fn verify_task(
    b: &mut Builder,
    t: TaskId,
    task: &Task,
    value: &StrExpr,
    assertion: Assertion,
    target: &Data,
) {
    let runtime = value.refs().any(|r| matches!(r, RuntimeRef::Task { .. }));
    let testable = script::test("\"$v\"", assertion, target).is_some();
    if runtime && !testable && b.r.values.carries() {
        b.r.diags.push(
            Diagnostic::warning(
                Code::KP211,
                format!(
                    "plan.verify compares a run-time value in a way a shell test cannot express ({} {}); {} does not check it",
                    assertion.as_str(),
                    serde_json::to_string(target).unwrap_or_default(),
                    b.r.words.the_project
                ),
                Some(task.at.clone()),
            )
            .with_hint("compare with ==, != or IN against strings or integers, or deploy with `kplan apply`"),
        );
        return;
    }
    let me = b.next_job();
    let u = if runtime {
        Use::read_by(&task.at, "plan.verify", NodeId::Job(me))
    } else {
        Use::fixed(&task.at, "plan.verify")
    };
    let Some(v) = b.r.text(value, &u) else {
        return;
    };
    if v.has_values() {
        let step = b.r.info.task_step(t).unwrap_or(0);
        let job = b.add_job(
            JobKind::Verify {
                task: t,
                value: v,
                assertion,
                target: target.clone(),
            },
            step,
            "verify".into(),
        );
        b.m.verify_jobs.insert(t, job);
        return;
    }
    let plan = b.r.plan;
    let Some(v) = v.render_static(|id, _| plan.service(id).name.clone()) else {
        return;
    };
    let holds = match assertion {
        Assertion::In | Assertion::NotIn => match target {
            Data::List(items) => {
                let found = items
                    .iter()
                    .filter_map(script::data_text)
                    .any(|t| same(&v, &t));
                Some(found == (assertion == Assertion::In))
            }
            Data::Null | Data::Bool(_) | Data::Number(_) | Data::Str(_) | Data::Object(_) => None,
        },
        Assertion::Eq | Assertion::Ne => {
            script::data_text(target).map(|t| same(&v, &t) == (assertion == Assertion::Eq))
        }
        Assertion::Ge => compare(&v, target).map(|o| o.is_ge()),
        Assertion::Le => compare(&v, target).map(|o| o.is_le()),
        Assertion::Gt => compare(&v, target).map(|o| o.is_gt()),
        Assertion::Lt => compare(&v, target).map(|o| o.is_lt()),
    };
    match holds {
        Some(true) => {}
        Some(false) => b.r.diags.push(
            Diagnostic::error(
                Code::KP206,
                format!(
                    "plan.verify fails: {v:?} {} {} is false",
                    assertion.as_str(),
                    serde_json::to_string(target).unwrap_or_default()
                ),
                Some(task.at.clone()),
            )
            .with_hint("the values are known at compile time; fix the value or the assertion"),
        ),
        None => b.r.diags.push(Diagnostic::warning(
            Code::KP211,
            format!("plan.verify cannot be evaluated at compile time and has no {} equivalent; it is not checked", b.r.words.target),
            Some(task.at.clone()),
        )),
    }
}
