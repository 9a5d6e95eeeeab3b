//! Services the package adds, uses and removes again ("transient" services), which
//! `kplan apply` does not run: it converges Docker to the services that exist at the end
//! of the plan. A task that runs against such a service is reported before any change
//! (KP504), instead of failing midway through an apply.

use crate::diagnostic::Diagnostic;
use crate::ir::{Plan, ServiceId, Span, StepKind, TaskKind};
use std::collections::BTreeMap;

/// One error per `exec`/`request`/`wait` that targets a service the package removes
/// (or replaces under the same name) later.
pub fn tasks_on_removed_services(plan: &Plan) -> Vec<Diagnostic> {
    let mut current: BTreeMap<&str, ServiceId> = BTreeMap::new();
    let mut removed_at: BTreeMap<ServiceId, &Span> = BTreeMap::new();
    // (task index, target name, the service the name meant at that point)
    let mut uses = Vec::new();
    for step in &plan.steps {
        match &step.kind {
            StepKind::AddServices(ids) => {
                for id in ids {
                    current.insert(plan.service(*id).name.as_str(), *id);
                }
            }
            StepKind::RemoveService(name) => {
                if let Some(id) = current.remove(name.as_str()) {
                    removed_at.insert(id, &step.at);
                }
            }
            StepKind::RunTask(tid) => {
                let task = plan.task(*tid);
                match &task.kind {
                    TaskKind::Exec { service_name, .. }
                    | TaskKind::Request { service_name, .. }
                    | TaskKind::Wait { service_name, .. } => {
                        if let Some(id) = current.get(service_name.as_str()) {
                            uses.push((*tid, service_name.as_str(), *id));
                        }
                    }
                    TaskKind::Verify { .. }
                    | TaskKind::Print { .. }
                    | TaskKind::RunSh { .. }
                    | TaskKind::RunPython { .. } => {}
                }
            }
            StepKind::StartService(_) | StepKind::StopService(_) | StepKind::CreateArtifact(_) => {}
        }
    }
    uses.into_iter()
        .filter(|(_, name, id)| current.get(name) != Some(id))
        .map(|(tid, name, id)| {
            let task = plan.task(tid);
            let mut d = Diagnostic::error(
                "KP504",
                format!(
                    "plan.{} runs against service '{name}', which the package removes later; kplan apply runs only the services that exist at the end of the plan",
                    task.kind.instruction()
                ),
                Some(task.at.clone()),
            )
            .with_hint(format!(
                "keep '{name}' in the plan (drop the plan.remove_service call), or do this work in a plan.run_sh task, which kplan runs as a one-shot container"
            ));
            d = d.with_related(plan.service(id).at.clone(), format!("'{name}' is added here"));
            if let Some(at) = removed_at.get(&id) {
                d = d.with_related((*at).clone(), "and removed here");
            }
            d
        })
        .collect()
}
