//! Running tasks during apply: `exec` (docker exec), `request` (HTTP from this host to
//! the service's address), `wait` (a recipe retried until its assertion holds),
//! `verify`, `print`, and `run_sh`/`run_python` as one-shot containers on the enclave
//! network with their files uploaded and their `store` paths copied out: the shared
//! programs of [`crate::backend::lower::program`] (the same command lines as Compose's,
//! run as argv lists without a shell). Also the ready conditions of the shared model's
//! readiness probes, and the assertion comparison they share with `wait`/`verify`.

use super::desired::{self, artifact_from_files, FileEntry, TaskResult, Values};
use super::engine::{ContainerSpec, Engine};
use super::{extract, http, network_name, LABEL_ENCLAVE, LABEL_KIND};
use crate::backend::lower::probe::{Check, Expect, Probe};
use crate::backend::lower::program::Program;
use crate::backend::lower::{JobKind, Model};
use crate::ir::{
    ArtifactId, Assertion, HttpMethod, Plan, PlanInfo, Recipe, ServiceId, TaskField, TaskId,
    TaskKind,
};
use anyhow::{anyhow, bail, Result};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Where a service runs, for tasks against it.
#[derive(Debug, Clone)]
pub struct Target {
    pub container: String,
    pub ip: String,
}

/// A recipe ready to run against a service: its argv, or its HTTP request, with the
/// jq extracts to compute from the result.
enum Call<'a> {
    Exec(Vec<String>),
    Http {
        port: u16,
        method: HttpMethod,
        endpoint: &'a str,
        headers: &'a BTreeMap<String, String>,
        content_type: Option<&'a str>,
        body: Option<String>,
    },
}

/// The result of one run of a call; extracts as Kurtosis computes them (an exec's
/// output as one JSON string, an HTTP body parsed as JSON).
fn call_once(
    engine: &Engine,
    target: &Target,
    call: &Call,
    extracts: &[(&String, &String)],
) -> Result<TaskResult> {
    let mut res = match call {
        Call::Exec(cmd) => {
            let out = engine.exec(&target.container, cmd, &[], Some(Duration::from_secs(300)))?;
            TaskResult {
                code: out.code,
                output: out.output,
                ..Default::default()
            }
        }
        Call::Http {
            port,
            method,
            endpoint,
            headers,
            content_type,
            body,
        } => {
            let headers: Vec<(String, String)> = headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let ct = content_type.unwrap_or("application/json");
            let resp = http::request(
                &target.ip,
                *port,
                *method,
                endpoint,
                &headers,
                body.as_deref().map(|b| (ct, b)),
                Duration::from_secs(30),
            )
            .map_err(|e| anyhow!(e))?;
            TaskResult {
                code: resp.code,
                output: resp.body.clone(),
                body: resp.body,
                ..Default::default()
            }
        }
    };
    for (k, filter) in extracts {
        let input = match call {
            Call::Exec(_) => extract::Input::Text(&res.output),
            Call::Http { .. } => extract::Input::Json(&res.body),
        };
        let v = extract::extract(input, filter).map_err(|e| anyhow!(e))?;
        res.extract.insert((*k).clone(), v);
    }
    Ok(res)
}

/// The result of one recipe run.
fn recipe_once(
    engine: &Engine,
    plan: &Plan,
    sid: Option<ServiceId>,
    target: &Target,
    recipe: &Recipe,
    values: &Values,
) -> Result<TaskResult> {
    match recipe {
        Recipe::Exec(e) => {
            let cmd: Vec<String> = e
                .command
                .iter()
                .map(|c| values.resolve(plan, c).map_err(|w| anyhow!(w)))
                .collect::<Result<_>>()?;
            let extracts: Vec<_> = e.extract.iter().collect();
            call_once(engine, target, &Call::Exec(cmd), &extracts)
        }
        Recipe::Http(h) => {
            let port = sid
                .and_then(|s| plan.service(s).config.ports.get(&h.port_id))
                .map(|p| p.number)
                .ok_or_else(|| anyhow!("service has no port '{}'", h.port_id))?;
            let body = match &h.body {
                Some(b) => Some(values.resolve(plan, b).map_err(|w| anyhow!(w))?),
                None => None,
            };
            let call = Call::Http {
                port,
                method: h.method,
                endpoint: &h.endpoint,
                headers: &h.headers,
                content_type: h.content_type.as_deref(),
                body,
            };
            let extracts: Vec<_> = h.extract.iter().collect();
            call_once(engine, target, &call, &extracts)
        }
    }
}

/// One run of a readiness probe of the shared model (an exec or HTTP check; ports are
/// waited for by connecting), with the field it compares: its name and assertion.
fn probe_once(
    engine: &Engine,
    plan: &Plan,
    model: &Model,
    target: &Target,
    probe: &Probe,
    values: &Values,
) -> Result<TaskResult> {
    let text = |t| values.resolve_text(plan, model, t).map_err(|w| anyhow!(w));
    let (call, expect) = match probe {
        Probe::Exec { argv, expect } => (
            Call::Exec(argv.iter().map(text).collect::<Result<_>>()?),
            expect,
        ),
        Probe::Http { call, expect } => (
            Call::Http {
                port: call.port,
                method: call.method,
                endpoint: &call.endpoint,
                headers: &call.headers,
                content_type: call.content_type.as_deref(),
                body: call.body.as_ref().map(text).transpose()?,
            },
            expect,
        ),
        Probe::Listening(_) => bail!("internal error: a port check is not a recipe"),
    };
    let extracts: Vec<(&String, &String)> = match expect {
        Expect::Extract { key, filter, .. } => vec![(key, filter)],
        Expect::Code { .. } | Expect::Output { .. } | Expect::Unknown(_) => Vec::new(),
    };
    call_once(engine, target, &call, &extracts)
}

/// The field, assertion and target a probe compares.
fn expected(probe: &Probe) -> Option<(TaskField, Assertion, &crate::ir::Data)> {
    let (expect, http) = match probe {
        Probe::Exec { expect, .. } => (expect, false),
        Probe::Http { expect, .. } => (expect, true),
        Probe::Listening(_) => return None,
    };
    let (assertion, target) = match expect {
        Expect::Code { assertion, target }
        | Expect::Output { assertion, target }
        | Expect::Extract {
            assertion, target, ..
        } => (*assertion, target),
        Expect::Unknown(_) => (Assertion::Eq, &crate::ir::Data::Null),
    };
    Some((expect.field(http), assertion, target))
}

/// Polls a ready condition of the shared model until it holds or its time is up.
pub fn wait_probe(
    engine: &Engine,
    plan: &Plan,
    model: &Model,
    target: &Target,
    check: &Check,
    values: &Values,
) -> Result<TaskResult> {
    let (compared, assertion, target_value) =
        expected(&check.probe).ok_or_else(|| anyhow!("internal error: not a recipe check"))?;
    let tv = values
        .resolve_json(plan, target_value)
        .map_err(|w| anyhow!(w))?;
    poll(
        || probe_once(engine, plan, model, target, &check.probe, values),
        &compared,
        assertion,
        &tv,
        check.interval.as_std(),
        check.total.as_std(),
    )
}

/// A field of a recipe result.
pub fn field(res: &TaskResult, field: &TaskField) -> Option<String> {
    match field {
        TaskField::Code => Some(res.code.to_string()),
        TaskField::Output => Some(res.output.clone()),
        TaskField::Body => Some(res.body.clone()),
        TaskField::Extract(k) => res.extract.get(k).cloned(),
    }
}

fn as_number(s: &str) -> Option<f64> {
    s.trim().parse().ok()
}

fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether `actual <assertion> target` holds (numbers compare as numbers).
pub fn assert_holds(actual: &str, assertion: Assertion, target: &serde_json::Value) -> bool {
    let cmp = |t: &serde_json::Value| -> Option<std::cmp::Ordering> {
        let ts = json_text(t);
        match (as_number(actual), as_number(&ts)) {
            (Some(a), Some(b)) => a.partial_cmp(&b),
            _ => Some(actual.cmp(ts.as_str())),
        }
    };
    use std::cmp::Ordering::*;
    match assertion {
        Assertion::Eq => cmp(target) == Some(Equal),
        Assertion::Ne => cmp(target) != Some(Equal),
        Assertion::Ge => matches!(cmp(target), Some(Greater | Equal)),
        Assertion::Le => matches!(cmp(target), Some(Less | Equal)),
        Assertion::Gt => cmp(target) == Some(Greater),
        Assertion::Lt => cmp(target) == Some(Less),
        Assertion::In | Assertion::NotIn => {
            let found = match target {
                serde_json::Value::Array(items) => items.iter().any(|t| cmp(t) == Some(Equal)),
                other => cmp(other) == Some(Equal),
            };
            found == (assertion == Assertion::In)
        }
    }
}

/// Retries `recipe` until `field assertion target` holds or `timeout` passes.
#[allow(clippy::too_many_arguments)]
pub fn wait_for(
    engine: &Engine,
    plan: &Plan,
    sid: Option<ServiceId>,
    target: &Target,
    recipe: &Recipe,
    field: &TaskField,
    assertion: Assertion,
    target_value: &serde_json::Value,
    interval: Duration,
    timeout: Duration,
    values: &Values,
) -> Result<TaskResult> {
    poll(
        || recipe_once(engine, plan, sid, target, recipe, values),
        field,
        assertion,
        target_value,
        interval,
        timeout,
    )
}

/// Runs `once` until `field assertion target` holds on its result or `timeout`
/// passes, `interval` apart (at least 100 ms, at most 5 s).
fn poll(
    mut once: impl FnMut() -> Result<TaskResult>,
    compared: &TaskField,
    assertion: Assertion,
    target_value: &serde_json::Value,
    interval: Duration,
    timeout: Duration,
) -> Result<TaskResult> {
    let start = Instant::now();
    let mut last;
    loop {
        match once() {
            Ok(res) => match field(&res, compared) {
                Some(v) if assert_holds(&v, assertion, target_value) => return Ok(res),
                Some(v) => {
                    last = format!(
                        "{} was {v:?}, wanted {} {}",
                        compared.name(),
                        assertion.as_str(),
                        json_text(target_value)
                    )
                }
                None => last = format!("the result has no field '{}'", compared.name()),
            },
            Err(e) => last = e.to_string(),
        }
        if start.elapsed() >= timeout {
            bail!("gave up after {timeout:?}: {last}");
        }
        std::thread::sleep(
            interval
                .min(Duration::from_secs(5))
                .max(Duration::from_millis(100)),
        );
    }
}

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

/// Runs one task; its stored artifacts' files are returned by name.
pub fn run(
    env: &TaskEnv,
    tid: TaskId,
    values: &Values,
) -> Result<(TaskResult, BTreeMap<String, Vec<FileEntry>>)> {
    let plan = env.plan;
    let t = plan.task(tid);
    let resolve = |e| values.resolve(plan, e).map_err(|w| anyhow!(w));
    let target = |name: &str| -> Result<(Option<ServiceId>, Target)> {
        let sid = env.info.final_service(name);
        let tg = env.targets.get(name).cloned().ok_or_else(|| {
            anyhow!("service '{name}' is not running in this enclave (kplan apply does not run services that the package removes later)")
        })?;
        Ok((sid, tg))
    };
    // One recipe run against a service, with its exit or status code checked.
    let checked = |service: &str, recipe: &Recipe, codes: (&[i64], bool), what: &str| {
        let (sid, tg) = target(service)?;
        let res = recipe_once(env.engine, plan, sid, &tg, recipe, values)?;
        let text = match recipe {
            Recipe::Exec(_) => &res.output,
            Recipe::Http(_) => &res.body,
        };
        check_code(res.code, codes.0, codes.1, what, text)?;
        Ok::<_, anyhow::Error>(res)
    };
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
            Ok((checked(service_name, &recipe, codes, "the command")?, none))
        }
        TaskKind::Request {
            service_name,
            recipe,
            acceptable_codes,
            skip_code_check,
        } => {
            let recipe = Recipe::Http(recipe.clone());
            let codes = (acceptable_codes.as_slice(), *skip_code_check);
            Ok((checked(service_name, &recipe, codes, "the request")?, none))
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
            let (sid, tg) = target(service_name)?;
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
        TaskKind::RunSh { .. } | TaskKind::RunPython { .. } => {
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
                .ok_or_else(|| {
                    anyhow!("internal error: no program for {}", t.kind.instruction())
                })?;
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
    }
}

/// A container that idles on the enclave network while the program runs in it by
/// exec: the setup (`pip install`) first, whose output is not part of the result,
/// then the command; the `store` paths are copied out afterwards.
fn one_shot(
    env: &TaskEnv,
    tid: TaskId,
    program: &Program,
    argv: Vec<String>,
    envs: Vec<String>,
) -> Result<(TaskResult, BTreeMap<String, Vec<FileEntry>>)> {
    let mut labels = BTreeMap::new();
    labels.insert(LABEL_ENCLAVE.to_string(), env.enclave.to_string());
    labels.insert(LABEL_KIND.to_string(), "task".to_string());
    let cname = format!("{}--task-{}-{}", env.enclave, tid.0, std::process::id());
    let spec = ContainerSpec {
        name: cname.clone(),
        image: program.image.reference().to_string(),
        entrypoint: Some(vec![
            "sh".into(),
            "-c".into(),
            "trap 'exit 0' TERM; while true; do sleep 1; done".into(),
        ]),
        cmd: None,
        env: envs.clone(),
        labels,
        network: network_name(env.enclave),
        privileged: program.privileged,
        pid_host: program.host_pid,
        binds: program
            .binds
            .iter()
            .map(|(h, c)| format!("{h}:{c}"))
            .collect(),
        ..Default::default()
    };
    if let Some(old) = env.engine.container_by_name(&cname)? {
        env.engine.container_remove(&old.id)?;
    }
    let id = env.engine.container_create(&spec)?;
    let wait = program.timeout.map(|w| w.as_std());
    let stored: Vec<String> = env
        .info
        .task_artifacts(tid)
        .iter()
        .map(|a| env.plan.artifact(*a).name.clone())
        .collect();
    let result = (|| {
        for (dir, art) in &program.files {
            let fs = (env.files)(*art)?;
            upload(env.engine, &id, dir, &fs)?;
        }
        env.engine.container_start(&id)?;
        if let Some(setup) = &program.setup {
            let out = env.engine.exec(&id, setup, &envs, wait)?;
            check_code(out.code, &[0], false, &setup.join(" "), &out.output)?;
        }
        let out = env.engine.exec(&id, &argv, &envs, wait)?;
        check_code(
            out.code,
            &program.codes.acceptable,
            program.codes.skip,
            &program.name,
            &out.output,
        )?;
        let mut stored_digests = BTreeMap::new();
        let mut contents = BTreeMap::new();
        for (src, name) in program.store.iter().zip(&stored) {
            let tar = env.engine.get_archive(&id, src)?;
            let files = super::tar::read(&tar).map_err(|e| anyhow!("store {src}: {e}"))?;
            let data = artifact_from_files(files.clone());
            stored_digests.insert(name.clone(), data.digest);
            contents.insert(name.clone(), files);
        }
        Ok((
            TaskResult {
                code: out.code,
                output: out.output,
                stored: stored_digests,
                ..Default::default()
            },
            contents,
        ))
    })();
    let _ = env.engine.container_remove(&id);
    result
}

/// Uploads files so that they appear under `dir` (created if missing), before start.
pub fn upload(engine: &Engine, container: &str, dir: &str, files: &[FileEntry]) -> Result<()> {
    let prefix = dir.trim_matches('/');
    let rooted: Vec<FileEntry> = files
        .iter()
        .map(|f| FileEntry {
            path: if prefix.is_empty() {
                f.path.clone()
            } else {
                format!("{prefix}/{}", f.path.trim_start_matches('/'))
            },
            mode: f.mode,
            content: f.content.clone(),
        })
        .collect();
    let tar = super::tar::write(&rooted).map_err(|e| anyhow!(e))?;
    engine.put_archive(container, "/", tar)
}

/// For messages: the task's label.
pub fn label(plan: &Plan, tid: TaskId) -> String {
    desired::task_label(plan, tid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn assertions_compare_numbers_as_numbers_and_strings_as_strings() {
        assert!(assert_holds("200", Assertion::Eq, &json!(200)));
        assert!(assert_holds("200", Assertion::Eq, &json!("200")));
        assert!(assert_holds("10", Assertion::Gt, &json!(9)));
        assert!(!assert_holds("10", Assertion::Lt, &json!(9)));
        assert!(assert_holds("b", Assertion::Gt, &json!("a")));
        assert!(assert_holds("0", Assertion::In, &json!([0, 1])));
        assert!(assert_holds("2", Assertion::NotIn, &json!([0, 1])));
        assert!(assert_holds("x", Assertion::Ne, &json!("y")));
        assert!(assert_holds("1.0", Assertion::Eq, &json!(1)));
    }

    #[test]
    fn fields_of_a_result() {
        let mut r = TaskResult {
            code: 3,
            output: "o".into(),
            body: "b".into(),
            ..Default::default()
        };
        r.extract.insert("k".into(), "v".into());
        let extract = |k: &str| TaskField::Extract(k.into());
        assert_eq!(field(&r, &TaskField::Code).as_deref(), Some("3"));
        assert_eq!(field(&r, &TaskField::Body).as_deref(), Some("b"));
        assert_eq!(field(&r, &extract("k")).as_deref(), Some("v"));
        assert_eq!(field(&r, &extract("x")), None);
    }
}
