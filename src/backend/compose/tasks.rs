//! Tasks in Compose. `run_sh`/`run_python` become one-shot services (`restart: "no"`)
//! that later services wait for with `service_completed_successfully`, copying their
//! `store` paths into named volumes; `request` becomes a one-shot `wget` from the
//! target's image; `exec` becomes a `post_start` hook of its service (Compose 2.30+);
//! `wait` is part of the service's healthcheck ([`super::health`]); `verify` with values
//! known at compile time is checked now; `print` is reported as not lowered.

use super::artifacts::task_mounts;
use super::health::wget_argv;
use super::model::{ComposeService, Condition, Hook};
use super::{shell, Ctx, Placement};
use crate::diagnostic::Diagnostic;
use crate::ir::{
    Assertion, Data, Image, Part, RuntimeRef, StrExpr, Task, TaskField, TaskId, TaskKind,
};
use std::collections::BTreeMap;

pub fn lower(cx: &mut Ctx) {
    let ids: Vec<TaskId> = cx.plan.task_ids().collect();
    let code_checks = code_verifies(cx);
    for t in ids {
        let task = cx.plan.task(t);
        match &task.kind {
            TaskKind::RunSh { .. } | TaskKind::RunPython { .. } => {
                let Some(name) = cx.task_names.get(&t).cloned() else {
                    continue;
                };
                let verified = code_checks.get(&t).map(String::as_str).unwrap_or("");
                let Some(job) = Job::of(cx, task) else {
                    continue;
                };
                let mut svc = one_shot(cx, t, task, &name, &job, verified);
                if let TaskKind::RunSh {
                    env_vars,
                    privileged,
                    host_pid_namespace,
                    bind_mounts,
                    ..
                } = &task.kind
                {
                    for (k, v) in env_vars {
                        let place = format!("env var {k} of run_sh");
                        if let Some(v) = cx.text(v, &task.at, &place) {
                            svc.environment.insert(k.clone(), v);
                        }
                    }
                    svc.privileged = privileged.then_some(true);
                    svc.pid = host_pid_namespace.then(|| "host".to_owned());
                    for (host, container) in bind_mounts {
                        svc.volumes.push(format!("{host}:{container}"));
                    }
                }
                add(cx, t, name, svc);
            }
            TaskKind::Request {
                service_name,
                recipe,
                acceptable_codes,
                skip_code_check,
            } => {
                let Some(name) = cx.task_names.get(&t).cloned() else {
                    continue;
                };
                let Some(target) = final_target(cx, service_name, task) else {
                    continue;
                };
                let svc = cx.plan.service(target);
                let Some(port) = svc.config.ports.get(&recipe.port_id) else {
                    continue;
                };
                let target_name = cx.svc_names[&target].clone();
                let authority = format!("{target_name}:{}", port.number);
                let Some(argv) =
                    wget_argv(cx, recipe, &authority, &task.at, "the body of plan.request")
                else {
                    continue;
                };
                // The status of the last response, checked against the acceptable
                // codes (Kurtosis's default: any code; no response is an error).
                let accept = if *skip_code_check || acceptable_codes.is_empty() {
                    "[ -n \"$code\" ]".to_owned()
                } else {
                    let pat = acceptable_codes
                        .iter()
                        .map(|c| c.to_string())
                        .collect::<Vec<_>>()
                        .join("|");
                    format!("case \"$code\" in {pat}) ;; *) echo \"plan.request: status '$code' is not acceptable\" >&2; exit 1;; esac")
                };
                // Folded `plan.verify(result["code"], ...)`s compare `$rc`.
                let verified = code_checks.get(&t).map(String::as_str).unwrap_or("");
                let script = format!(
                    "code=$({}); {accept}{}",
                    super::health::status_code_pipeline(&argv),
                    if verified.is_empty() {
                        String::new()
                    } else {
                        format!("; rc=$code; {verified}exit 0")
                    }
                );
                let (entrypoint, command) = (
                    vec!["/bin/sh".to_owned(), "-c".to_owned()],
                    vec![script],
                );
                let svc = ComposeService {
                    image: svc.config.image.reference().to_owned(),
                    entrypoint: Some(entrypoint),
                    command: Some(command),
                    restart: Some("no".into()),
                    ..ComposeService::default()
                };
                cx.need(&name, &target_name, Condition::Started);
                add(cx, t, name, svc);
            }
            TaskKind::Exec {
                service_name,
                recipe,
                acceptable_codes,
                skip_code_check,
            } => {
                let Some(target) = final_target(cx, service_name, task) else {
                    continue;
                };
                let Some(argv) = cx.texts(&recipe.command, &task.at, "the command of plan.exec")
                else {
                    continue;
                };
                let verified = code_checks.get(&t).map(String::as_str).unwrap_or("");
                let name = cx.svc_names[&target].clone();
                // Kurtosis runs an exec once the service is ready; a post_start hook
                // runs as the container starts, so it first waits for the service's
                // healthcheck to pass (at most as long as the healthcheck allows).
                let ready = cx
                    .project
                    .services
                    .get(&name)
                    .and_then(|s| s.healthcheck.as_ref())
                    .and_then(ready_wait);
                let command = match (code_check(acceptable_codes, *skip_code_check), verified, ready) {
                    (None, "", None) => argv,
                    (check, verified, ready) => [
                        vec![
                            "/bin/sh".to_owned(),
                            "-c".to_owned(),
                            format!(
                                "{}\"$0\" \"$@\"; rc=$?; {}{verified}exit 0",
                                ready.unwrap_or_default(),
                                check.unwrap_or_else(|| "[ $rc -eq 0 ] || exit $rc; ".into())
                            ),
                        ],
                        argv,
                    ]
                    .concat(),
                };
                if let Some(s) = cx.project.services.get_mut(&name) {
                    s.post_start.push(Hook { command });
                }
            }
            TaskKind::Wait { .. } => {}
            TaskKind::Verify {
                value,
                assertion,
                target_value,
            } => {
                if folded_code(cx, value).is_none()
                    || shell::test("\"$rc\"", *assertion, target_value).is_none()
                {
                    verify(cx, task, value, *assertion, target_value);
                }
            }
            TaskKind::Print { .. } => cx.diags.push(
                Diagnostic::warning(
                    "KP210",
                    "plan.print has no Compose equivalent; the message is not part of the Compose project",
                    Some(task.at.clone()),
                ),
            ),
        }
    }
}

/// The task whose exit code (or HTTP status) alone is `value`, when that task becomes a
/// container or hook that can check it (`exec`, `run_sh`, `run_python`, `request`).
fn folded_code(cx: &Ctx, value: &StrExpr) -> Option<TaskId> {
    let [Part::Ref(RuntimeRef::Task {
        task,
        field: TaskField::Code,
    })] = value.parts()
    else {
        return None;
    };
    match &cx.plan.task(*task).kind {
        TaskKind::Exec { .. }
        | TaskKind::RunSh { .. }
        | TaskKind::RunPython { .. }
        | TaskKind::Request { .. } => Some(*task),
        TaskKind::Wait { .. } | TaskKind::Verify { .. } | TaskKind::Print { .. } => None,
    }
}

/// `plan.verify(result["code"], ...)` on an exec/run_sh/run_python/request: the comparison
/// runs right after the command in the same hook or container, which then fails as
/// Kurtosis would. Returns shell text per task (`[ "$rc" -eq 0 ] || exit 1; `...).
fn code_verifies(cx: &Ctx) -> BTreeMap<TaskId, String> {
    let mut out: BTreeMap<TaskId, String> = BTreeMap::new();
    for t in cx.plan.task_ids() {
        let TaskKind::Verify {
            value,
            assertion,
            target_value,
        } = &cx.plan.task(t).kind
        else {
            continue;
        };
        let Some(producer) = folded_code(cx, value) else {
            continue;
        };
        if let Some(test) = shell::test("\"$rc\"", *assertion, target_value) {
            out.entry(producer)
                .or_default()
                .push_str(&format!("{test} || exit 1; "));
        }
    }
    out
}

/// Shell text that polls a healthcheck's test until it passes, giving up (exit 1)
/// after its retries: `n=0; until TEST; do ...; done; `.
fn ready_wait(h: &super::model::Healthcheck) -> Option<String> {
    let test = match h.test.split_first()? {
        (kind, rest) if kind == "CMD" => shell::join(rest),
        (kind, [line]) if kind == "CMD-SHELL" => line.clone(),
        _ => return None,
    };
    let secs = crate::ir::GoDuration::parse(&h.interval)
        .map(|d| d.as_std().as_secs().max(1))
        .unwrap_or(1);
    let tries = (h.retries
        * crate::ir::GoDuration::parse(&h.interval)
            .map(|d| d.0)
            .unwrap_or(1_000_000_000))
    .div_ceil(secs * 1_000_000_000)
    .max(1);
    Some(format!(
        "n=0; until {test}; do n=$((n+1)); [ $n -ge {tries} ] && {{ echo 'the service did not become ready' >&2; exit 1; }}; sleep {secs}; done; "
    ))
}

fn add(cx: &mut Ctx, t: TaskId, name: String, svc: ComposeService) {
    cx.project.services.insert(name.clone(), svc);
    if let Some(step) = cx.info.task_step(t) {
        cx.owners.push((name, step));
    }
}

/// The final service an exec/request runs against, or a KP202 error.
fn final_target(cx: &mut Ctx, service_name: &str, task: &Task) -> Option<crate::ir::ServiceId> {
    let id = cx.info.final_service(service_name).as_ref().copied();
    if id.is_none() {
        cx.diags.push(Diagnostic::error(
            "KP202",
            format!(
                "plan.{} runs against service '{service_name}', which the package removes later; a Compose project holds only the services that exist at the end",
                task.kind.instruction()
            ),
            Some(task.at.clone()),
        ));
    }
    id
}

/// A shell snippet (ending in "; ") that exits with `$rc` unless it is acceptable;
/// `None` when the plain exit status already means the same (`[0]`).
fn code_check(codes: &[i64], skip: bool) -> Option<String> {
    if skip {
        return Some(String::new());
    }
    if codes == [0] {
        return None;
    }
    let pat = codes
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join("|");
    Some(format!("case $rc in {pat}) ;; *) exit $rc;; esac; "))
}

/// What a `run_sh`/`run_python` runs: `core` is the argv that does the work (`None`
/// when a run-time value in it was reported).
struct Job<'a> {
    image: &'a Image,
    files: &'a BTreeMap<String, String>,
    core: Option<Vec<String>>,
    packages: &'a [String],
    codes: &'a [i64],
    skip: bool,
}

impl<'a> Job<'a> {
    fn of(cx: &mut Ctx, task: &'a Task) -> Option<Job<'a>> {
        match &task.kind {
            TaskKind::RunSh {
                run,
                image,
                files,
                acceptable_codes,
                skip_code_check,
                ..
            } => {
                let script = cx.text(run, &task.at, "the script of run_sh");
                Some(Job {
                    image,
                    files,
                    core: script.map(|s| vec!["/bin/sh".to_owned(), "-c".to_owned(), s]),
                    packages: &[],
                    codes: acceptable_codes,
                    skip: *skip_code_check,
                })
            }
            TaskKind::RunPython {
                run,
                args,
                packages,
                image,
                files,
                acceptable_codes,
                skip_code_check,
                ..
            } => {
                let args = cx.texts(args, &task.at, "the args of run_python");
                let core = args.map(|a| {
                    let head = ["python", "-u", "-c"].map(String::from);
                    [head.to_vec(), vec![run.clone()], a].concat()
                });
                Some(Job {
                    image,
                    files,
                    core,
                    packages,
                    codes: acceptable_codes,
                    skip: *skip_code_check,
                })
            }
            TaskKind::Exec { .. }
            | TaskKind::Request { .. }
            | TaskKind::Wait { .. }
            | TaskKind::Verify { .. }
            | TaskKind::Print { .. } => None,
        }
    }
}

/// A `run_sh`/`run_python` container: a wrapper shell installs packages, maps
/// acceptable exit codes to success, runs folded `verify`s and copies the `store`
/// paths into their volumes when any of those is needed.
fn one_shot(
    cx: &mut Ctx,
    t: TaskId,
    task: &Task,
    name: &str,
    job: &Job,
    verified: &str,
) -> ComposeService {
    let Job {
        image,
        files,
        packages,
        codes,
        skip,
        ..
    } = *job;
    let mut volumes = task_mounts(cx, name, files, &task.at);
    let mut store = String::new();
    let stored = cx.info.task_artifacts(t).to_vec();
    for (i, a) in stored.iter().enumerate() {
        let src = match &cx.plan.artifact(*a).source {
            crate::ir::ArtifactSource::TaskStore { src, .. } => src.clone(),
            crate::ir::ArtifactSource::Upload { .. }
            | crate::ir::ArtifactSource::Templates { .. }
            | crate::ir::ArtifactSource::ServiceFiles { .. } => continue,
        };
        if let Some(Placement::Volume { volume, .. }) = cx.placements.get(a) {
            volumes.push(format!("{volume}:/kplan/store/{i}"));
            let src = if src.contains(['*', '?', '[']) && !src.contains(char::is_whitespace) {
                src
            } else {
                shell::quote(&src)
            };
            store.push_str(&format!("cp -a {src} /kplan/store/{i}/ || exit 1; "));
        }
    }
    let check = code_check(codes, skip);
    let install = if packages.is_empty() {
        String::new()
    } else {
        let p: Vec<String> = packages.iter().map(|p| shell::quote(p)).collect();
        format!("pip install -q {} || exit 1; ", p.join(" "))
    };
    let core = job.core.clone().unwrap_or_default();
    let (entrypoint, command) =
        if store.is_empty() && install.is_empty() && check.is_none() && verified.is_empty() {
            match core.split_first() {
                Some((first, rest)) if first == "/bin/sh" => (
                    vec!["/bin/sh".to_owned(), "-c".to_owned()],
                    rest.iter().skip(1).cloned().collect(),
                ),
                Some((first, rest)) => (vec![first.clone()], rest.to_vec()),
                None => (Vec::new(), Vec::new()),
            }
        } else {
            let wrapper = format!(
                "{install}\"$0\" \"$@\"; rc=$?; {}{verified}{store}exit 0",
                check.unwrap_or_else(|| "[ $rc -eq 0 ] || exit $rc; ".into())
            );
            (
                vec!["/bin/sh".to_owned(), "-c".to_owned()],
                [vec![wrapper], core].concat(),
            )
        };
    let mut build = None;
    let who = format!("{} '{name}'", task.kind.instruction());
    let image = super::services::image(cx, image, &who, &task.at, &mut build);
    ComposeService {
        image,
        build,
        entrypoint: Some(entrypoint),
        command: Some(command),
        volumes,
        // Kurtosis runs tasks under tini.
        init: Some(true),
        restart: Some("no".into()),
        ..ComposeService::default()
    }
}

/// `value` against a numeric `target`, as numbers; `None` when either is not a number.
fn compare(value: &str, target: &Data) -> Option<std::cmp::Ordering> {
    let a = value.parse::<f64>().ok()?;
    let b = shell::data_text(target)?.parse::<f64>().ok()?;
    a.partial_cmp(&b)
}

/// `verify` with values known now is checked at compile time; a run-time value in it
/// is a KP201 error (reported by `text`).
fn verify(cx: &mut Ctx, task: &Task, value: &StrExpr, assertion: Assertion, target: &Data) {
    let Some(v) = cx.text(value, &task.at, "plan.verify") else {
        return;
    };
    let holds = match assertion {
        Assertion::In | Assertion::NotIn => match target {
            Data::List(items) => {
                let found = items
                    .iter()
                    .filter_map(shell::data_text)
                    .any(|t| same(&v, &t));
                Some(found == (assertion == Assertion::In))
            }
            Data::Null | Data::Bool(_) | Data::Number(_) | Data::Str(_) | Data::Object(_) => None,
        },
        Assertion::Eq | Assertion::Ne => {
            shell::data_text(target).map(|t| same(&v, &t) == (assertion == Assertion::Eq))
        }
        Assertion::Ge => compare(&v, target).map(|o| o.is_ge()),
        Assertion::Le => compare(&v, target).map(|o| o.is_le()),
        Assertion::Gt => compare(&v, target).map(|o| o.is_gt()),
        Assertion::Lt => compare(&v, target).map(|o| o.is_lt()),
    };
    match holds {
        Some(true) => {}
        Some(false) => cx.diags.push(
            Diagnostic::error(
                "KP206",
                format!(
                    "plan.verify fails: {v:?} {} {} is false",
                    assertion.as_str(),
                    serde_json::to_string(target).unwrap_or_default()
                ),
                Some(task.at.clone()),
            )
            .with_hint("the values are known at compile time; fix the value or the assertion"),
        ),
        None => cx.diags.push(Diagnostic::warning(
            "KP211",
            "plan.verify cannot be evaluated at compile time and has no Compose equivalent; it is not checked",
            Some(task.at.clone()),
        )),
    }
}

fn same(a: &str, b: &str) -> bool {
    a == b || matches!((a.parse::<f64>(), b.parse::<f64>()), (Ok(x), Ok(y)) if x == y)
}
