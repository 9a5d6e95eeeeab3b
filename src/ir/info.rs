//! What validation proves about a plan, handed to backends and the executor.
//!
//! [`PlanInfo`] is a proof: its fields are private and the only constructor,
//! [`PlanInfo::proven`], is called by the validator (`src/validate/walk.rs`) once
//! every name resolved and the steps were found acyclic. Backends and the executor
//! read the facts through accessors and never recompute them: which services exist
//! at the end of the plan, which of those the package leaves stopped, the service
//! each `exec`/`request`/`wait` runs against, the step that creates each node, which
//! services use their own address (`private_ip_address_placeholder`), and which
//! version of a files artifact each consumer mounts.
//!
//! Artifact versions: every artifact the plan produces has its own [`ArtifactId`];
//! several may share a name, because a `run_sh`/`run_python` `store` may reuse a name
//! (as in Kurtosis, whose validator only refuses duplicate names for `upload_files`,
//! `render_templates` and `store_service_files`). Each artifact is a *version* of its
//! name (1, 2, ... in program order), and a consumer (a service's mount, a task's
//! `files`) binds to the version current at its own step, even when a later step
//! stores a newer one. Names are resolved here once: nothing downstream looks an
//! artifact up by name.

use super::{ArtifactId, ServiceId, TaskId};
use std::collections::{BTreeMap, BTreeSet};

/// The validator's proof: every name resolves, dependencies are acyclic, and the
/// tables below are complete for the plan they were computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanInfo {
    facts: Facts,
    /// The values of `facts.final_services`, for [`PlanInfo::is_final`].
    final_ids: BTreeSet<ServiceId>,
    /// Artifact -> which version of its name it is (1-based), from `facts.versions`.
    version_of: BTreeMap<ArtifactId, usize>,
}

/// The facts a [`PlanInfo`] carries; filled by the validator only.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Facts {
    /// Service name -> the service that holds that name at the end of the plan
    /// (removed services are absent).
    pub final_services: BTreeMap<String, ServiceId>,
    /// Final services whose last `start_service`/`stop_service` is a stop.
    pub stopped: BTreeSet<ServiceId>,
    /// Final services whose entrypoint, cmd or env uses their own address.
    pub own_address_users: BTreeSet<ServiceId>,
    /// Artifact name -> its versions (artifacts of that name), in program order.
    pub versions: BTreeMap<String, Vec<ArtifactId>>,
    /// For each step that mounts artifacts (a service's `files`, a task's `files`):
    /// artifact name -> the version current at that step.
    pub bindings: BTreeMap<usize, BTreeMap<String, ArtifactId>>,
    /// Artifacts produced by each task's `store` (in store order).
    pub task_artifacts: BTreeMap<TaskId, Vec<ArtifactId>>,
    /// The service an `exec`, `request` or `wait` runs against (the one holding the
    /// name at that point of the plan; it may be removed later).
    pub task_service: BTreeMap<TaskId, ServiceId>,
    /// The step index that adds each service, runs each task, creates each artifact
    /// (a task's `store` artifacts: the task's step).
    pub service_step: BTreeMap<ServiceId, usize>,
    pub task_step: BTreeMap<TaskId, usize>,
    pub artifact_step: BTreeMap<ArtifactId, usize>,
    /// For each step index: what must have happened before it.
    pub step_deps: Vec<StepDeps>,
    /// Step indices in an order that respects `step_deps` (program order when possible).
    pub order: Vec<usize>,
}

/// What one step consumes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepDeps {
    pub services: Vec<ServiceId>,
    pub artifacts: Vec<ArtifactId>,
    pub tasks: Vec<TaskId>,
    /// Steps that must complete before this one (the edges of the DAG).
    pub after: Vec<usize>,
}

impl PlanInfo {
    /// The proof for checked facts. Only the validator calls this, after its checks
    /// passed; everything else receives a `PlanInfo` from `validate::validate`.
    pub(crate) fn proven(facts: Facts) -> PlanInfo {
        let final_ids = facts.final_services.values().copied().collect();
        let version_of = facts
            .versions
            .values()
            .flat_map(|ids| ids.iter().enumerate().map(|(i, id)| (*id, i + 1)))
            .collect();
        PlanInfo {
            facts,
            final_ids,
            version_of,
        }
    }

    /// Service name -> the service holding it at the end of the plan.
    pub fn final_services(&self) -> &BTreeMap<String, ServiceId> {
        &self.facts.final_services
    }

    /// The service holding `name` at the end of the plan.
    pub fn final_service(&self, name: &str) -> Option<ServiceId> {
        self.facts.final_services.get(name).copied()
    }

    /// Whether `id` exists at the end of the plan (it is not removed or replaced).
    pub fn is_final(&self, id: ServiceId) -> bool {
        self.final_ids.contains(&id)
    }

    /// Final services the package leaves stopped.
    pub fn stopped(&self) -> &BTreeSet<ServiceId> {
        &self.facts.stopped
    }

    /// Final services whose entrypoint, cmd or env holds their own address
    /// (`private_ip_address_placeholder`), in id order.
    pub fn own_address_users(&self) -> &BTreeSet<ServiceId> {
        &self.facts.own_address_users
    }

    /// The version of artifact `name` that the consumer at step `step` mounts: the
    /// last one produced before that step (for a task that stores the same name, the
    /// one it reads, not the one it stores).
    pub fn bound_artifact(&self, step: usize, name: &str) -> Option<ArtifactId> {
        self.facts.bindings.get(&step)?.get(name).copied()
    }

    /// Artifact name -> version, for every name step `step` mounts (`None` when it
    /// mounts none).
    pub fn step_bindings(&self, step: usize) -> Option<&BTreeMap<String, ArtifactId>> {
        self.facts.bindings.get(&step)
    }

    /// The version of `name` that service `id` mounts (see [`Self::bound_artifact`]).
    pub fn service_mount(&self, id: ServiceId, name: &str) -> Option<ArtifactId> {
        self.bound_artifact(self.service_step(id)?, name)
    }

    /// The version of `name` that task `id` (`run_sh`/`run_python` `files`) mounts.
    pub fn task_mount(&self, id: TaskId, name: &str) -> Option<ArtifactId> {
        self.bound_artifact(self.task_step(id)?, name)
    }

    /// The versions of artifact `name`, in program order (empty for an unknown name).
    pub fn versions(&self, name: &str) -> &[ArtifactId] {
        self.facts
            .versions
            .get(name)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Which version of its name artifact `id` is: 1 for the first artifact of that
    /// name, 2 for the next `store` of it, ...
    pub fn artifact_version(&self, id: ArtifactId) -> usize {
        self.version_of.get(&id).copied().unwrap_or(1)
    }

    /// The version of `name` current at the end of the plan (its last one).
    pub fn final_artifact(&self, name: &str) -> Option<ArtifactId> {
        self.versions(name).last().copied()
    }

    /// The artifacts a task's `store` produces, in store order.
    pub fn task_artifacts(&self, task: TaskId) -> &[ArtifactId] {
        self.facts
            .task_artifacts
            .get(&task)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The service an `exec`/`request`/`wait` runs against.
    pub fn task_service(&self, task: TaskId) -> Option<ServiceId> {
        self.facts.task_service.get(&task).copied()
    }

    /// The step that adds a service.
    pub fn service_step(&self, id: ServiceId) -> Option<usize> {
        self.facts.service_step.get(&id).copied()
    }

    /// The step that runs a task.
    pub fn task_step(&self, id: TaskId) -> Option<usize> {
        self.facts.task_step.get(&id).copied()
    }

    /// The step that creates an artifact (for a `store` artifact, its task's step).
    pub fn artifact_step(&self, id: ArtifactId) -> Option<usize> {
        self.facts.artifact_step.get(&id).copied()
    }

    /// What step `i` depends on.
    pub fn step_deps(&self, i: usize) -> Option<&StepDeps> {
        self.facts.step_deps.get(i)
    }

    /// Step indices in an order that respects the dependencies.
    pub fn order(&self) -> &[usize] {
        &self.facts.order
    }
}
