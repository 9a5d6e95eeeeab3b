//! The diff: a pure function (plan, observed engine state, recorded state) ->
//! [`ChangeSet`]. It walks the plan's steps in order, resolving run-time values from
//! what is already there (addresses of containers that are kept, recorded results of
//! tasks whose inputs did not change); values an apply would produce are unknown, and
//! everything that uses them is shown as changing "(known after apply)".
//! [`decide`] is the per-service decision, shared with apply, which calls it again
//! once a service's inputs are known.

use super::desired::{self, ArtifactData, ServiceSpec, TaskResult, Val, Values, UPSTREAM_PART};
use super::observe::{Observed, ObservedContainer};
use super::settings;
use super::state::Recorded;
use super::upstream;
use crate::backend::lower::Model;
use crate::ir::{ArtifactId, ArtifactSource, Plan, PlanInfo, ServiceId, StepKind, TaskId};
use serde::Serialize;
use std::collections::BTreeMap;

/// What happens to one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    /// In place: settings `docker update` can change, start a stopped container or
    /// unpause a paused one.
    Update,
    Replace,
    Keep,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceChange {
    pub name: String,
    pub action: Action,
    pub reasons: Vec<String>,
    pub image: String,
    /// The container it replaces or updates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Extra containers of the same service to remove (left by an interrupted apply).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub duplicates: Vec<String>,
    /// Whether it only needs a start (stopped by hand).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub start_only: bool,
    /// Whether it needs an unpause (paused by hand).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unpause: bool,
    /// Environment and command as they will be, `(known after apply)` for unknowns.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub unknown_parts: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskAction {
    Run,
    /// Inputs unchanged: the recorded result is reused.
    Reuse,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskChange {
    pub task: String,
    pub action: TaskAction,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Orphan {
    pub service: String,
    pub container: String,
}

/// Everything `apply` would do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeSet {
    pub enclave: String,
    pub create_network: bool,
    pub services: Vec<ServiceChange>,
    pub tasks: Vec<TaskChange>,
    /// Services of the enclave that the package no longer has (removed with --prune).
    pub orphans: Vec<Orphan>,
    /// Task containers left by an interrupted apply (always removed).
    pub leftovers: Vec<String>,
    pub prune: bool,
}

impl ChangeSet {
    pub fn count(&self, a: Action) -> usize {
        self.services.iter().filter(|s| s.action == a).count()
    }

    /// Services destroyed by this apply (orphans, with --prune).
    pub fn destroyed(&self) -> usize {
        if self.prune {
            self.orphans.len()
        } else {
            0
        }
    }

    /// Whether applying would change anything on the engine.
    pub fn has_changes(&self) -> bool {
        self.create_network
            || self.services.iter().any(|s| s.action != Action::Keep)
            || self.tasks.iter().any(|t| t.action == TaskAction::Run)
            || self.destroyed() > 0
            || !self.leftovers.is_empty()
    }
}

fn part_reason(part: &str, spec: &ServiceSpec) -> String {
    match part {
        "image" => "image changed".into(),
        "cmd" => "cmd changed".into(),
        "entrypoint" => "entrypoint changed".into(),
        "env" => "env_vars changed".into(),
        "ports" => "ports changed".into(),
        "force_update" => "force_update=True".into(),
        UPSTREAM_PART => {
            "a service, task result or files artifact it uses was replaced or re-run".into()
        }
        p => match p.strip_prefix("files:") {
            Some(dir) => match spec.mounted_artifacts.get(dir) {
                Some(names) if names.len() == 1 => {
                    format!("mounted artifact '{}' changed", names[0])
                }
                Some(names) => format!("mounted artifacts {} changed", names.join(", ")),
                None => format!("files at {dir} changed"),
            },
            None => format!("{p} changed"),
        },
    }
}

/// The decision for one service given its spec and the containers found for it;
/// `stays_stopped` when the package stops it at the end.
/// `recorded` says which containers failed their readiness checks when last applied.
pub fn decide(
    spec: &ServiceSpec,
    found: &[&ObservedContainer],
    stays_stopped: bool,
    recorded: &Recorded,
) -> ServiceChange {
    let mut change = ServiceChange {
        name: spec.name.clone(),
        action: Action::Keep,
        reasons: Vec::new(),
        image: spec.image.clone(),
        container: None,
        duplicates: Vec::new(),
        start_only: false,
        unpause: false,
        unknown_parts: BTreeMap::new(),
    };
    // What it uses being redone is said once, as a reason, not as a part to show.
    let mut upstream_unknown = None;
    for (k, v) in &spec.parts {
        if let Err(why) = v {
            if k == UPSTREAM_PART {
                upstream_unknown = Some(why.clone());
            } else {
                change.unknown_parts.insert(k.clone(), why.clone());
            }
        }
    }
    // Prefer a running container whose hash matches; the rest are duplicates.
    let mut sorted: Vec<&ObservedContainer> = found.to_vec();
    sorted.sort_by_key(|c| {
        (
            c.config_hash.as_ref() != spec.hash.as_ref().ok(),
            c.state != "running",
            c.name.clone(),
        )
    });
    let Some(current) = sorted.first() else {
        change.action = Action::Create;
        change.reasons.push("not yet created".into());
        return change;
    };
    change.container = Some(current.name.clone());
    change.duplicates = sorted[1..].iter().map(|c| c.id.clone()).collect();
    if !change.duplicates.is_empty() {
        change.reasons.push(format!(
            "{} duplicate container(s) to remove",
            change.duplicates.len()
        ));
    }
    match &spec.hash {
        Err(_) => {
            change.action = Action::Replace;
            let reasons = unknown_reasons(&change.unknown_parts, upstream_unknown);
            change.reasons.extend(reasons);
            return change;
        }
        Ok(h) if current.config_hash.as_ref() != Some(h) => {
            change.action = Action::Replace;
            change.reasons.extend(changed_parts(spec, current));
            return change;
        }
        Ok(_) => {}
    }
    if recorded.unready.contains(&current.id) {
        change.action = Action::Replace;
        change
            .reasons
            .push("it was not ready when last applied".into());
        return change;
    }
    // Settings changed by hand (`docker update`): repaired in place when Docker can.
    let drift = settings::compare(&spec.settings, &current.settings);
    if drift.iter().any(|d| !d.in_place) {
        change.action = Action::Replace;
        change.reasons.extend(drift.into_iter().map(|d| d.reason));
        return change;
    }
    if by_state(&mut change, current, stays_stopped) {
        return change;
    }
    if !drift.is_empty() {
        change.action = Action::Update;
        change.reasons.extend(drift.into_iter().map(|d| d.reason));
    }
    if change.action == Action::Keep && !change.duplicates.is_empty() {
        change.action = Action::Update;
    }
    change
}

/// What the container's state asks for (unpause, stop, start, replace); `true` when
/// that decides the change (a replacement).
fn by_state(change: &mut ServiceChange, current: &ObservedContainer, stays_stopped: bool) -> bool {
    match current.state.as_str() {
        "paused" => {
            change.action = Action::Update;
            change.unpause = true;
            change
                .reasons
                .push("container is paused: unpause it".into());
        }
        "running" if stays_stopped => {
            change.action = Action::Update;
            change.reasons.push("stop_service stops it".into());
        }
        "running" if current.ip.is_none() => {
            change.action = Action::Replace;
            change
                .reasons
                .push("container is not on the enclave network".into());
            return true;
        }
        "running" => {}
        _ if stays_stopped => {}
        "created" => {
            change.action = Action::Replace;
            change
                .reasons
                .push("creation was interrupted (container never started)".into());
            return true;
        }
        other => {
            change.action = Action::Update;
            change.start_only = true;
            change
                .reasons
                .push(format!("container is {other}: start it"));
        }
    }
    false
}

/// Why a spec with unknown parts is replaced: each unknown part's reason once, then
/// what it uses being redone unless a part's reason already says so.
fn unknown_reasons(
    unknown_parts: &BTreeMap<String, String>,
    upstream_unknown: Option<String>,
) -> Vec<String> {
    let mut reasons: Vec<String> = unknown_parts.values().cloned().collect();
    reasons.sort();
    reasons.dedup();
    let covered = |why: &String| reasons.iter().any(|r| r.starts_with(why.as_str()));
    if let Some(why) = upstream_unknown.filter(|w| !covered(w)) {
        reasons.push(why);
    }
    reasons
}

/// Why the container's config hash is not the spec's: each part that differs (or
/// that only one side has), else that it has no hash or was changed by hand.
fn changed_parts(spec: &ServiceSpec, current: &ObservedContainer) -> Vec<String> {
    if current.config_hash.is_none() {
        return vec!["container has no config-hash label".into()];
    }
    let mut reasons = Vec::new();
    for (k, v) in &spec.parts {
        if let Ok(p) = v {
            if current.parts.get(k) != Some(p) {
                reasons.push(part_reason(k, spec));
            }
        }
    }
    for k in current.parts.keys() {
        if !spec.parts.contains_key(k) {
            reasons.push(part_reason(k, spec));
        }
    }
    if reasons.is_empty() {
        reasons.push("config hash differs (changed by hand?)".into());
    }
    reasons
}

/// The key under which a `store_service_files` result is recorded: the version of
/// the container it was copied from (see [`upstream`]) and the path.
pub fn service_files_key(container_version: &str, src: &str) -> String {
    format!("{container_version}:{src}")
}

/// The pure diff.
pub fn diff(
    plan: &Plan,
    info: &PlanInfo,
    observed: &Observed,
    recorded: &Recorded,
    prune: bool,
) -> ChangeSet {
    let model = super::model(plan, info);
    let mut values = Values {
        own_ip: super::ipam::assign(
            plan,
            info,
            observed,
            &recorded.ips,
            super::ipam::network_subnet(plan, info, observed),
        ),
        ..Values::default()
    };
    let mut services = Vec::new();
    let mut tasks = Vec::new();
    for &i in info.order() {
        let Some(step) = plan.steps.get(i) else {
            continue;
        };
        match &step.kind {
            StepKind::AddServices(ids) => {
                for &id in ids {
                    if info.is_final(id) {
                        services.push(plan_service(
                            plan,
                            info,
                            observed,
                            recorded,
                            id,
                            &mut values,
                        ));
                    }
                }
            }
            StepKind::CreateArtifact(aid) => {
                // None: its task step produces it.
                let Some(data) = planned_artifact(plan, info, &model, recorded, *aid, &values)
                else {
                    continue;
                };
                values.artifacts.insert(*aid, data);
            }
            StepKind::RunTask(tid) => {
                let (change, result) = task_decision(plan, info, *tid, &values, recorded);
                record_task(plan, info, *tid, result, &mut values);
                tasks.push(change);
            }
            StepKind::RemoveService(_) | StepKind::StartService(_) | StepKind::StopService(_) => {}
        }
    }
    let mut orphans = Vec::new();
    let mut leftovers = Vec::new();
    for c in &observed.containers {
        if c.kind == "service" {
            if !info.final_services().contains_key(&c.service) {
                orphans.push(Orphan {
                    service: c.service.clone(),
                    container: c.name.clone(),
                });
            }
        } else {
            leftovers.push(c.name.clone());
        }
    }
    ChangeSet {
        enclave: observed.enclave.clone(),
        create_network: !observed.network,
        services,
        tasks,
        orphans,
        leftovers,
        prune,
    }
}

/// The change for service `id`, and its address and version among the values for
/// the steps after it (unknown when it is created, replaced or restarted).
fn plan_service(
    plan: &Plan,
    info: &PlanInfo,
    observed: &Observed,
    recorded: &Recorded,
    id: ServiceId,
    values: &mut Values,
) -> ServiceChange {
    let spec = desired::service_spec(plan, info, id, values, &observed.enclave);
    let found = observed.service_containers(&spec.name);
    let change = decide(&spec, &found, info.stopped().contains(&id), recorded);
    let kept = matches!(change.action, Action::Keep | Action::Update) && !change.start_only;
    let current = found
        .iter()
        .find(|c| Some(&c.name) == change.container.as_ref());
    match (kept, current) {
        (true, Some(c)) => {
            values.service_ip.insert(
                id,
                c.ip.clone()
                    .ok_or_else(|| format!("the address of '{}'", spec.name)),
            );
            values
                .service_version
                .insert(id, Ok(recorded.container_version(&c.id)));
        }
        _ => {
            let verb = match change.action {
                Action::Create => "created",
                Action::Replace => "replaced",
                Action::Update | Action::Keep => "restarted",
            };
            values.service_ip.insert(
                id,
                Err(format!(
                    "depends on {}, which is {verb} and whose address it uses",
                    spec.name
                )),
            );
            values
                .service_version
                .insert(id, Err(format!("{}, which is {verb}", spec.name)));
        }
    }
    change
}

/// An artifact's data as far as the plan knows it: its files when known now, a copy
/// recorded from the same container version, or why it is known only after apply;
/// `None` for an artifact its task step produces.
fn planned_artifact(
    plan: &Plan,
    info: &PlanInfo,
    model: &Model,
    recorded: &Recorded,
    aid: ArtifactId,
    values: &Values,
) -> Option<Val<ArtifactData>> {
    let a = plan.artifact(aid);
    let data: Val<ArtifactData> = match desired::static_artifact(plan, model, aid, values) {
        Some(v) => v,
        None => match &a.source {
            ArtifactSource::ServiceFiles {
                service_name, src, ..
            } => {
                let version = info
                    .final_service(service_name)
                    .and_then(|sid| values.service_version.get(&sid).cloned())
                    .unwrap_or_else(|| Err(format!("service '{service_name}'")));
                match version {
                    Ok(v) => recorded
                        .service_files
                        .get(&service_files_key(&v, src))
                        .filter(|d| recorded.blobs.contains(*d))
                        .map(|d| ArtifactData {
                            digest: d.clone(),
                            version: upstream::artifact_version(d, Some(&v)),
                            files: None,
                        })
                        .ok_or_else(|| format!("copied from '{service_name}' during apply")),
                    Err(_) => Err(format!("copied from '{service_name}' during apply")),
                }
            }
            // Produced by its task step.
            ArtifactSource::TaskStore { .. } => return None,
            ArtifactSource::Upload { .. } | ArtifactSource::Templates { .. } => {
                Err("known after apply".into())
            }
        },
    };
    Some(data)
}

/// Whether a task runs or reuses its recorded result, and that result if reused.
pub fn task_decision(
    plan: &Plan,
    info: &PlanInfo,
    tid: TaskId,
    values: &Values,
    recorded: &Recorded,
) -> (TaskChange, Val<TaskResult>) {
    let label = desired::task_label(plan, tid);
    let key = desired::task_key(plan, info, tid, values);
    match key {
        Ok(k) => match recorded.tasks.get(&k) {
            Some(r) if r.stored.values().all(|d| recorded.blobs.contains(d)) => (
                TaskChange {
                    task: label,
                    action: TaskAction::Reuse,
                    reason: "inputs unchanged".into(),
                },
                Ok(r.clone()),
            ),
            _ => (
                TaskChange {
                    task: label.clone(),
                    action: TaskAction::Run,
                    reason: "inputs changed or never run".into(),
                },
                Err(format!("uses the result of {label}, known after apply")),
            ),
        },
        Err(why) => (
            TaskChange {
                task: label.clone(),
                action: TaskAction::Run,
                reason: why,
            },
            Err(format!("uses the result of {label}, known after apply")),
        ),
    }
}

/// Records a task's result and the artifacts it stores into `values`.
pub fn record_task(
    plan: &Plan,
    info: &PlanInfo,
    tid: TaskId,
    result: Val<TaskResult>,
    values: &mut Values,
) {
    for aid in info.task_artifacts(tid).iter() {
        let name = &plan.artifact(*aid).name;
        let data = match &result {
            Ok(r) => r
                .stored
                .get(name)
                .map(|d| ArtifactData {
                    digest: d.clone(),
                    version: upstream::artifact_version(d, Some(&upstream::task_version(r))),
                    files: None,
                })
                .ok_or_else(|| format!("'{name}' was not stored")),
            Err(why) => Err(why.clone()),
        };
        values.artifacts.insert(*aid, data);
    }
    values.tasks.insert(tid, result);
}
