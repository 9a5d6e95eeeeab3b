//! What validation proves about a plan, handed to backends and the executor.

use super::{ArtifactId, ServiceId, TaskId};
use std::collections::BTreeMap;

/// The validator's proof: every name resolves, dependencies are acyclic, and the
/// resolution tables below are complete for the plan they were computed from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanInfo {
    /// Service name -> the service that holds that name at the end of the plan
    /// (removed services are absent).
    pub final_services: BTreeMap<String, ServiceId>,
    /// Artifact name -> the artifact.
    pub artifacts: BTreeMap<String, ArtifactId>,
    /// Artifacts produced by each task's `store` (in store order).
    pub task_artifacts: BTreeMap<TaskId, Vec<ArtifactId>>,
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
