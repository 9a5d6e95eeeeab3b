//! The plan under construction: what `plan.*` instructions recorded so far, plus the
//! interpretation-time lookups Kurtosis keeps (services by name for `get_service`,
//! artifact names, placeholder UUIDs).

use super::refs::RefTable;
use super::value::KValue;
use crate::diagnostic::Diagnostic;
use crate::ir::{self, ArtifactId, ServiceId, TaskId};
use indexmap::IndexMap;
use std::collections::HashSet;

#[derive(Default)]
pub struct Recorder {
    pub services: Vec<ir::Service>,
    pub artifacts: Vec<ir::Artifact>,
    pub tasks: Vec<ir::Task>,
    pub steps: Vec<ir::Step>,
    pub refs: RefTable,
    /// Services added and not removed, in add order: id and the `Service` value
    /// `add_service` returned (what `get_service` returns).
    pub live: IndexMap<String, (ServiceId, KValue)>,
    /// Every artifact name produced so far (including `store` names of tasks).
    pub artifact_names: HashSet<String>,
    pub warnings: Vec<Diagnostic>,
}

impl Recorder {
    pub fn next_service_id(&self) -> ServiceId {
        ServiceId(self.services.len() as u32)
    }
    pub fn next_task_id(&self) -> TaskId {
        TaskId(self.tasks.len() as u32)
    }
    pub fn next_artifact_id(&self) -> ArtifactId {
        ArtifactId(self.artifacts.len() as u32)
    }

    /// A stable generated artifact name: `<stem>`, or `<stem>-2`, `-3`... when taken.
    /// Kurtosis picks a random name on every run (which defeats idempotency); kplan's
    /// names depend only on what the artifact is made from.
    pub fn generate_artifact_name(&self, stem: &str) -> String {
        let slug = crate::ir::dns_slug(stem);
        let base = if slug.is_empty() {
            "artifact".to_owned()
        } else {
            slug
        };
        if !self.artifact_names.contains(&base) {
            return base;
        }
        (2..)
            .map(|n| format!("{base}-{n}"))
            .find(|n| !self.artifact_names.contains(n))
            .unwrap_or(base)
    }
}
