//! Walks the steps in program order against a simulated environment, the way Kurtosis
//! validates: each step is checked against the services and artifacts that exist at
//! that point (the families in [`super::services`], [`super::artifacts`],
//! [`super::references`], [`super::ports`]), and what it depends on is recorded
//! ([`super::dependencies`]). The tables the walk builds become the [`PlanInfo`].

use super::artifacts::Artifacts;
use super::dependencies::{self, Effects, Producers};
use super::ports;
use super::references::{self, Uses};
use super::services::Services;
use crate::diagnostic::Diagnostic;
use crate::ir::{
    ArtifactId, ArtifactSource, Data, Facts, FileContent, Mount, Plan, PlanInfo, Recipe, ServiceId,
    Span, StepDeps, StepKind, StrExpr, TaskId, TaskKind,
};
use std::collections::BTreeMap;

/// Checks every step and returns the facts found (complete only when no error was
/// pushed onto `diags`).
pub fn resolve(plan: &Plan, diags: &mut Vec<Diagnostic>) -> PlanInfo {
    let mut w = Walk {
        plan,
        services: Services::default(),
        artifacts: Artifacts::default(),
        producers: Producers::default(),
        task_service: BTreeMap::new(),
        task_artifacts: task_artifacts(plan),
        diags,
    };
    let mut step_deps = Vec::with_capacity(plan.steps.len());
    for (i, step) in plan.steps.iter().enumerate() {
        let mut uses = Uses::default();
        let effects = w.step(i, &step.kind, &step.at, &mut uses);
        let after = w.producers.after(i, &uses, &effects);
        w.diags.extend(dependencies::cycle(i, &after, &step.at));
        w.producers.finish(i, effects);
        step_deps.push(StepDeps {
            services: uses.services.into_iter().collect(),
            artifacts: uses.artifacts.into_iter().collect(),
            tasks: uses.tasks.into_iter().collect(),
            after: after.into_iter().collect(),
        });
    }
    w.finish(step_deps)
}

/// The artifacts each task's `store` produces, in store order.
fn task_artifacts(plan: &Plan) -> BTreeMap<TaskId, Vec<ArtifactId>> {
    let mut out: BTreeMap<TaskId, Vec<ArtifactId>> = BTreeMap::new();
    for a in plan.artifact_ids() {
        if let ArtifactSource::TaskStore { task, .. } = &plan.artifact(a).source {
            out.entry(*task).or_default().push(a);
        }
    }
    out
}

struct Walk<'p> {
    plan: &'p Plan,
    services: Services,
    artifacts: Artifacts,
    producers: Producers,
    /// The service each exec/request/wait runs against.
    task_service: BTreeMap<TaskId, ServiceId>,
    task_artifacts: BTreeMap<TaskId, Vec<ArtifactId>>,
    diags: &'p mut Vec<Diagnostic>,
}

impl Walk<'_> {
    /// Checks step `i` and records what it reads into `uses`.
    fn step(&mut self, i: usize, kind: &StepKind, at: &Span, uses: &mut Uses) -> Effects {
        let mut effects = Effects::default();
        match kind {
            StepKind::AddServices(ids) => {
                self.service_inputs(i, ids, uses);
                self.add_services(i, ids, uses, &mut effects);
            }
            StepKind::RemoveService(name) => {
                if let Some(id) = self.service(name, "remove_service", at, uses) {
                    self.services.remove(name, id);
                }
            }
            StepKind::StartService(name) => {
                self.start_or_stop(name, "start_service", true, at, uses, &mut effects);
            }
            StepKind::StopService(name) => {
                self.start_or_stop(name, "stop_service", false, at, uses, &mut effects);
            }
            StepKind::CreateArtifact(id) => {
                self.artifact_inputs(*id, uses);
                self.produce(*id, i);
            }
            StepKind::RunTask(tid) => {
                self.run_task(i, *tid, uses, &mut effects);
                self.producers.task_step.insert(*tid, i);
                for a in self.task_artifacts.get(tid).cloned().unwrap_or_default() {
                    self.produce(a, i);
                }
            }
        }
        effects
    }

    /// What the services added by step `i` mount and read (all of them before any is
    /// added, as one `add_services` batch).
    fn service_inputs(&mut self, i: usize, ids: &[ServiceId], uses: &mut Uses) {
        let plan = self.plan;
        for id in ids {
            let s = plan.service(*id);
            for (dir, m) in &s.config.files {
                if let Mount::Artifacts(names) = m {
                    for n in names {
                        let what = format!("service '{}' at {dir}", s.name);
                        self.mount(n, &what, &s.at, i, uses);
                    }
                }
            }
            let c = &s.config;
            for e in c.entrypoint.iter().chain(&c.cmd).chain(c.env_vars.values()) {
                self.expr(e, &s.at, uses);
            }
            if let Some(rc) = &c.ready_conditions {
                self.data(&rc.target_value, &rc.at, uses);
            }
        }
    }

    /// Adds the services of step `i`; a ready condition's recipe runs against the
    /// service itself (its HTTP port must be the service's own).
    fn add_services(&mut self, i: usize, ids: &[ServiceId], uses: &mut Uses, fx: &mut Effects) {
        let plan = self.plan;
        for id in ids {
            let rc = &plan.service(*id).config.ready_conditions;
            self.diags.extend(self.services.add(self.plan, *id));
            self.producers.service_step.insert(*id, i);
            fx.writes.push(*id);
            if let Some(rc) = rc {
                let mut own = Uses::default();
                self.recipe(&rc.recipe, Some(*id), "ready_conditions", &rc.at, &mut own);
                uses.tasks.extend(own.tasks);
                uses.services
                    .extend(own.services.into_iter().filter(|s| s != id));
            }
        }
    }

    /// What an `upload_files`, `render_templates` or `store_service_files` reads.
    fn artifact_inputs(&mut self, id: ArtifactId, uses: &mut Uses) {
        let a = self.plan.artifact(id);
        match &a.source {
            ArtifactSource::Upload { .. } | ArtifactSource::TaskStore { .. } => {}
            ArtifactSource::Templates { files } => {
                for f in files {
                    match &f.content {
                        FileContent::Static(_) => {}
                        FileContent::Text(e) => self.expr(e, &a.at, uses),
                        FileContent::Template { data, .. } => self.data(data, &a.at, uses),
                    }
                }
            }
            ArtifactSource::ServiceFiles { service_name, .. } => {
                self.service(service_name, "store_service_files", &a.at, uses);
            }
        }
    }

    /// `start_service` (`running`) or `stop_service` of service `name`.
    fn start_or_stop(
        &mut self,
        name: &str,
        instruction: &str,
        running: bool,
        at: &Span,
        uses: &mut Uses,
        fx: &mut Effects,
    ) {
        if let Some(id) = self.service(name, instruction, at, uses) {
            self.services.set_running(name, running);
            fx.writes.push(id);
        }
    }

    /// What task `tid`, run by step `i`, runs against and reads.
    fn run_task(&mut self, i: usize, tid: TaskId, uses: &mut Uses, fx: &mut Effects) {
        let t = self.plan.task(tid);
        let at = &t.at;
        match &t.kind {
            TaskKind::Exec {
                service_name,
                recipe,
                ..
            } => {
                let sid = self.task_target(tid, service_name, "exec", at, uses);
                for c in &recipe.command {
                    self.expr(c, at, uses);
                }
                fx.writes.extend(sid);
            }
            TaskKind::Request {
                service_name,
                recipe,
                ..
            } => {
                let sid = self.task_target(tid, service_name, "request", at, uses);
                self.recipe(&Recipe::Http(recipe.clone()), sid, "request", at, uses);
            }
            TaskKind::Wait {
                service_name,
                recipe,
                target_value,
                ..
            } => {
                let sid = self.task_target(tid, service_name, "wait", at, uses);
                self.recipe(recipe, sid, "wait", at, uses);
                self.data(target_value, at, uses);
                fx.is_wait = true;
            }
            TaskKind::Verify {
                value,
                target_value,
                ..
            } => {
                self.expr(value, at, uses);
                self.data(target_value, at, uses);
            }
            TaskKind::Print { message } => {
                self.expr(message, at, uses);
                fx.after_prev = true;
            }
            TaskKind::RunSh {
                run,
                files,
                env_vars,
                ..
            } => {
                self.expr(run, at, uses);
                for v in env_vars.values() {
                    self.expr(v, at, uses);
                }
                self.task_files(i, "run_sh", files, at, uses);
            }
            TaskKind::RunPython { args, files, .. } => {
                for a in args {
                    self.expr(a, at, uses);
                }
                self.task_files(i, "run_python", files, at, uses);
            }
        }
    }

    /// The service an exec/request/wait runs against, recorded for the executor.
    fn task_target(
        &mut self,
        tid: TaskId,
        name: &str,
        instruction: &str,
        at: &Span,
        uses: &mut Uses,
    ) -> Option<ServiceId> {
        let sid = self.service(name, instruction, at, uses);
        self.task_service.extend(sid.map(|s| (tid, s)));
        sid
    }

    /// The `files` (mount path -> artifact name) of a `run_sh`/`run_python`.
    fn task_files(
        &mut self,
        i: usize,
        instruction: &str,
        files: &BTreeMap<String, String>,
        at: &Span,
        uses: &mut Uses,
    ) {
        for (dir, n) in files {
            self.mount(n, &format!("{instruction} at {dir}"), at, i, uses);
        }
    }

    /// The live service `name`, used by `instruction` (KP107 when there is none).
    fn service(
        &mut self,
        name: &str,
        instruction: &str,
        at: &Span,
        uses: &mut Uses,
    ) -> Option<ServiceId> {
        let id = self.services.lookup(name, instruction, at, self.diags);
        uses.services.extend(id);
        id
    }

    /// Step `i` mounts artifact `name` (KP105 when it does not exist yet).
    fn mount(&mut self, name: &str, what: &str, at: &Span, i: usize, uses: &mut Uses) {
        let id = self
            .artifacts
            .mount(self.plan, name, what, at, i, self.diags);
        uses.artifacts.extend(id);
    }

    /// Step `i` produces artifact `id` (KP106 when its name may not be reused).
    fn produce(&mut self, id: ArtifactId, i: usize) {
        self.diags.extend(self.artifacts.produce(self.plan, id));
        self.producers.artifact_step.insert(id, i);
    }

    /// A recipe run by `instruction` against `service` (when it exists).
    fn recipe(
        &mut self,
        r: &Recipe,
        service: Option<ServiceId>,
        instruction: &str,
        at: &Span,
        uses: &mut Uses,
    ) {
        match r {
            Recipe::Exec(e) => {
                for c in &e.command {
                    self.expr(c, at, uses);
                }
            }
            Recipe::Http(h) => {
                if let Some(b) = &h.body {
                    self.expr(b, at, uses);
                }
                if let Some(id) = service {
                    let s = self.plan.service(id);
                    self.diags.extend(ports::recipe_port(s, h, instruction, at));
                }
            }
        }
    }

    fn expr(&mut self, e: &StrExpr, at: &Span, uses: &mut Uses) {
        references::expr(self.plan, &self.services, e, at, uses, self.diags);
    }

    fn data(&mut self, d: &Data, at: &Span, uses: &mut Uses) {
        references::data(self.plan, &self.services, d, at, uses, self.diags);
    }

    /// The proof, from the tables the walk built.
    fn finish(self, step_deps: Vec<StepDeps>) -> PlanInfo {
        let plan = self.plan;
        let stopped = self.services.stopped();
        let final_services = self.services.into_live();
        let own_address_users = final_services
            .values()
            .copied()
            .filter(|id| references::uses_own_address(plan, *id))
            .collect();
        PlanInfo::proven(Facts {
            final_services,
            stopped,
            own_address_users,
            versions: self.artifacts.versions,
            bindings: self.artifacts.bindings,
            task_artifacts: self.task_artifacts,
            task_service: self.task_service,
            service_step: self.producers.service_step.into_iter().collect(),
            task_step: self.producers.task_step.into_iter().collect(),
            artifact_step: self.producers.artifact_step.into_iter().collect(),
            order: (0..plan.steps.len()).collect(),
            step_deps,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Code;
    use crate::validate::testing::{at, plan, service, step, upload};

    #[test]
    fn each_step_is_checked_against_what_exists_at_that_point() {
        let mut p = plan();
        let mut web = service("web", 2);
        web.config
            .files
            .insert("/cfg".into(), Mount::Artifacts(vec!["cfg".into()]));
        p.services.push(web);
        p.artifacts.push(upload("cfg", 1));
        p.steps = vec![
            step(StepKind::CreateArtifact(ArtifactId(0)), 1),
            step(StepKind::AddServices(vec![ServiceId(0)]), 2),
            step(StepKind::StopService("web".into()), 3),
            step(StepKind::RemoveService("web".into()), 4),
            step(StepKind::StartService("web".into()), 5),
        ];
        let mut diags = Vec::new();
        let info = resolve(&p, &mut diags);
        let found: Vec<_> = diags.iter().map(|d| (d.code, d.at.clone())).collect();
        assert_eq!(found, [(Code::KP107, Some(at(5)))]);
        let deps = |i| info.step_deps(i).cloned().unwrap_or_default();
        assert_eq!(deps(1).artifacts, [ArtifactId(0)]);
        assert_eq!(deps(1).after, [0]);
        assert_eq!(deps(3).after, [2]);
        assert_eq!(info.bound_artifact(1, "cfg"), Some(ArtifactId(0)));
        assert!(info.final_services().is_empty());
    }
}
