//! Dependency edges between the model's nodes: what each service or job waits for,
//! and in which state. They come from the validator's step dependencies (data
//! dependencies, and everything after a `wait`) plus what the model adds: a mounted
//! run-time artifact needs its producer completed, a request or copy needs its
//! service started.
//!
//! What each node *uses* (the services, task results and artifacts its strings and
//! mounts refer to: [`service_uses`], [`task_uses`], [`files_uses`]) is defined here
//! too; `kplan apply` redoes a node when something it uses is redone.
//!
//! Rules: depending on a service means `Started`, or `Ready` when it has readiness
//! checks (Kurtosis returns from `add_service` once it is ready); a job means
//! `Completed`; a `wait` means `Ready`; a service the package leaves stopped is not
//! depended on at all.

use super::artifacts::ArtifactModel;
use super::{Builder, Need, NodeId};
use crate::ir::{
    ArtifactId, ArtifactSource, Data, FileContent, Mount, Plan, PlanInfo, Recipe, RuntimeRef,
    ServiceId, StepKind, StrExpr, TaskId, TaskKind,
};
use std::collections::{BTreeMap, BTreeSet};

/// The state a dependency must reach. Ordered weakest first, so merging two needs
/// keeps the stronger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Condition {
    Started,
    /// Its readiness checks pass.
    Ready,
    /// A job ran to completion successfully.
    Completed,
}

/// Who waits for whom: `edges[who][on] = condition`.
pub type Edges = BTreeMap<NodeId, BTreeMap<NodeId, Condition>>;

/// The final edges of the model.
pub(crate) fn link(b: &Builder) -> Edges {
    let mut needs: BTreeMap<NodeId, BTreeMap<NodeId, Condition>> = BTreeMap::new();
    let mut add = |who: NodeId, on: NodeId, c: Condition| {
        if who == on {
            return;
        }
        let e = needs.entry(who).or_default().entry(on).or_insert(c);
        *e = (*e).max(c);
    };
    let mut owners: Vec<(NodeId, usize)> =
        b.m.services
            .values()
            .map(|s| (NodeId::Service(s.id), s.step))
            .collect();
    owners.extend(
        b.m.jobs
            .iter()
            .enumerate()
            .map(|(i, j)| (NodeId::Job(super::JobId(i as u32)), j.step)),
    );
    for (who, step) in &owners {
        let mut targets = Vec::new();
        let mut seen = BTreeSet::new();
        if let Some(d) = b.r.info.step_deps(*step) {
            for a in &d.after {
                step_targets(b, *a, &mut seen, &mut targets);
            }
        }
        for (on, c) in targets {
            add(*who, on, c);
        }
    }
    // Readers of a run-time value need its producer; producers need the store.
    for f in &b.r.values.flows {
        if let Some((p, c)) = value_producer(b, f.task, &f.field) {
            for r in &f.readers {
                add(*r, p, c);
            }
        }
    }
    for (t, j) in &b.m.extract_jobs {
        if let Some((p, c)) = value_producer(b, *t, &crate::ir::TaskField::Output) {
            add(NodeId::Job(*j), p, c);
        }
    }
    if let Some(store) = b.m.store_job {
        for (n, _) in &owners {
            if *n != NodeId::Job(store) && super::writes_values(&b.m.services, &b.m.jobs, *n) {
                add(*n, NodeId::Job(store), Condition::Completed);
            }
        }
    }
    for (who, need) in &b.needs {
        match need {
            Need::Node(on, c) => add(*who, *on, *c),
            Need::Artifact(a) => {
                if let Some(p) = producer(b, *a) {
                    add(*who, p, Condition::Completed);
                }
            }
        }
    }
    let exists = |n: &NodeId| match n {
        NodeId::Service(s) => b.m.services.contains_key(s),
        NodeId::Job(j) => (j.0 as usize) < b.m.jobs.len(),
    };
    let mut out = Edges::new();
    for (who, targets) in needs {
        if !exists(&who) {
            continue;
        }
        for (on, mut c) in targets {
            if !exists(&on) {
                continue;
            }
            let ready = match on {
                NodeId::Service(s) => {
                    if b.m.services[&s].stopped {
                        continue;
                    }
                    !b.m.services[&s].readiness.checks.is_empty()
                }
                NodeId::Job(_) => false,
            };
            if c == Condition::Started && ready {
                c = Condition::Ready;
            }
            if c == Condition::Ready && !ready {
                c = Condition::Started;
            }
            out.entry(who).or_default().insert(on, c);
        }
    }
    out
}

/// The job that produces a run-time artifact.
pub(crate) fn producer(b: &Builder, a: crate::ir::ArtifactId) -> Option<NodeId> {
    match b.m.artifacts.get(&a)? {
        ArtifactModel::Files(_) | ArtifactModel::Copied(_) => None,
        ArtifactModel::ServiceCopy { job, .. } | ArtifactModel::Rendered { job, .. } => {
            Some(NodeId::Job(*job))
        }
        ArtifactModel::TaskStore { task, .. } => b.m.task_jobs.get(task).map(|j| NodeId::Job(*j)),
    }
}

/// What depending on step `i` means for the nodes of the model.
fn step_targets(
    b: &Builder,
    i: usize,
    seen: &mut BTreeSet<usize>,
    out: &mut Vec<(NodeId, Condition)>,
) {
    if !seen.insert(i) {
        return;
    }
    let recurse = |seen: &mut BTreeSet<usize>, out: &mut Vec<(NodeId, Condition)>| {
        if let Some(d) = b.r.info.step_deps(i) {
            for a in &d.after {
                step_targets(b, *a, seen, out);
            }
        }
    };
    let Some(step) = b.r.plan.steps.get(i) else {
        return;
    };
    match &step.kind {
        StepKind::AddServices(ids) => {
            for id in ids {
                if b.m.services.contains_key(id) {
                    out.push((NodeId::Service(*id), Condition::Started));
                }
            }
        }
        StepKind::RunTask(t) => match &b.r.plan.task(*t).kind {
            TaskKind::RunSh { .. } | TaskKind::RunPython { .. } | TaskKind::Request { .. } => {
                if let Some(j) = b.m.task_jobs.get(t) {
                    out.push((NodeId::Job(*j), Condition::Completed));
                }
            }
            TaskKind::Exec { .. } => {
                if let Some(s) =
                    b.r.info
                        .task_service(*t)
                        .filter(|s| b.m.services.contains_key(s))
                {
                    out.push((NodeId::Service(s), Condition::Started));
                }
            }
            TaskKind::Wait { .. } => {
                if let Some(s) =
                    b.r.info
                        .task_service(*t)
                        .filter(|s| b.m.services.contains_key(s))
                {
                    out.push((NodeId::Service(s), Condition::Ready));
                }
            }
            TaskKind::Verify { .. } => match b.m.verify_jobs.get(t) {
                Some(j) => out.push((NodeId::Job(*j), Condition::Completed)),
                None => recurse(seen, out),
            },
            TaskKind::Print { .. } => recurse(seen, out),
        },
        StepKind::CreateArtifact(a) => match b.m.artifacts.get(a) {
            Some(m) if m.is_runtime() => {
                if let Some(p) = producer(b, *a) {
                    out.push((p, Condition::Completed));
                }
            }
            // A rendered template that names a service is a use of that service.
            Some(_) => recurse(seen, out),
            None => {}
        },
        StepKind::RemoveService(_) | StepKind::StartService(_) | StepKind::StopService(_) => {
            recurse(seen, out);
        }
    }
}

/// The node that writes `task`'s `field` into the value store, and the state it must
/// reach: a task's job completed, an exec's service started (its hooks ran), an
/// extract's job completed.
fn value_producer(
    b: &Builder,
    task: crate::ir::TaskId,
    field: &crate::ir::TaskField,
) -> Option<(NodeId, Condition)> {
    if let Some(j) = b.m.wait_jobs.get(&task) {
        return Some((NodeId::Job(*j), Condition::Completed));
    }
    if let crate::ir::TaskField::Extract(_) = field {
        return b
            .m
            .extract_jobs
            .get(&task)
            .map(|j| (NodeId::Job(*j), Condition::Completed));
    }
    match &b.r.plan.task(task).kind {
        TaskKind::RunSh { .. } | TaskKind::RunPython { .. } | TaskKind::Request { .. } => {
            b.m.task_jobs
                .get(&task)
                .map(|j| (NodeId::Job(*j), Condition::Completed))
        }
        TaskKind::Exec { .. } => {
            b.r.info
                .task_service(task)
                .map(|s| (NodeId::Service(s), Condition::Started))
        }
        TaskKind::Wait { .. } | TaskKind::Verify { .. } | TaskKind::Print { .. } => None,
    }
}

/// What one service, task or template uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Uses {
    pub services: BTreeSet<ServiceId>,
    pub tasks: BTreeSet<TaskId>,
    pub artifacts: BTreeSet<ArtifactId>,
    /// The references behind `services` and `tasks`, with the field each reads
    /// (`kplan graph` labels its edges with them).
    pub refs: BTreeSet<RuntimeRef>,
    /// The mounts behind `artifacts`: (artifact, the path it is mounted at).
    pub mounts: BTreeSet<(ArtifactId, String)>,
}

impl Uses {
    fn expr(&mut self, e: &StrExpr) {
        for r in e.refs() {
            match r {
                RuntimeRef::Service { service, .. } => {
                    self.services.insert(*service);
                }
                RuntimeRef::Task { task, .. } => {
                    self.tasks.insert(*task);
                }
            }
            self.refs.insert(r.clone());
        }
    }

    fn data(&mut self, d: &Data) {
        for e in d.strings() {
            self.expr(e);
        }
    }

    fn recipe(&mut self, r: &Recipe) {
        match r {
            Recipe::Exec(e) => e.command.iter().for_each(|c| self.expr(c)),
            Recipe::Http(h) => h.body.iter().for_each(|b| self.expr(b)),
        }
    }

    fn mount(&mut self, path: &str, a: Option<ArtifactId>) {
        if let Some(a) = a {
            self.artifacts.insert(a);
            self.mounts.insert((a, path.to_owned()));
        }
    }
}

/// What service `id`'s config uses: services and task results its strings refer to
/// (entrypoint, cmd, env, ready condition) and the artifacts it mounts (the versions
/// bound at its step).
pub fn service_uses(plan: &Plan, info: &PlanInfo, id: ServiceId) -> Uses {
    let c = &plan.service(id).config;
    let mut i = Uses::default();
    c.entrypoint
        .iter()
        .chain(&c.cmd)
        .chain(c.env_vars.values())
        .for_each(|e| i.expr(e));
    if let Some(rc) = &c.ready_conditions {
        i.recipe(&rc.recipe);
        i.data(&rc.target_value);
    }
    for (path, m) in &c.files {
        match m {
            Mount::Artifacts(names) => names
                .iter()
                .for_each(|n| i.mount(path, info.service_mount(id, n))),
            Mount::Persistent { .. } => {}
        }
    }
    i.services.remove(&id);
    i.refs
        .retain(|r| !matches!(r, RuntimeRef::Service { service, .. } if *service == id));
    i
}

/// What task `id` uses besides the service it runs against (whose container is part
/// of its key already): services and task results its strings refer to, and the
/// artifacts it mounts (the versions bound at its step).
pub fn task_uses(plan: &Plan, info: &PlanInfo, id: TaskId) -> Uses {
    let t = plan.task(id);
    let mut i = Uses::default();
    task_strings(&t.kind).into_iter().for_each(|e| i.expr(e));
    match &t.kind {
        TaskKind::RunSh { files, .. } | TaskKind::RunPython { files, .. } => files
            .iter()
            .for_each(|(path, n)| i.mount(path, info.task_mount(id, n))),
        TaskKind::Exec { .. }
        | TaskKind::Request { .. }
        | TaskKind::Wait { .. }
        | TaskKind::Verify { .. }
        | TaskKind::Print { .. } => {}
    }
    i.tasks.remove(&id);
    i.refs
        .retain(|r| !matches!(r, RuntimeRef::Task { task, .. } if *task == id));
    i
}

/// What the contents of an `upload_files`/`render_templates` artifact are made from:
/// the services and task results its template data and texts refer to.
pub fn files_uses(plan: &Plan, id: ArtifactId) -> Uses {
    let mut i = Uses::default();
    match &plan.artifact(id).source {
        ArtifactSource::Upload { files, .. } | ArtifactSource::Templates { files } => {
            for f in files {
                match &f.content {
                    FileContent::Static(_) => {}
                    FileContent::Text(e) => i.expr(e),
                    FileContent::Template { data, .. } => i.data(data),
                }
            }
        }
        ArtifactSource::ServiceFiles { .. } | ArtifactSource::TaskStore { .. } => {}
    }
    i
}

fn recipe_strings(r: &Recipe) -> Vec<&StrExpr> {
    match r {
        Recipe::Exec(e) => e.command.iter().collect(),
        Recipe::Http(h) => h.body.iter().collect(),
    }
}

/// Every string of a task that may hold run-time values.
pub fn task_strings(kind: &TaskKind) -> Vec<&StrExpr> {
    let mut out: Vec<&StrExpr> = Vec::new();
    match kind {
        TaskKind::Exec { recipe, .. } => out.extend(recipe.command.iter()),
        TaskKind::Request { recipe, .. } => out.extend(recipe.body.iter()),
        TaskKind::Wait {
            recipe: r,
            target_value,
            ..
        } => {
            out.extend(recipe_strings(r));
            out.extend(target_value.strings());
        }
        TaskKind::Verify {
            value,
            target_value,
            ..
        } => {
            out.push(value);
            out.extend(target_value.strings());
        }
        TaskKind::Print { message } => out.push(message),
        TaskKind::RunSh { run, env_vars, .. } => {
            out.push(run);
            out.extend(env_vars.values());
        }
        TaskKind::RunPython { args, .. } => out.extend(args.iter()),
    }
    out
}
