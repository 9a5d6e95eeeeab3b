//! Walks the steps in program order against a simulated environment (which services
//! exist, which artifacts were produced), the way Kurtosis validates, and records what
//! each step depends on (KP104-KP108, KP110, KP112).
//!
//! Artifact names follow Kurtosis's validator: `upload_files`, `render_templates` and
//! `store_service_files` refuse a name already produced in this run (KP106), while a
//! `run_sh`/`run_python` `store` may reuse one and so makes a new *version* of it.
//! Each consumer binds, at its own step, to the version current there (see
//! [`crate::ir::PlanInfo::bound_artifact`]).

use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{
    ArtifactId, ArtifactSource, Data, Facts, FileContent, Mount, Plan, PlanInfo, Recipe,
    RuntimeRef, ServiceField, ServiceId, Span, StepDeps, StepKind, StrExpr, TaskId, TaskKind,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};

struct Env<'p> {
    plan: &'p Plan,
    /// Services that exist now, by name.
    live: BTreeMap<String, ServiceId>,
    /// Services removed so far.
    removed: BTreeSet<ServiceId>,
    /// The current version of each artifact name produced so far.
    artifacts: BTreeMap<String, ArtifactId>,
    /// Every version of each name, in program order.
    versions: BTreeMap<String, Vec<ArtifactId>>,
    /// Per consuming step: name -> the version it mounts.
    bindings: BTreeMap<usize, BTreeMap<String, ArtifactId>>,
    /// The step being checked.
    step: usize,
    /// Which step produced each service, artifact and task.
    service_step: HashMap<ServiceId, usize>,
    artifact_step: HashMap<ArtifactId, usize>,
    task_step: HashMap<TaskId, usize>,
    /// The last step that changed each service (its add, or an exec on it).
    service_writer: HashMap<ServiceId, usize>,
    /// The latest `wait` step: everything after it waits for it.
    barrier: Option<usize>,
    /// The service each exec/request/wait runs against.
    task_service: BTreeMap<TaskId, ServiceId>,
    /// Service name -> whether it runs after the steps so far (stop/start).
    running: BTreeMap<String, bool>,
    diags: &'p mut Vec<Diagnostic>,
}

/// What one step consumes while it is being checked.
#[derive(Default)]
struct Uses {
    services: BTreeSet<ServiceId>,
    artifacts: BTreeSet<ArtifactId>,
    tasks: BTreeSet<TaskId>,
}

impl Env<'_> {
    fn service(
        &mut self,
        name: &str,
        instruction: &str,
        at: &Span,
        uses: &mut Uses,
    ) -> Option<ServiceId> {
        match self.live.get(name) {
            Some(id) => {
                uses.services.insert(*id);
                Some(*id)
            }
            None => {
                let known: Vec<&String> = self.live.keys().collect();
                let hint = if known.is_empty() {
                    "add the service with plan.add_service before this instruction".to_owned()
                } else {
                    format!(
                        "services that exist here: {}",
                        known
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                self.diags.push(
                    Diagnostic::error(
                        Code::KP107,
                        format!(
                            "service '{name}' used by '{instruction}' does not exist at this point"
                        ),
                        Some(at.clone()),
                    )
                    .with_hint(hint),
                );
                None
            }
        }
    }

    /// A mount of artifact `name` by the current step: binds it to the current version.
    fn artifact(&mut self, name: &str, what: &str, at: &Span, uses: &mut Uses) {
        match self.artifacts.get(name) {
            Some(id) => {
                uses.artifacts.insert(*id);
                self.bindings
                    .entry(self.step)
                    .or_default()
                    .insert(name.to_owned(), *id);
            }
            None => {
                let later = self.plan.artifacts.iter().position(|a| a.name == name);
                let mut d = Diagnostic::error(
                    Code::KP105,
                    format!("files artifact '{name}' mounted by {what} does not exist"),
                    Some(at.clone()),
                );
                match later {
                    Some(i) => {
                        d = d
                            .with_related(
                                self.plan.artifacts[i].at.clone(),
                                "it is created here, after it is used",
                            )
                            .with_hint("create the artifact before the instruction that mounts it");
                    }
                    None => {
                        d = d.with_hint("create it with plan.upload_files, plan.render_templates, plan.store_service_files or a task's store, and use the name it returns");
                    }
                }
                self.diags.push(d);
            }
        }
    }

    fn expr(&mut self, e: &StrExpr, at: &Span, uses: &mut Uses) {
        for r in e.refs() {
            match r {
                // The address of the container holding the string: no dependency.
                RuntimeRef::Service {
                    field: ServiceField::OwnIpAddress,
                    ..
                } => {}
                RuntimeRef::Service { service, field } => {
                    if self.removed.contains(service) {
                        let s = self.plan.service(*service);
                        self.diags.push(
                            Diagnostic::error(
                                Code::KP110,
                                format!(
                                    "the {} of service '{}' is used after the service was removed",
                                    field.as_str(),
                                    s.name
                                ),
                                Some(at.clone()),
                            )
                            .with_related(s.at.clone(), "the service is added here"),
                        );
                    }
                    uses.services.insert(*service);
                }
                RuntimeRef::Task { task, .. } => {
                    uses.tasks.insert(*task);
                }
            }
        }
    }

    fn data(&mut self, d: &Data, at: &Span, uses: &mut Uses) {
        for s in d.strings() {
            self.expr(s, at, uses);
        }
    }

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
                    if !s.config.ports.contains_key(&h.port_id) {
                        let ports: Vec<&str> = s.config.ports.keys().map(String::as_str).collect();
                        self.diags.push(
                            Diagnostic::error(
                                Code::KP108,
                                format!("'{instruction}' uses port id '{}' but service '{}' has no such port", h.port_id, s.name),
                                Some(at.clone()),
                            )
                            .with_related(s.at.clone(), "the service is added here")
                            .with_hint(if ports.is_empty() { "declare the port in the service's ports".to_owned() } else { format!("its ports are: {}", ports.join(", ")) }),
                        );
                    }
                }
            }
        }
    }

    /// Artifact `id` is produced by step `step`: a new version of its name. Only a
    /// task's `store` may produce a name that exists already (KP106 otherwise).
    fn produce_artifact(&mut self, id: ArtifactId, step: usize) {
        let a = self.plan.artifact(id);
        let instruction = match &a.source {
            ArtifactSource::Upload { .. } => Some("upload_files"),
            ArtifactSource::Templates { .. } => Some("render_templates"),
            ArtifactSource::ServiceFiles { .. } => Some("store_service_files"),
            ArtifactSource::TaskStore { .. } => None,
        };
        if let (Some(instruction), Some(prev)) = (instruction, self.artifacts.get(&a.name)) {
            let prev_at = self.plan.artifact(*prev).at.clone();
            self.diags.push(
                Diagnostic::error(
                    Code::KP106,
                    format!(
                        "{instruction} cannot use files artifact name '{}': it is already produced earlier in this run",
                        a.name
                    ),
                    Some(a.at.clone()),
                )
                .with_related(prev_at, "last produced here")
                .with_hint("give this artifact its own name (only a run_sh/run_python store may store a new version under a name that exists)"),
            );
        } else {
            self.artifacts.insert(a.name.clone(), id);
            self.versions.entry(a.name.clone()).or_default().push(id);
        }
        self.artifact_step.insert(id, step);
    }
}

pub fn resolve(plan: &Plan, diags: &mut Vec<Diagnostic>) -> PlanInfo {
    let mut env = Env {
        plan,
        live: BTreeMap::new(),
        removed: BTreeSet::new(),
        artifacts: BTreeMap::new(),
        versions: BTreeMap::new(),
        bindings: BTreeMap::new(),
        step: 0,
        service_step: HashMap::new(),
        artifact_step: HashMap::new(),
        task_step: HashMap::new(),
        service_writer: HashMap::new(),
        barrier: None,
        task_service: BTreeMap::new(),
        running: BTreeMap::new(),
        diags,
    };
    let mut step_deps = Vec::with_capacity(plan.steps.len());
    let mut task_artifacts: BTreeMap<TaskId, Vec<ArtifactId>> = BTreeMap::new();
    for a in plan.artifact_ids() {
        if let ArtifactSource::TaskStore { task, .. } = &plan.artifact(a).source {
            task_artifacts.entry(*task).or_default().push(a);
        }
    }
    for (i, step) in plan.steps.iter().enumerate() {
        env.step = i;
        let mut uses = Uses::default();
        let mut writes: Vec<ServiceId> = Vec::new();
        let mut is_wait = false;
        let mut after_prev = false;
        match &step.kind {
            StepKind::AddServices(ids) => {
                for id in ids {
                    let s = plan.service(*id);
                    for (dir, m) in &s.config.files {
                        if let Mount::Artifacts(names) = m {
                            for n in names {
                                env.artifact(
                                    n,
                                    &format!("service '{}' at {dir}", s.name),
                                    &s.at,
                                    &mut uses,
                                );
                            }
                        }
                    }
                    for e in s
                        .config
                        .entrypoint
                        .iter()
                        .chain(&s.config.cmd)
                        .chain(s.config.env_vars.values())
                    {
                        env.expr(e, &s.at, &mut uses);
                    }
                    if let Some(rc) = &s.config.ready_conditions {
                        env.data(&rc.target_value, &rc.at, &mut uses);
                    }
                }
                for id in ids {
                    let s = plan.service(*id);
                    if let Some(prev) = env.live.get(&s.name) {
                        let prev_at = plan.service(*prev).at.clone();
                        env.diags.push(
                            Diagnostic::error(Code::KP104, format!("service '{}' is added twice in this package", s.name), Some(s.at.clone()))
                                .with_related(prev_at, "first added here")
                                .with_hint("give each service its own name, or remove_service the first one before adding it again"),
                        );
                    }
                    env.live.insert(s.name.clone(), *id);
                    env.running.insert(s.name.clone(), true);
                    env.service_step.insert(*id, i);
                    writes.push(*id);
                    // A ready condition's HTTP port must exist on the service itself.
                    if let Some(rc) = &s.config.ready_conditions {
                        let mut tmp = Uses::default();
                        env.recipe(&rc.recipe, Some(*id), "ready_conditions", &rc.at, &mut tmp);
                        uses.tasks.extend(tmp.tasks);
                        uses.services
                            .extend(tmp.services.into_iter().filter(|s| s != id));
                    }
                }
            }
            StepKind::RemoveService(name) => {
                if let Some(id) = env.service(name, "remove_service", &step.at, &mut uses) {
                    env.live.remove(name);
                    env.running.remove(name);
                    env.removed.insert(id);
                }
            }
            StepKind::StartService(name) => {
                if let Some(id) = env.service(name, "start_service", &step.at, &mut uses) {
                    env.running.insert(name.clone(), true);
                    writes.push(id);
                }
            }
            StepKind::StopService(name) => {
                if let Some(id) = env.service(name, "stop_service", &step.at, &mut uses) {
                    env.running.insert(name.clone(), false);
                    writes.push(id);
                }
            }
            StepKind::CreateArtifact(id) => {
                let a = plan.artifact(*id);
                match &a.source {
                    ArtifactSource::Upload { .. } => {}
                    ArtifactSource::Templates { files } => {
                        for f in files {
                            match &f.content {
                                FileContent::Static(_) => {}
                                FileContent::Text(e) => env.expr(e, &a.at, &mut uses),
                                FileContent::Template { data, .. } => {
                                    env.data(data, &a.at, &mut uses)
                                }
                            }
                        }
                    }
                    ArtifactSource::ServiceFiles { service_name, .. } => {
                        env.service(service_name, "store_service_files", &a.at, &mut uses);
                    }
                    ArtifactSource::TaskStore { .. } => {}
                }
                env.produce_artifact(*id, i);
            }
            StepKind::RunTask(tid) => {
                let t = plan.task(*tid);
                let at = &t.at;
                match &t.kind {
                    TaskKind::Exec {
                        service_name,
                        recipe,
                        ..
                    } => {
                        let sid = env.service(service_name, "exec", at, &mut uses);
                        for c in &recipe.command {
                            env.expr(c, at, &mut uses);
                        }
                        env.task_service.extend(sid.map(|s| (*tid, s)));
                        writes.extend(sid);
                    }
                    TaskKind::Request {
                        service_name,
                        recipe,
                        ..
                    } => {
                        let sid = env.service(service_name, "request", at, &mut uses);
                        env.task_service.extend(sid.map(|s| (*tid, s)));
                        env.recipe(&Recipe::Http(recipe.clone()), sid, "request", at, &mut uses);
                    }
                    TaskKind::Wait {
                        service_name,
                        recipe,
                        target_value,
                        ..
                    } => {
                        let sid = env.service(service_name, "wait", at, &mut uses);
                        env.task_service.extend(sid.map(|s| (*tid, s)));
                        env.recipe(recipe, sid, "wait", at, &mut uses);
                        env.data(target_value, at, &mut uses);
                        is_wait = true;
                    }
                    TaskKind::Verify {
                        value,
                        target_value,
                        ..
                    } => {
                        env.expr(value, at, &mut uses);
                        env.data(target_value, at, &mut uses);
                    }
                    TaskKind::Print { message } => {
                        env.expr(message, at, &mut uses);
                        after_prev = true;
                    }
                    TaskKind::RunSh {
                        run,
                        files,
                        env_vars,
                        ..
                    } => {
                        env.expr(run, at, &mut uses);
                        for v in env_vars.values() {
                            env.expr(v, at, &mut uses);
                        }
                        for (dir, n) in files {
                            env.artifact(n, &format!("run_sh at {dir}"), at, &mut uses);
                        }
                    }
                    TaskKind::RunPython { args, files, .. } => {
                        for a in args {
                            env.expr(a, at, &mut uses);
                        }
                        for (dir, n) in files {
                            env.artifact(n, &format!("run_python at {dir}"), at, &mut uses);
                        }
                    }
                }
                env.task_step.insert(*tid, i);
                for a in task_artifacts.get(tid).cloned().unwrap_or_default() {
                    env.produce_artifact(a, i);
                }
            }
        }
        let mut after: BTreeSet<usize> = BTreeSet::new();
        for s in &uses.services {
            if let Some(w) = env.service_writer.get(s).or(env.service_step.get(s)) {
                after.insert(*w);
            }
        }
        for a in &uses.artifacts {
            after.extend(env.artifact_step.get(a));
        }
        for t in &uses.tasks {
            after.extend(env.task_step.get(t));
        }
        after.extend(env.barrier);
        if after_prev && i > 0 {
            after.insert(i - 1);
        }
        after.remove(&i);
        if after.iter().any(|a| *a >= i) {
            env.diags.push(Diagnostic::error(
                Code::KP112,
                "this instruction depends on one that comes after it",
                Some(step.at.clone()),
            ));
        }
        for w in writes {
            env.service_writer.insert(w, i);
        }
        if is_wait {
            env.barrier = Some(i);
        }
        step_deps.push(StepDeps {
            services: uses.services.into_iter().collect(),
            artifacts: uses.artifacts.into_iter().collect(),
            tasks: uses.tasks.into_iter().collect(),
            after: after.into_iter().collect(),
        });
    }
    let stopped = env
        .running
        .iter()
        .filter(|(_, running)| !**running)
        .filter_map(|(name, _)| env.live.get(name).copied())
        .collect();
    let own_address_users = env
        .live
        .values()
        .copied()
        .filter(|id| uses_own_address(plan, *id))
        .collect();
    PlanInfo::proven(Facts {
        final_services: env.live,
        stopped,
        own_address_users,
        versions: env.versions,
        bindings: env.bindings,
        task_artifacts,
        task_service: env.task_service,
        service_step: env.service_step.into_iter().collect(),
        task_step: env.task_step.into_iter().collect(),
        artifact_step: env.artifact_step.into_iter().collect(),
        order: (0..plan.steps.len()).collect(),
        step_deps,
    })
}

/// Whether the service's entrypoint, cmd or env holds its own address.
fn uses_own_address(plan: &Plan, id: ServiceId) -> bool {
    let c = &plan.service(id).config;
    c.entrypoint
        .iter()
        .chain(&c.cmd)
        .chain(c.env_vars.values())
        .flat_map(StrExpr::refs)
        .any(|r| {
            matches!(
                r,
                RuntimeRef::Service {
                    field: ServiceField::OwnIpAddress,
                    ..
                }
            )
        })
}
