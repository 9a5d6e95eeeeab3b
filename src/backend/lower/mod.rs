//! The shared lowering: a validated plan as a *deployment model*, the target-neutral
//! data every static target (Compose; Helm and Terraform next) renders in its own
//! form, and whose building blocks the executor uses too.
//!
//! [`lower`] builds a [`Model`]:
//! - the final services ([`ServiceModel`]): entrypoint, cmd and env as [`Text`]
//!   (literals, typed service addresses, run-time values), typed readiness
//!   ([`probe::Readiness`]), the `exec`s to run on them ([`program::ExecCall`]),
//!   whether the package leaves them stopped;
//! - the artifacts ([`artifacts::ArtifactModel`]): file sets known now (bytes, text
//!   with holes, templates whose logic waits for a value) or produced at run time;
//! - the one-shot jobs ([`Job`]): `run_sh`/`run_python` programs, `request`s, copies
//!   out of services;
//! - the dependency edges between services and jobs ([`edges`]);
//! - the run-time value flows ([`values`]);
//! - every diagnostic, with the target's words ([`Vocabulary`]).
//!
//! Each file holds one concern: [`text`] (resolving IR strings against what the
//! target can hold, KP201/KP202), [`names`], [`probe`], [`artifacts`], [`program`]
//! and [`script`] (the one copy of the task scripts), [`edges`], [`values`]; the
//! model is assembled by [`services`] and [`tasks`]. Everything here is pure.

pub mod artifacts;
pub mod edges;
pub mod names;
pub mod probe;
pub mod program;
pub mod script;
mod services;
mod tasks;
pub mod text;
pub mod values;

use crate::diagnostic::Diagnostic;
use crate::ir::{ArtifactId, Plan, PlanInfo, ServiceId, TaskId};
use artifacts::ArtifactModel;
use program::{ExecCall, Program, RequestCall};
use std::collections::BTreeMap;
use text::{Resolver, Text};

pub use edges::{Condition, Edges};
pub use values::ValueId;

/// How a target names itself in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vocabulary {
    /// "Compose".
    pub target: &'static str,
    /// "a Compose project".
    pub project: &'static str,
    /// "the Compose project".
    pub the_project: &'static str,
    /// "a Compose file".
    pub file: &'static str,
}

/// A service or a one-shot job of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeId {
    Service(ServiceId),
    Job(JobId),
}

/// Index of a [`Job`] in [`Model::jobs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(pub u32);

/// A final service as the target runs it. Fields the model does not change (image,
/// ports, labels, user, resources, mounts...) are read from the plan's config.
#[derive(Debug, Clone)]
pub struct ServiceModel {
    pub id: ServiceId,
    /// Empty: the image's.
    pub entrypoint: Vec<Text>,
    /// Empty: the image's.
    pub cmd: Vec<Text>,
    pub env: BTreeMap<String, Text>,
    pub readiness: probe::Readiness,
    /// The `exec`s on it, in plan order.
    pub hooks: Vec<ExecCall>,
    /// The package stops it and never starts it again.
    pub stopped: bool,
    /// The step that adds it.
    pub step: usize,
}

/// A one-shot container.
#[derive(Debug, Clone)]
pub struct Job {
    pub kind: JobKind,
    /// The step it comes from (its order dependencies).
    pub step: usize,
    /// Its name before a target's rules ([`names::assign`]).
    pub base: String,
}

#[derive(Debug, Clone)]
pub enum JobKind {
    /// A `run_sh` or `run_python` (boxed: by far the largest kind).
    Task(Box<Program>),
    /// A `request` (from the target service's image).
    Request(RequestCall),
    /// `store_service_files` at run time: copy `src` out of a container of the
    /// service's image with the service's mounts.
    Copy {
        artifact: ArtifactId,
        service: ServiceId,
        src: String,
    },
}

/// The deployment model of a plan.
#[derive(Debug)]
pub struct Model {
    pub services: BTreeMap<ServiceId, ServiceModel>,
    pub artifacts: BTreeMap<ArtifactId, ArtifactModel>,
    pub jobs: Vec<Job>,
    /// The job of each `run_sh`/`run_python`/`request`.
    pub task_jobs: BTreeMap<TaskId, JobId>,
    pub values: values::Values,
    pub edges: Edges,
    /// Every problem found, errors and warnings, in the order found.
    pub diagnostics: Vec<Diagnostic>,
}

impl Model {
    pub fn job(&self, id: JobId) -> &Job {
        &self.jobs[id.0 as usize]
    }

    /// Every node with the step it comes from.
    pub fn nodes(&self) -> Vec<(NodeId, usize)> {
        let mut out: Vec<(NodeId, usize)> = self
            .services
            .values()
            .map(|s| (NodeId::Service(s.id), s.step))
            .collect();
        out.extend(
            self.jobs
                .iter()
                .enumerate()
                .map(|(i, j)| (NodeId::Job(JobId(i as u32)), j.step)),
        );
        out
    }
}

/// What the model is being built for.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub words: Vocabulary,
}

/// Lowers a validated plan into its deployment model. Problems are in
/// [`Model::diagnostics`]; a target writes nothing when one is an error.
pub fn lower(plan: &Plan, info: &PlanInfo, rules: &Rules) -> Model {
    let mut b = Builder {
        r: Resolver {
            plan,
            info,
            words: rules.words,
            values: values::Values::new(rules.words),
            diags: Vec::new(),
        },
        services: BTreeMap::new(),
        artifacts: BTreeMap::new(),
        jobs: Vec::new(),
        task_jobs: BTreeMap::new(),
        needs: Vec::new(),
    };
    artifacts::lower(&mut b);
    let mut readiness = services::readiness(&mut b);
    services::lower(&mut b, &mut readiness);
    tasks::lower(&mut b);
    let edges = edges::link(&b);
    Model {
        services: b.services,
        artifacts: b.artifacts,
        jobs: b.jobs,
        task_jobs: b.task_jobs,
        values: b.r.values,
        edges,
        diagnostics: b.r.diags,
    }
}

/// The model under construction.
pub(crate) struct Builder<'p> {
    pub r: Resolver<'p>,
    pub services: BTreeMap<ServiceId, ServiceModel>,
    pub artifacts: BTreeMap<ArtifactId, ArtifactModel>,
    pub jobs: Vec<Job>,
    pub task_jobs: BTreeMap<TaskId, JobId>,
    /// Dependencies besides step order.
    pub needs: Vec<(NodeId, Need)>,
}

/// What a node needs besides step order.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Need {
    /// Another node, in a state.
    Node(NodeId, Condition),
    /// A mounted artifact: when it is produced at run time, its producer completed.
    Artifact(ArtifactId),
}

impl Builder<'_> {
    /// The id the next job added gets (so its own strings can name it as their
    /// reader before it is built).
    pub fn next_job(&self) -> JobId {
        JobId(self.jobs.len() as u32)
    }

    pub fn add_job(&mut self, kind: JobKind, step: usize, base: String) -> JobId {
        let id = self.next_job();
        self.jobs.push(Job { kind, step, base });
        id
    }

    pub fn need(&mut self, who: NodeId, on: NodeId, c: Condition) {
        self.needs.push((who, Need::Node(on, c)));
    }

    /// `who` mounts the artifact named `name`.
    pub fn mounts(&mut self, who: NodeId, name: &str) {
        if let Some(a) = self.r.info.artifact(name) {
            self.needs.push((who, Need::Artifact(a)));
        }
    }
}
