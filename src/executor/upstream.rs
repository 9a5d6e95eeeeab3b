//! The propagation rule: what is redone because something it uses is redone.
//!
//! Every producer has a *version*, an identity of its current incarnation that changes
//! whenever it is redone, even when its content comes out the same:
//! - a service: the id of its container, plus how often kplan started that container
//!   again (`id#n`); replacing it or starting it again gives a new version;
//! - a task: the unique id of the run whose result is recorded ([`TaskResult::run`]);
//! - a files artifact: its content digest, combined with the version of what it was
//!   made from (the task that stored it, the service it was copied from, the services
//!   and tasks a template's data refers to). Each version of a name (a task's `store`
//!   reusing it) is an artifact of its own, and a consumer uses the version it binds
//!   to ([`crate::ir::PlanInfo::bound_artifact`]), so a new version redoes only its
//!   own consumers: the task that stores it again, and what is added after it.
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
//! it is the one place the rule is decided. What each node uses (its data
//! dependencies) is the shared lowering's ([`crate::backend::lower::edges`]), the same
//! definition the static targets order their containers by.

use super::desired::{TaskResult, Val, Values};
use crate::backend::lower::edges::Uses;
use crate::ir::Plan;
use sha2::{Digest, Sha256};

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
pub fn versions(plan: &Plan, inputs: &Uses, values: &Values) -> Option<Val<String>> {
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
