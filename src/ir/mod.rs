//! The plan IR: typed, owned data describing everything a package asks for.
//!
//! The frontend builds a [`Plan`]; the validator checks it and returns a [`PlanInfo`];
//! backends and the executor read both. This module has no I/O and knows nothing of
//! Starlark, Docker or any output format.
//!
//! Invariants the frontend guarantees (the validator relies on them):
//! - every [`ServiceId`], [`ArtifactId`] and [`TaskId`] indexes its arena in the plan;
//! - a [`RuntimeRef`] only points at a producer recorded *before* the node holding it;
//! - strings that may hold run-time values are [`StrExpr`]s: literal text and typed
//!   references, never placeholder text to be scanned again.
//!
//! Names (of services and artifacts) used by instructions are kept as written; resolving
//! them, and reporting names that do not exist, is the validator's job ([`PlanInfo`]).

mod artifact;
mod data;
mod duration;
mod expr;
mod info;
mod service;
mod slug;
mod span;
mod step;
mod task;

pub use artifact::{Artifact, ArtifactFile, ArtifactSource, FileContent};
pub use data::Data;
pub use duration::GoDuration;
pub use expr::{Part, RuntimeRef, ServiceField, StrExpr, TaskField};
pub(crate) use info::Facts;
pub use info::{PlanInfo, StepDeps};
pub use service::{
    GpuConfig, Image, Mount, Port, ReadyCondition, Service, ServiceConfig, Toleration, Transport,
    User,
};
#[cfg(test)]
pub use slug::strings_over;
pub use slug::{dns_slug, is_name, lower, lower_digit, lower_digit_dash};
pub use span::Span;
pub use step::{Step, StepKind};
pub use task::{Assertion, ExecRecipe, HttpMethod, HttpRecipe, Recipe, StoreSpec, Task, TaskKind};

use serde::Serialize;

/// Index of a [`Service`] in [`Plan::services`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct ServiceId(pub u32);

/// Index of an [`Artifact`] in [`Plan::artifacts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct ArtifactId(pub u32);

/// Index of a [`Task`] in [`Plan::tasks`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct TaskId(pub u32);

/// Which package the plan came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackageInfo {
    /// `name` from `kurtosis.yml`, or the script's file name for a standalone script.
    pub name: String,
    /// The main file, relative to the package root (e.g. `main.star`).
    pub main_file: String,
    /// The main function (default `run`).
    pub main_function: String,
}

/// A whole interpreted package: arenas of nodes plus the steps in program order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub package: PackageInfo,
    /// Every `add_service`/`add_services` entry, in call order.
    pub services: Vec<Service>,
    /// Every files artifact produced, in call order; several may share a name (the
    /// versions of a name a task's `store` reuses: see [`PlanInfo`]).
    pub artifacts: Vec<Artifact>,
    /// Every task (exec, request, wait, verify, print, run_sh, run_python), in call order.
    pub tasks: Vec<Task>,
    /// The instructions in the order the package issued them.
    pub steps: Vec<Step>,
    /// The value `run` returned, JSON-encoded by the frontend (`None` when it returned `None`).
    pub output: Option<Data>,
}

impl Plan {
    pub fn service(&self, id: ServiceId) -> &Service {
        &self.services[id.0 as usize]
    }
    pub fn artifact(&self, id: ArtifactId) -> &Artifact {
        &self.artifacts[id.0 as usize]
    }
    pub fn task(&self, id: TaskId) -> &Task {
        &self.tasks[id.0 as usize]
    }
    pub fn service_ids(&self) -> impl Iterator<Item = ServiceId> {
        (0..self.services.len() as u32).map(ServiceId)
    }
    pub fn artifact_ids(&self) -> impl Iterator<Item = ArtifactId> {
        (0..self.artifacts.len() as u32).map(ArtifactId)
    }
    pub fn task_ids(&self) -> impl Iterator<Item = TaskId> {
        (0..self.tasks.len() as u32).map(TaskId)
    }
}
