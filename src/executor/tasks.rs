//! Running tasks during apply: `exec` (docker exec), `request` (HTTP from this host to
//! the service's address), `wait` (a recipe retried until its assertion holds),
//! `verify`, `print`, and `run_sh`/`run_python` as one-shot containers on the enclave
//! network with their files uploaded and their `store` paths copied out. Also the
//! assertion comparison shared with ready conditions.

use super::desired::{self, artifact_from_files, FileEntry, TaskResult, Values};
use super::engine::{ContainerSpec, Engine};
use super::{extract, http, network_name, LABEL_ENCLAVE, LABEL_KIND};
use crate::ir::{Assertion, HttpMethod, Plan, Recipe, ServiceId, TaskId, TaskKind};
use anyhow::{anyhow, bail, Result};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Where a service runs, for tasks against it.
#[derive(Debug, Clone)]
pub struct Target {
    pub container: String,
    pub ip: String,
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
            let out = engine.exec(&target.container, &cmd, &[], Some(Duration::from_secs(300)))?;
            let mut res = TaskResult {
                code: out.code,
                output: out.output,
                ..Default::default()
            };
            for (k, path) in &e.extract {
                res.extract.insert(
                    k.clone(),
                    extract::extract(extract::Input::Text(&res.output), path)
                        .map_err(|e| anyhow!(e))?,
                );
            }
            Ok(res)
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
            let headers: Vec<(String, String)> = h
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let method = match h.method {
                HttpMethod::Get => "GET",
                HttpMethod::Post => "POST",
            };
            let ct = h.content_type.as_deref().unwrap_or("application/json");
            let resp = http::request(
                &target.ip,
                port,
                method,
                &h.endpoint,
                &headers,
                body.as_deref().map(|b| (ct, b)),
                Duration::from_secs(30),
            )
            .map_err(|e| anyhow!(e))?;
            let mut res = TaskResult {
                code: resp.code,
                output: resp.body.clone(),
                body: resp.body,
                ..Default::default()
            };
            for (k, path) in &h.extract {
                res.extract.insert(
                    k.clone(),
                    extract::extract(extract::Input::Json(&res.body), path)
                        .map_err(|e| anyhow!(e))?,
                );
            }
            Ok(res)
        }
    }
}

/// The named field of a recipe result (`code`, `output`, `body`, `extract.x`).
pub fn field(res: &TaskResult, name: &str) -> Option<String> {
    match name {
        "code" => Some(res.code.to_string()),
        "output" => Some(res.output.clone()),
        "body" => Some(res.body.clone()),
        other => other
            .strip_prefix("extract.")
            .and_then(|k| res.extract.get(k).cloned()),
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
    field_name: &str,
    assertion: Assertion,
    target_value: &serde_json::Value,
    interval: Duration,
    timeout: Duration,
    values: &Values,
) -> Result<TaskResult> {
    let start = Instant::now();
    let mut last;
    loop {
        match recipe_once(engine, plan, sid, target, recipe, values) {
            Ok(res) => match field(&res, field_name) {
                Some(v) if assert_holds(&v, assertion, target_value) => return Ok(res),
                Some(v) => {
                    last = format!(
                        "{field_name} was {v:?}, wanted {} {}",
                        assertion.as_str(),
                        json_text(target_value)
                    )
                }
                None => last = format!("the result has no field '{field_name}'"),
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
    pub final_services: &'a BTreeMap<String, ServiceId>,
    pub artifacts: &'a BTreeMap<String, crate::ir::ArtifactId>,
    /// Service name -> where it runs.
    pub targets: &'a BTreeMap<String, Target>,
    /// Mounted artifacts' files, by artifact name.
    pub files: &'a dyn Fn(&str) -> Result<std::sync::Arc<Vec<FileEntry>>>,
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
        let sid = env.final_services.get(name).copied();
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
        TaskKind::RunSh {
            name,
            run,
            image,
            files,
            store,
            env_vars,
            wait,
            acceptable_codes,
            skip_code_check,
            privileged,
            bind_mounts,
            ..
        } => {
            let script = resolve(run)?;
            let envs: Vec<String> = env_vars
                .iter()
                .map(|(k, v)| Ok(format!("{k}={}", resolve(v)?)))
                .collect::<Result<_>>()?;
            one_shot(
                env,
                tid,
                name,
                image.reference(),
                vec!["sh".into(), "-c".into(), script],
                envs,
                files,
                store,
                wait.map(|w| w.as_std()),
                (acceptable_codes, *skip_code_check),
                *privileged,
                bind_mounts,
            )
        }
        TaskKind::RunPython {
            name,
            run,
            args,
            packages,
            image,
            files,
            store,
            wait,
            acceptable_codes,
            skip_code_check,
            ..
        } => {
            let mut script = String::new();
            if !packages.is_empty() {
                script.push_str(&format!("pip install -q {} >&2 && ", packages.join(" ")));
            }
            script.push_str("python -c \"$KPLAN_PY\"");
            for a in args {
                let a = resolve(a)?;
                script.push_str(&format!(" '{}'", a.replace('\'', "'\\''")));
            }
            one_shot(
                env,
                tid,
                name,
                image.reference(),
                vec!["sh".into(), "-c".into(), script],
                vec![format!("KPLAN_PY={run}")],
                files,
                store,
                wait.map(|w| w.as_std()),
                (acceptable_codes, *skip_code_check),
                false,
                &BTreeMap::new(),
            )
        }
    }
}

/// A container that idles on the enclave network while the command runs in it by exec.
#[allow(clippy::too_many_arguments)]
fn one_shot(
    env: &TaskEnv,
    tid: TaskId,
    name: &str,
    image: &str,
    cmd: Vec<String>,
    envs: Vec<String>,
    files: &BTreeMap<String, String>,
    store: &[crate::ir::StoreSpec],
    wait: Option<Duration>,
    codes: (&[i64], bool),
    privileged: bool,
    bind_mounts: &BTreeMap<String, String>,
) -> Result<(TaskResult, BTreeMap<String, Vec<FileEntry>>)> {
    let mut labels = BTreeMap::new();
    labels.insert(LABEL_ENCLAVE.to_string(), env.enclave.to_string());
    labels.insert(LABEL_KIND.to_string(), "task".to_string());
    let cname = format!("{}--task-{}-{}", env.enclave, tid.0, std::process::id());
    let spec = ContainerSpec {
        name: cname.clone(),
        image: image.to_string(),
        entrypoint: Some(vec![
            "sh".into(),
            "-c".into(),
            "trap 'exit 0' TERM; while true; do sleep 1; done".into(),
        ]),
        cmd: None,
        env: envs.clone(),
        labels,
        network: network_name(env.enclave),
        privileged,
        binds: bind_mounts
            .iter()
            .map(|(h, c)| format!("{h}:{c}"))
            .collect(),
        ..Default::default()
    };
    if let Some(old) = env.engine.container_by_name(&cname)? {
        env.engine.container_remove(&old.id)?;
    }
    let id = env.engine.container_create(&spec)?;
    let result = (|| {
        for (dir, art) in files {
            let fs = (env.files)(art)?;
            upload(env.engine, &id, dir, &fs)?;
        }
        env.engine.container_start(&id)?;
        let out = env.engine.exec(&id, &cmd, &envs, wait)?;
        check_code(out.code, codes.0, codes.1, name, &out.output)?;
        let mut stored = BTreeMap::new();
        let mut contents = BTreeMap::new();
        for s in store {
            let tar = env.engine.get_archive(&id, &s.src)?;
            let files = super::tar::read(&tar).map_err(|e| anyhow!("store {}: {e}", s.src))?;
            let data = artifact_from_files(files.clone());
            stored.insert(s.name.clone(), data.digest);
            contents.insert(s.name.clone(), files);
        }
        Ok((
            TaskResult {
                code: out.code,
                output: out.output,
                stored,
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
        assert_eq!(field(&r, "code").as_deref(), Some("3"));
        assert_eq!(field(&r, "body").as_deref(), Some("b"));
        assert_eq!(field(&r, "extract.k").as_deref(), Some("v"));
        assert_eq!(field(&r, "extract.x"), None);
        assert_eq!(field(&r, "nope"), None);
    }
}
