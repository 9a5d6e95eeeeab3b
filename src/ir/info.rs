//! What validation proves about a plan, handed to backends and the executor.
//!
//! [`PlanInfo`] is a proof: its fields are private and the only constructor,
//! [`PlanInfo::proven`], is called by the validator (`src/validate/resolve.rs`) once
//! every name resolved and the steps were found acyclic. Backends and the executor
//! read the facts through accessors and never recompute them: which services exist
//! at the end of the plan, which of those the package leaves stopped, the service
//! each `exec`/`request`/`wait` runs against, the step that creates each node, and
//! which services use their own address (`private_ip_address_placeholder`).

use super::{ArtifactId, ServiceId, TaskId};
use std::collections::{BTreeMap, BTreeSet};

/// The validator's proof: every name resolves, dependencies are acyclic, and the
/// tables below are complete for the plan they were computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanInfo {
    facts: Facts,
    /// The values of `facts.final_services`, for [`PlanInfo::is_final`].
    final_ids: BTreeSet<ServiceId>,
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
    /// Artifact name -> the artifact.
    pub artifacts: BTreeMap<String, ArtifactId>,
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
        PlanInfo { facts, final_ids }
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

    /// Artifact name -> the artifact.
    pub fn artifacts(&self) -> &BTreeMap<String, ArtifactId> {
        &self.facts.artifacts
    }

    /// The artifact named `name`.
    pub fn artifact(&self, name: &str) -> Option<ArtifactId> {
        self.facts.artifacts.get(name).copied()
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
