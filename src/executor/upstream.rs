//! The propagation rule: what is redone because something it uses is redone.
//!
//! Every producer has a *version*, an identity of its current incarnation that changes
//! whenever it is redone, even when its content comes out the same:
//! - a service: the id of its container, plus how often kplan started that container
//!   again (`id#n`); replacing it or starting it again gives a new version;
//! - a task: the unique id of the run whose result is recorded ([`TaskResult::run`]);
//! - a files artifact: its content digest, combined with the version of what it was
//!   made from (the task that stored it, the service it was copied from, the services
//!   and tasks a template's data refers to).
//!
//! A service's config hash and a task's input key include the versions of everything
//! they use (services they refer to by address or hostname, task results, files
//! artifacts they mount), so a service is replaced, and a task re-run, whenever one of
//! those is redone; applied in DAG order this is transitive. `plan` knows the versions
//! of what is kept and reused; what an apply redoes has a new version only known then,
//! so its users are shown as replaced or re-run "(known after apply)", which is exactly
//! what apply then does. Because versions live on the engine (container ids, the
//! config-hash label) and in the recorded state, an apply killed midway still redoes
//! the users of what it had already redone.
//!
//! Both `diff` and `apply` compute service specs and task keys through this module:
//! it is the one place the rule is decided.

use super::desired::{TaskResult, Val, Values};
use crate::ir::{
    ArtifactId, Data, FileContent, Plan, Recipe, RuntimeRef, ServiceId, StrExpr, TaskId, TaskKind,
};
use crate::ir::{ArtifactSource, Mount};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// What one service, task or template uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inputs {
    pub services: BTreeSet<ServiceId>,
    pub tasks: BTreeSet<TaskId>,
    pub artifacts: BTreeSet<ArtifactId>,
}

impl Inputs {
    fn expr(&mut self, e: &StrExpr) {
        for r in e.refs() {
            match r {
                RuntimeRef::Service { service, .. } => {
                    self.services.insert(*service);
                }
                RuntimeRef::Task { task, .. } => {
                    self.tasks.insert(*task);
                }
            }
        }
    }

    fn data(&mut self, d: &Data) {
        for e in d.strings() {
            self.expr(e);
        }
    }

    fn recipe(&mut self, r: &Recipe) {
        match r {
            Recipe::Exec(e) => e.command.iter().for_each(|c| self.expr(c)),
            Recipe::Http(h) => h.body.iter().for_each(|b| self.expr(b)),
        }
    }

    fn artifact(&mut self, artifacts: &BTreeMap<String, ArtifactId>, name: &str) {
        if let Some(a) = artifacts.get(name) {
            self.artifacts.insert(*a);
        }
    }
}

/// What service `id`'s config uses: services and task results its strings refer to
/// (entrypoint, cmd, env, ready condition) and the artifacts it mounts.
pub fn of_service(plan: &Plan, artifacts: &BTreeMap<String, ArtifactId>, id: ServiceId) -> Inputs {
    let c = &plan.service(id).config;
    let mut i = Inputs::default();
    c.entrypoint
        .iter()
        .chain(&c.cmd)
        .chain(c.env_vars.values())
        .for_each(|e| i.expr(e));
    if let Some(rc) = &c.ready_conditions {
        i.recipe(&rc.recipe);
        i.data(&rc.target_value);
    }
    for m in c.files.values() {
        match m {
            Mount::Artifacts(names) => names.iter().for_each(|n| i.artifact(artifacts, n)),
            Mount::Persistent { .. } => {}
        }
    }
    i.services.remove(&id);
    i
}

/// What task `id` uses besides the service it runs against (whose container is part
/// of its key already): services and task results its strings refer to, and the
/// artifacts it mounts.
pub fn of_task(plan: &Plan, artifacts: &BTreeMap<String, ArtifactId>, id: TaskId) -> Inputs {
    let t = plan.task(id);
    let mut i = Inputs::default();
    super::desired::task_exprs(&t.kind)
        .into_iter()
        .for_each(|e| i.expr(e));
    match &t.kind {
        TaskKind::RunSh { files, .. } | TaskKind::RunPython { files, .. } => {
            files.values().for_each(|n| i.artifact(artifacts, n))
        }
        TaskKind::Exec { .. }
        | TaskKind::Request { .. }
        | TaskKind::Wait { .. }
        | TaskKind::Verify { .. }
        | TaskKind::Print { .. } => {}
    }
    i.tasks.remove(&id);
    i
}

/// What the contents of an `upload_files`/`render_templates` artifact are made from:
/// the services and task results its template data and texts refer to.
pub fn of_files(plan: &Plan, id: ArtifactId) -> Inputs {
    let mut i = Inputs::default();
    match &plan.artifact(id).source {
        ArtifactSource::Upload { files, .. } | ArtifactSource::Templates { files } => {
            for f in files {
                match &f.content {
                    FileContent::Static(_) => {}
                    FileContent::Text(e) => i.expr(e),
                    FileContent::Template { data, .. } => i.data(data),
                }
            }
        }
        ArtifactSource::ServiceFiles { .. } | ArtifactSource::TaskStore { .. } => {}
    }
    i
}

fn sha(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

/// The version of a service's container: its id, and how often kplan started it again.
pub fn container_version(id: &str, restarts: u32) -> String {
    if restarts == 0 {
        id.to_string()
    } else {
        format!("{id}#{restarts}")
    }
}

/// The version of an artifact whose content has `digest`, made from `source` (a task
/// run, a container version, or [`versions`] of a template's inputs); just the digest
/// when it is made from nothing that is ever redone.
pub fn artifact_version(digest: &str, source: Option<&str>) -> String {
    match source {
        None => digest.to_string(),
        Some(s) => sha(&[digest, s]),
    }
}

/// A new unique id for one run of the task whose input key is `key`.
pub fn new_run_id(key: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    sha(&[
        key,
        &now.to_string(),
        &std::process::id().to_string(),
        &n.to_string(),
    ])[..16]
        .to_string()
}

/// The version of a recorded or fresh task result.
pub fn task_version(r: &TaskResult) -> String {
    r.run.clone()
}

/// The combined version of everything in `inputs`, or why it is not known yet (the
/// first unknown one, in plan order). `None` when nothing in it is ever redone (no
/// service or task, and only artifacts whose version is their content).
pub fn versions(plan: &Plan, inputs: &Inputs, values: &Values) -> Option<Val<String>> {
    let mut all: Vec<String> = Vec::new();
    let mut first_unknown: Option<String> = None;
    let mut unknown = |why: String| {
        first_unknown.get_or_insert(why);
    };
    for s in &inputs.services {
        match values.service_version.get(s) {
            Some(Ok(v)) => all.push(format!("s:{v}")),
            Some(Err(what)) => unknown(format!("depends on {what}")),
            None => unknown(format!(
                "depends on {}, known after apply",
                plan.service(*s).name
            )),
        }
    }
    for t in &inputs.tasks {
        match values.tasks.get(t) {
            Some(Ok(r)) => all.push(format!("t:{}", task_version(r))),
            Some(Err(why)) => unknown(why.clone()),
            None => unknown(format!(
                "uses the result of {}, known after apply",
                super::desired::task_label(plan, *t)
            )),
        }
    }
    for a in &inputs.artifacts {
        match values.artifacts.get(a) {
            Some(Ok(d)) if d.version == d.digest => {}
            Some(Ok(d)) => all.push(format!("a:{}", d.version)),
            Some(Err(why)) => unknown(format!(
                "mounted artifact '{}' changes ({why})",
                plan.artifact(*a).name
            )),
            None => unknown(format!(
                "files artifact '{}', known after apply",
                plan.artifact(*a).name
            )),
        }
    }
    if let Some(why) = first_unknown {
        return Some(Err(why));
    }
    if all.is_empty() {
        return None;
    }
    all.sort();
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    Some(Ok(sha(&refs)))
}
