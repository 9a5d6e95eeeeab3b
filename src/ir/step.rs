//! The instructions of a plan in program order.

use super::{ArtifactId, ServiceId, Span, TaskId};
use serde::Serialize;

/// One recorded `plan.*` instruction that does something when the plan runs.
/// Interpretation-only instructions (`get_service`, `get_services`, `get_files_artifact`,
/// `get_cluster_type`, `set_service`) leave no step; `set_service` is merged into the
/// service's config by the frontend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub kind: StepKind,
    pub at: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// `add_service`, or `add_services` (all entries of one call, started as a batch).
    AddServices(Vec<ServiceId>),
    RemoveService(String),
    StartService(String),
    StopService(String),
    /// `upload_files`, `render_templates`, `store_service_files`.
    CreateArtifact(ArtifactId),
    /// Any task; a `run_sh`/`run_python` also produces its `store` artifacts.
    RunTask(TaskId),
}
