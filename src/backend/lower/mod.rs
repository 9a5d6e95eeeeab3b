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
//!   out of services, and kplan's own jobs for run-time values (preparing the value
//!   store, jq extracts, rendering files with run-time holes, `verify`s);
//! - the dependency edges between services and jobs ([`edges`]);
//! - the run-time value flows ([`values`]);
//! - every diagnostic, with the target's words ([`Vocabulary`]).
//!
//! Each file holds one concern: [`text`] (resolving IR strings against what the
//! target can hold, KP201/KP202), [`names`], [`probe`], [`artifacts`], [`program`]
//! and [`script`] (the one copy of the task scripts), [`store`] (the value store in
//! POSIX sh), [`value_scripts`] (kplan's own jobs on it), [`oneshot`] (the commands
//! of the jobs, for targets that run them), [`edges`], [`values`]; the model is
//! assembled by `services.rs` and `tasks.rs`. Everything here is pure: the engine is
//! never asked (an image's entrypoint comes in through [`Rules::images`]).

pub mod artifacts;
pub mod edges;
pub mod names;
pub mod oneshot;
pub mod probe;
pub mod program;
pub mod script;
mod services;
pub mod store;
mod tasks;
pub mod text;
pub mod value_scripts;
pub mod values;

use crate::diagnostic::Diagnostic;
use crate::ir::{ArtifactId, Assertion, Data, GoDuration, Plan, PlanInfo, ServiceId, TaskId};
use artifacts::ArtifactModel;
use program::{ExecCall, Program, RequestCall};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use text::{Resolver, Text};

pub use edges::{Condition, Edges};
pub use values::{Carry, ValueId};

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
    /// When its entrypoint, cmd or env holds a run-time value: the whole argv it runs
    /// (entrypoint then cmd, the image's where the package sets none), for a wrapper
    /// that reads the values, exports `env` and `exec`s it.
    pub start: Option<Vec<Text>>,
    /// The step that adds it.
    pub step: usize,
}

/// How a target writes a service's command and environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartCommand {
    /// `None`: the image's.
    pub entrypoint: Option<Vec<String>>,
    /// `None`: the image's.
    pub cmd: Option<Vec<String>>,
    /// The env vars that hold no run-time value (the others are exported by the
    /// wrapper).
    pub env: BTreeMap<String, String>,
}

impl ServiceModel {
    /// Its entrypoint, cmd and env as a container runs them: as given, or, when a
    /// run-time value is in them, `/bin/sh -c WRAPPER` ([`value_scripts::start_script`]) that
    /// reads the values, exports the env vars holding one and `exec`s the whole argv.
    /// `word` and `text` write a text as the target does.
    pub fn start_command(
        &self,
        word: &dyn Fn(&Text) -> store::Word,
        text: &dyn Fn(&Text) -> String,
    ) -> StartCommand {
        let mut out = StartCommand::default();
        match &self.start {
            Some(argv) => {
                let argv: Vec<store::Word> = argv.iter().map(word).collect();
                let env: Vec<(String, store::Word)> = self
                    .env
                    .iter()
                    .filter(|(_, v)| v.has_values())
                    .map(|(k, v)| (k.clone(), word(v)))
                    .collect();
                out.entrypoint = Some(vec![
                    "/bin/sh".to_owned(),
                    "-c".to_owned(),
                    value_scripts::start_script(&argv, &env),
                ]);
            }
            None => {
                if !self.entrypoint.is_empty() {
                    out.entrypoint = Some(self.entrypoint.iter().map(text).collect());
                }
                if !self.cmd.is_empty() {
                    out.cmd = Some(self.cmd.iter().map(text).collect());
                }
            }
        }
        for (k, v) in self.env.iter().filter(|(_, v)| !v.has_values()) {
            out.env.insert(k.clone(), text(v));
        }
        out
    }
}

/// The build context of an `ImageBuildSpec` relative to the output directory
/// (`package_dir`: the local root package relative to it, when there is one), or why
/// a target that builds from that directory cannot build it faithfully: only a
/// context inside the local root package has a path from the output directory that
/// the checkout fixes.
pub fn build_context(
    package_dir: Option<&str>,
    build_context_dir: &str,
) -> Result<String, &'static str> {
    let in_package = !build_context_dir.starts_with("github.com/");
    match (package_dir, in_package) {
        (Some(pkg), true) => {
            let ctx = build_context_dir.trim_start_matches("./");
            Ok(if ctx.is_empty() || ctx == "." {
                pkg.to_owned()
            } else {
                format!("{pkg}/{ctx}")
            })
        }
        (None, true) => {
            Err("without -o DIR there is no directory to make the build context relative to")
        }
        (_, false) => {
            Err("the context is in a package from the package cache, outside the output directory")
        }
    }
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
    /// Prepares the value store (in the tools image) before anything writes to it.
    StoreInit,
    /// Computes the jq extracts of a task's output or body (in the tools image).
    Extract {
        task: TaskId,
        /// The output (a request's body) file, relative to the store.
        input: String,
        /// The input is parsed as JSON (a request's body), else it is one string.
        json: bool,
        /// (jq filter, file relative to the store), per extracted key the plan uses.
        outputs: Vec<(String, String)>,
    },
    /// Writes an artifact whose files hold run-time values into its volume (in the
    /// tools image): see [`artifacts::ArtifactModel::Rendered`].
    Render { artifact: ArtifactId },
    /// A `plan.wait` whose result is read (HTTP recipes): polls the recipe from the
    /// tools image until `field assertion target` holds, then publishes the result.
    Wait {
        task: TaskId,
        call: program::HttpCall,
        /// `code`, `body` or `extract.<key>`.
        field: crate::ir::TaskField,
        /// The jq filter when `field` is an extract.
        filter: Option<String>,
        assertion: Assertion,
        target: Data,
        interval: GoDuration,
        timeout: GoDuration,
        /// Where each response's body is saved, relative to the store.
        body: String,
        results: program::Results,
        /// (jq filter, file relative to the store) per extracted key read.
        outputs: Vec<(String, String)>,
    },
    /// A `verify` of a run-time value (in the tools image).
    Verify {
        task: TaskId,
        value: Text,
        assertion: Assertion,
        target: Data,
    },
}

/// A node's access to the value store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    Read,
    /// Read and write (producers).
    Write,
}

/// The entrypoint and cmd an image runs when the package sets none, for services
/// that start through the value wrapper. Read from the engine only by the impure
/// `kplan images inspect`, handed to `compile` as a file, so compiling stays pure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageConfig {
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default)]
    pub cmd: Option<Vec<String>>,
}

/// The deployment model of a plan.
#[derive(Debug)]
pub struct Model {
    pub services: BTreeMap<ServiceId, ServiceModel>,
    pub artifacts: BTreeMap<ArtifactId, ArtifactModel>,
    pub jobs: Vec<Job>,
    /// The job of each `run_sh`/`run_python`/`request`.
    pub task_jobs: BTreeMap<TaskId, JobId>,
    /// The extract job of each task whose extracts are used.
    pub extract_jobs: BTreeMap<TaskId, JobId>,
    /// The job of each `verify` checked at run time.
    pub verify_jobs: BTreeMap<TaskId, JobId>,
    /// The job of each `wait` whose result is read.
    pub wait_jobs: BTreeMap<TaskId, JobId>,
    /// The job that prepares the value store, when any value is carried.
    pub store_job: Option<JobId>,
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

    /// How a node uses the value store: producers write, readers read.
    pub fn store_access(&self, node: NodeId) -> Option<Access> {
        let mut access = None;
        for f in &self.values.flows {
            if f.readers.contains(&node) {
                access = access.max(Some(Access::Read));
            }
        }
        let writes = writes_values(&self.services, &self.jobs, node);
        if writes {
            access = Some(Access::Write);
        }
        access
    }
}

/// Whether a node writes into the value store: a task or hook that publishes
/// results, an extract or wait job, the store's own job.
pub(crate) fn writes_values(
    services: &BTreeMap<ServiceId, ServiceModel>,
    jobs: &[Job],
    node: NodeId,
) -> bool {
    match node {
        NodeId::Service(s) => services
            .get(&s)
            .is_some_and(|m| m.hooks.iter().any(|h| !h.results.is_empty())),
        NodeId::Job(j) => match &jobs[j.0 as usize].kind {
            JobKind::Task(p) => !p.results.is_empty(),
            JobKind::Request(r) => !r.results.is_empty(),
            JobKind::StoreInit | JobKind::Extract { .. } | JobKind::Wait { .. } => true,
            JobKind::Copy { .. } | JobKind::Render { .. } | JobKind::Verify { .. } => false,
        },
    }
}

/// What the model is being built for.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    pub words: Vocabulary,
    /// How the target carries run-time values ([`values::Carry`]).
    pub values: values::Carry,
    /// Image reference -> its entrypoint and cmd (see [`ImageConfig`]).
    pub images: &'a BTreeMap<String, ImageConfig>,
}

/// Lowers a validated plan into its deployment model. Problems are in
/// [`Model::diagnostics`]; a target writes nothing when one is an error.
pub fn lower<'p>(plan: &'p Plan, info: &'p PlanInfo, rules: &Rules<'p>) -> Model {
    let mut b = Builder {
        r: Resolver {
            plan,
            info,
            words: rules.words,
            values: values::Values::new(rules.words, rules.values),
            diags: Vec::new(),
        },
        m: Model {
            services: BTreeMap::new(),
            artifacts: BTreeMap::new(),
            jobs: Vec::new(),
            task_jobs: BTreeMap::new(),
            extract_jobs: BTreeMap::new(),
            verify_jobs: BTreeMap::new(),
            wait_jobs: BTreeMap::new(),
            store_job: None,
            values: values::Values::new(rules.words, rules.values),
            edges: Edges::new(),
            diagnostics: Vec::new(),
        },
        needs: Vec::new(),
        images: rules.images,
    };
    artifacts::lower(&mut b);
    let mut readiness = services::readiness(&mut b);
    services::lower(&mut b, &mut readiness);
    tasks::lower(&mut b);
    values::finish(&mut b);
    let edges = edges::link(&b);
    Model {
        values: b.r.values,
        edges,
        diagnostics: b.r.diags,
        ..b.m
    }
}

/// The model under construction: its services, artifacts and jobs in `m` (the values
/// live in the resolver until the end, the edges are computed last).
pub(crate) struct Builder<'p> {
    pub r: Resolver<'p>,
    pub m: Model,
    pub images: &'p BTreeMap<String, ImageConfig>,
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
        JobId(self.m.jobs.len() as u32)
    }

    pub fn add_job(&mut self, kind: JobKind, step: usize, base: String) -> JobId {
        let id = self.next_job();
        self.m.jobs.push(Job { kind, step, base });
        id
    }

    pub fn need(&mut self, who: NodeId, on: NodeId, c: Condition) {
        self.needs.push((who, Need::Node(on, c)));
    }

    /// `who` mounts artifact `a` (the version its consumer binds to).
    pub fn mounts(&mut self, who: NodeId, a: ArtifactId) {
        self.needs.push((who, Need::Artifact(a)));
    }

    /// `who` mounts what service `id` mounts (the service itself, or a copy job
    /// running with the service's mounts): the versions bound at the service's step.
    pub fn mounts_of_service(&mut self, who: NodeId, id: ServiceId) {
        let info = self.r.info;
        for m in self.r.plan.service(id).config.files.values() {
            if let crate::ir::Mount::Artifacts(names) = m {
                for a in names.iter().filter_map(|n| info.service_mount(id, n)) {
                    self.mounts(who, a);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::build_context;

    #[test]
    fn build_contexts_are_relative_to_the_output_only_inside_the_local_package() {
        assert_eq!(build_context(Some("../pkg"), "./"), Ok("../pkg".to_owned()));
        assert_eq!(
            build_context(Some("../pkg"), "./img"),
            Ok("../pkg/img".to_owned())
        );
        assert!(build_context(None, "./img").is_err());
        assert!(build_context(Some("../pkg"), "github.com/o/r/img").is_err());
    }
}
