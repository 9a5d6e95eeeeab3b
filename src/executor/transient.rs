//! Services the package adds, uses and removes again ("transient" services), which
//! `kplan apply` does not run: it converges Docker to the services that exist at the end
//! of the plan. A task that runs against such a service is reported before any change
//! (KP504), instead of failing midway through an apply.

use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Plan, PlanInfo, ServiceId, Span, StepKind};

/// One error per `exec`/`request`/`wait` that targets a service the package removes
/// (or replaces under the same name) later: the validator's proof says which service
/// each task runs against and which services exist at the end.
pub fn tasks_on_removed_services(plan: &Plan, info: &PlanInfo) -> Vec<Diagnostic> {
    plan.task_ids()
        .filter_map(|tid| {
            let id = info.task_service(tid)?;
            (!info.is_final(id)).then_some((tid, id))
        })
        .map(|(tid, id)| {
            let task = plan.task(tid);
            let name = &plan.service(id).name;
            let mut d = Diagnostic::error(
                Code::KP504,
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
            if let Some(at) = removed_at(plan, info, id) {
                d = d.with_related(at.clone(), "and removed here");
            }
            d
        })
        .collect()
}

/// Where the package removes service `id`: the first `remove_service` of its name
/// after the step that adds it.
fn removed_at<'p>(plan: &'p Plan, info: &PlanInfo, id: ServiceId) -> Option<&'p Span> {
    let name = &plan.service(id).name;
    let added = info.service_step(id)?;
    plan.steps[added..].iter().find_map(|s| match &s.kind {
        StepKind::RemoveService(n) if n == name => Some(&s.at),
        StepKind::RemoveService(_)
        | StepKind::AddServices(_)
        | StepKind::StartService(_)
        | StepKind::StopService(_)
        | StepKind::CreateArtifact(_)
        | StepKind::RunTask(_) => None,
    })
}
