//! Files artifacts by name (KP105, KP106), following Kurtosis's validator:
//! `upload_files`, `render_templates` and `store_service_files` refuse a name already
//! produced in this run (KP106), while a `run_sh`/`run_python` `store` may reuse one
//! and so makes a new *version* of it. Each consumer binds, at its own step, to the
//! version current there (see [`crate::ir::PlanInfo::bound_artifact`]); a name not
//! produced yet cannot be mounted (KP105).

use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{ArtifactId, ArtifactSource, Plan, Span};
use std::collections::BTreeMap;

/// The artifacts of the simulated environment at the step being checked.
#[derive(Default)]
pub struct Artifacts {
    /// The current version of each artifact name produced so far.
    current: BTreeMap<String, ArtifactId>,
    /// Every version of each name, in program order.
    pub versions: BTreeMap<String, Vec<ArtifactId>>,
    /// Per consuming step: name -> the version it mounts.
    pub bindings: BTreeMap<usize, BTreeMap<String, ArtifactId>>,
}

impl Artifacts {
    /// KP105: step `step` mounts artifact `name` (for `what`, at `at`): binds it to
    /// the current version.
    pub fn mount(
        &mut self,
        plan: &Plan,
        name: &str,
        what: &str,
        at: &Span,
        step: usize,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<ArtifactId> {
        let Some(id) = self.current.get(name) else {
            diags.push(missing(plan, name, what, at));
            return None;
        };
        self.bindings
            .entry(step)
            .or_default()
            .insert(name.to_owned(), *id);
        Some(*id)
    }

    /// KP106: artifact `id` is produced, a new version of its name. Only a task's
    /// `store` may produce a name that exists already.
    pub fn produce(&mut self, plan: &Plan, id: ArtifactId) -> Option<Diagnostic> {
        let a = plan.artifact(id);
        let instruction = match &a.source {
            ArtifactSource::Upload { .. } => Some("upload_files"),
            ArtifactSource::Templates { .. } => Some("render_templates"),
            ArtifactSource::ServiceFiles { .. } => Some("store_service_files"),
            ArtifactSource::TaskStore { .. } => None,
        };
        if let (Some(instruction), Some(prev)) = (instruction, self.current.get(&a.name)) {
            return Some(
                Diagnostic::error(
                    Code::KP106,
                    format!(
                        "{instruction} cannot use files artifact name '{}': it is already produced earlier in this run",
                        a.name
                    ),
                    Some(a.at.clone()),
                )
                .with_related(plan.artifact(*prev).at.clone(), "last produced here")
                .with_hint("give this artifact its own name (only a run_sh/run_python store may store a new version under a name that exists)"),
            );
        }
        self.current.insert(a.name.clone(), id);
        self.versions.entry(a.name.clone()).or_default().push(id);
        None
    }
}

/// KP105 for a name no step before has produced; points at a later production if any.
fn missing(plan: &Plan, name: &str, what: &str, at: &Span) -> Diagnostic {
    let d = Diagnostic::error(
        Code::KP105,
        format!("files artifact '{name}' mounted by {what} does not exist"),
        Some(at.clone()),
    );
    match plan.artifacts.iter().find(|a| a.name == name) {
        Some(later) => d
            .with_related(later.at.clone(), "it is created here, after it is used")
            .with_hint("create the artifact before the instruction that mounts it"),
        None => d.with_hint("create it with plan.upload_files, plan.render_templates, plan.store_service_files or a task's store, and use the name it returns"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::TaskId;
    use crate::validate::testing::{at, plan, upload};

    #[test]
    fn a_mount_needs_an_artifact_produced_before() {
        let mut p = plan();
        p.artifacts.push(upload("cfg", 4));
        let mut a = Artifacts::default();
        let mut diags = Vec::new();
        assert!(a
            .mount(&p, "cfg", "service 'web' at /cfg", &at(2), 0, &mut diags)
            .is_none());
        assert!(a
            .mount(&p, "other", "run_sh at /x", &at(2), 0, &mut diags)
            .is_none());
        assert_eq!(
            diags[0].message,
            "files artifact 'cfg' mounted by service 'web' at /cfg does not exist"
        );
        assert_eq!(
            diags[0].related,
            [(at(4), "it is created here, after it is used".into())]
        );
        assert!(diags[1].related.is_empty());

        assert!(a.produce(&p, ArtifactId(0)).is_none());
        let mut diags = Vec::new();
        assert_eq!(
            a.mount(&p, "cfg", "x", &at(5), 3, &mut diags),
            Some(ArtifactId(0))
        );
        assert!(diags.is_empty());
        assert_eq!(a.versions["cfg"], [ArtifactId(0)]);
        assert_eq!(a.bindings[&3]["cfg"], ArtifactId(0));
    }

    #[test]
    fn only_a_task_store_makes_a_new_version_of_a_name() {
        let mut p = plan();
        p.artifacts.push(upload("cfg", 1));
        p.artifacts.push(upload("cfg", 2));
        let mut stored = upload("cfg", 3);
        stored.source = ArtifactSource::TaskStore {
            task: TaskId(0),
            src: "/out".into(),
        };
        p.artifacts.push(stored);
        let mut a = Artifacts::default();
        assert!(a.produce(&p, ArtifactId(0)).is_none());
        let d = a.produce(&p, ArtifactId(1)).expect("KP106");
        assert!(d
            .message
            .starts_with("upload_files cannot use files artifact name 'cfg'"));
        assert_eq!(d.related, [(at(1), "last produced here".into())]);
        assert!(a.produce(&p, ArtifactId(2)).is_none());
        assert_eq!(
            a.mount(&p, "cfg", "x", &at(4), 3, &mut Vec::new()),
            Some(ArtifactId(2))
        );
        assert_eq!(a.versions["cfg"], [ArtifactId(0), ArtifactId(2)]);
    }
}
