//! Run-time value flows: which value known only when the plan runs (a task's code,
//! output, body or extracted field) is written where, and read by whom.
//!
//! A target that runs containers (Compose; Terraform next) carries them through a
//! *value store*: one volume kplan owns, mounted read-write into the producers and
//! read-only into the readers. A value is one file, `<task dir>/<field>` (see
//! [`Flow::path`]), holding exactly the text `kplan apply` substitutes:
//! - `run_sh`/`run_python`: `code` (the exit code in decimal) and `output` (what the
//!   command wrote to stdout and stderr, interleaved as written, byte for byte);
//! - `request`: `code` (the status of the last response) and `body` (the response
//!   body; `output` is the body too, as in `kplan apply`);
//! - `exec`: `code` and `output`, written by the hook that runs it;
//! - `extract.<key>` of a `request` or `exec`: the jq filter's result, computed by a
//!   job in the tools image from the body (parsed as JSON) or the output (as one JSON
//!   string), one result as itself, several as a list, strings raw, other values as
//!   compact JSON, integral numbers without a fraction; no result is an error;
//! - `wait` with an HTTP recipe: `code`, `body`, `extract.<key>` of the response that
//!   satisfied the assertion, from a job that polls the recipe as `kplan apply` does.
//!
//! What cannot be carried is refused with a [`Refusal`] (KP201): a value of a `wait`
//! with an exec recipe (it runs inside a healthcheck, which writes nothing), of `verify`/`print`
//! (they have none), of a task on a service the package removes later, and any value
//! where the target reads nothing at run time (a readiness check, a template's logic).

use super::names::{token, Namer};
use super::program::{endpoint, HttpCall, Results};
use super::text::Refusal;
use super::text::Use;
use super::{Builder, JobKind, NodeId, Vocabulary};
use crate::ir::{Plan, PlanInfo, Recipe, TaskField, TaskId, TaskKind};
use std::collections::{BTreeMap, BTreeSet};

/// Index of a value in [`Values::flows`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ValueId(pub u32);

/// One run-time value: who produces it, where it is written, who reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    pub task: TaskId,
    pub field: TaskField,
    /// The file, relative to the value store: `<task dir>/<file>`.
    pub path: String,
    /// The nodes that read it, in id order.
    pub readers: BTreeSet<NodeId>,
}

/// How a target carries run-time values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carry {
    /// Not at all: every use is KP201.
    Nothing,
    /// Through files of a value store, written and read by containers.
    Files,
    /// In the process that runs the plan (`kplan apply`), which resolves every value
    /// itself: every string keeps its references and no job is added for them.
    InProcess,
}

/// The run-time values a lowering carries.
#[derive(Debug, Clone)]
pub struct Values {
    words: Vocabulary,
    carry: Carry,
    pub flows: Vec<Flow>,
    by_key: BTreeMap<(TaskId, TaskField), ValueId>,
    /// The directory of each producing task in the store.
    dirs: BTreeMap<TaskId, String>,
    dir_namer: Namer,
    /// File names taken in each task's directory.
    files: BTreeMap<TaskId, Namer>,
}

impl Values {
    pub fn new(words: Vocabulary, carry: Carry) -> Values {
        Values {
            words,
            carry,
            flows: Vec::new(),
            by_key: BTreeMap::new(),
            dirs: BTreeMap::new(),
            dir_namer: Namer::default(),
            files: BTreeMap::new(),
        }
    }

    pub fn flow(&self, id: ValueId) -> &Flow {
        &self.flows[id.0 as usize]
    }

    /// Whether any value is carried.
    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// Whether the target carries values at all.
    pub fn carries(&self) -> bool {
        self.carry != Carry::Nothing
    }

    /// How the target carries values.
    pub fn carry_mode(&self) -> Carry {
        self.carry
    }

    /// The values `task` produces, in id order.
    pub fn of_task(&self, task: TaskId) -> impl Iterator<Item = (ValueId, &Flow)> {
        self.flows
            .iter()
            .enumerate()
            .filter(move |(_, f)| f.task == task)
            .map(|(i, f)| (ValueId(i as u32), f))
    }

    /// The directory of `task` in the store.
    fn dir(&mut self, plan: &Plan, task: TaskId) -> String {
        if let Some(d) = self.dirs.get(&task) {
            return d.clone();
        }
        let d = self.dir_namer.claim(&task_dir(plan, task));
        self.dirs.insert(task, d.clone());
        d
    }

    /// Where `task`'s output (a request's body) is written, relative to the store.
    pub fn output_path(&mut self, plan: &Plan, task: TaskId) -> String {
        format!("{}/{}", self.dir(plan, task), output_file(plan, task))
    }

    /// Where `task`'s exit code (a request's status) is written.
    pub fn code_path(&mut self, plan: &Plan, task: TaskId) -> String {
        format!("{}/code", self.dir(plan, task))
    }

    /// A new file for `task`'s `field`: `code`, `output`/`body`, `extract-<key>`.
    fn new_path(&mut self, plan: &Plan, task: TaskId, field: &TaskField) -> String {
        match field {
            TaskField::Code => self.code_path(plan, task),
            TaskField::Output | TaskField::Body => self.output_path(plan, task),
            TaskField::Extract(k) => {
                let dir = self.dir(plan, task);
                let file = self
                    .files
                    .entry(task)
                    .or_default()
                    .claim(&format!("extract-{}", token(k).to_ascii_lowercase()));
                format!("{dir}/{file}")
            }
        }
    }

    /// Carries `task`'s `field` to `reader`, or says why it cannot.
    pub fn carry(
        &mut self,
        plan: &Plan,
        info: &PlanInfo,
        task: TaskId,
        field: &TaskField,
        reader: NodeId,
    ) -> Result<ValueId, Refusal> {
        match self.carry {
            Carry::Nothing => return Err(self.refusal()),
            Carry::InProcess => return Ok(self.register(plan, task, field.clone(), reader)),
            Carry::Files => {}
        }
        producible(plan, info, task, field)?;
        // A request's output is its body: one file.
        let field = match (&plan.task(task).kind, field) {
            (
                TaskKind::Request { .. }
                | TaskKind::Wait {
                    recipe: Recipe::Http(_),
                    ..
                },
                TaskField::Output,
            ) => TaskField::Body,
            (_, f) => f.clone(),
        };
        Ok(self.register(plan, task, field, reader))
    }

    /// The flow of `task`'s `field`, made on first use, with `reader` added.
    fn register(&mut self, plan: &Plan, task: TaskId, field: TaskField, reader: NodeId) -> ValueId {
        let key = (task, field.clone());
        let id = match self.by_key.get(&key) {
            Some(id) => *id,
            None => {
                let path = self.new_path(plan, task, &field);
                let id = ValueId(self.flows.len() as u32);
                self.flows.push(Flow {
                    task,
                    field,
                    path,
                    readers: BTreeSet::new(),
                });
                self.by_key.insert(key, id);
                id
            }
        };
        self.flows[id.0 as usize].readers.insert(reader);
        id
    }

    /// In process, a value read where no node reads it (a readiness check, a
    /// template's logic): the runner resolves it.
    pub fn in_process(&mut self, plan: &Plan, task: TaskId, field: &TaskField) -> Option<ValueId> {
        (self.carry == Carry::InProcess).then(|| {
            let key = (task, field.clone());
            match self.by_key.get(&key) {
                Some(id) => *id,
                None => {
                    let path = self.new_path(plan, task, field);
                    let id = ValueId(self.flows.len() as u32);
                    self.flows.push(Flow {
                        task,
                        field: field.clone(),
                        path,
                        readers: BTreeSet::new(),
                    });
                    self.by_key.insert(key, id);
                    id
                }
            }
        })
    }

    /// Why a run-time value cannot be used where the target needs a static one.
    pub fn refusal(&self) -> Refusal {
        Refusal {
            why: format!("{} can only hold values known before it starts", self.words.file),
            hint: "use a value known when the package is interpreted (a literal, a package argument, or a service's hostname), or deploy with `kplan apply`, which resolves run-time values".into(),
        }
    }
}

/// The file that holds a task's output (`body` for a request).
fn output_file(plan: &Plan, task: TaskId) -> &'static str {
    match &plan.task(task).kind {
        TaskKind::Request { .. }
        | TaskKind::Wait {
            recipe: Recipe::Http(_),
            ..
        } => "body",
        TaskKind::Exec { .. }
        | TaskKind::Wait { .. }
        | TaskKind::Verify { .. }
        | TaskKind::Print { .. }
        | TaskKind::RunSh { .. }
        | TaskKind::RunPython { .. } => "output",
    }
}

/// The base name of a task's directory in the store.
fn task_dir(plan: &Plan, task: TaskId) -> String {
    let t = plan.task(task);
    let base = match &t.kind {
        TaskKind::RunSh { name, .. } | TaskKind::RunPython { name, .. } => name.clone(),
        TaskKind::Exec { service_name, .. }
        | TaskKind::Request { service_name, .. }
        | TaskKind::Wait { service_name, .. } => {
            format!("{}-{service_name}", t.kind.instruction())
        }
        TaskKind::Verify { .. } | TaskKind::Print { .. } => t.kind.instruction().to_owned(),
    };
    token(&base).to_ascii_lowercase()
}

/// Whether the task can write `field` into the store; the refusal says why not.
fn producible(
    plan: &Plan,
    info: &PlanInfo,
    task: TaskId,
    field: &TaskField,
) -> Result<(), Refusal> {
    let t = plan.task(task);
    let on_final = || {
        let ok = info.task_service(task).is_some_and(|s| info.is_final(s));
        if ok {
            Ok(())
        } else {
            Err(Refusal {
                why: format!(
                    "plan.{} runs against service '{}', which the package removes later, so nothing produces the value",
                    t.kind.instruction(),
                    t.kind.service_name().unwrap_or_default()
                ),
                hint: "keep the service (drop the remove_service), or deploy with `kplan apply`".into(),
            })
        }
    };
    let no_field = |what: &str| Refusal {
        why: format!("plan.{} has no {what}", t.kind.instruction()),
        hint: "use a field the instruction returns".into(),
    };
    match (&t.kind, field) {
        (TaskKind::RunSh { .. } | TaskKind::RunPython { .. }, TaskField::Code | TaskField::Output) => {
            Ok(())
        }
        (TaskKind::RunSh { .. } | TaskKind::RunPython { .. }, f) => {
            Err(no_field(&format!("field '{}'", f.name())))
        }
        (TaskKind::Request { recipe, .. }, f) => {
            on_final()?;
            match f {
                TaskField::Code | TaskField::Body | TaskField::Output => Ok(()),
                TaskField::Extract(k) if recipe.extract.contains_key(k) => Ok(()),
                TaskField::Extract(k) => Err(no_field(&format!("extract key '{k}'"))),
            }
        }
        (TaskKind::Exec { recipe, .. }, f) => {
            on_final()?;
            match f {
                TaskField::Code | TaskField::Output => Ok(()),
                TaskField::Extract(k) if recipe.extract.contains_key(k) => Ok(()),
                TaskField::Body => Err(no_field("body")),
                TaskField::Extract(k) => Err(no_field(&format!("extract key '{k}'"))),
            }
        }
        (
            TaskKind::Wait {
                recipe: Recipe::Http(h),
                ..
            },
            f,
        ) => {
            on_final()?;
            match f {
                TaskField::Code | TaskField::Body | TaskField::Output => Ok(()),
                TaskField::Extract(k) if h.extract.contains_key(k) => Ok(()),
                TaskField::Extract(k) => Err(no_field(&format!("extract key '{k}'"))),
            }
        }
        (
            TaskKind::Wait {
                recipe: Recipe::Exec(_),
                ..
            },
            _,
        ) => Err(Refusal {
            why: "the result of a plan.wait with an ExecRecipe is not carried: the wait runs inside the service's healthcheck, which writes nothing".into(),
            hint: "after the wait, run a plan.exec with the same recipe and use its result, or deploy with `kplan apply`".into(),
        }),
        (TaskKind::Verify { .. } | TaskKind::Print { .. }, f) => {
            Err(no_field(&format!("field '{}'", f.name())))
        }
    }
}

/// Once every reader is known: each producing task writes what is read of it (an
/// extract needs the output or body it is computed from), one extract job per task
/// computes the extracts read, and a job prepares the store.
pub(crate) fn finish(b: &mut Builder) {
    if b.r.values.is_empty() || b.r.values.carry_mode() != Carry::Files {
        return;
    }
    let plan = b.r.plan;
    let tasks: BTreeSet<TaskId> = b.r.values.flows.iter().map(|f| f.task).collect();
    for t in tasks {
        let fields: Vec<TaskField> =
            b.r.values
                .of_task(t)
                .map(|(_, f)| f.field.clone())
                .collect();
        let extracts: Vec<(String, String)> =
            b.r.values
                .of_task(t)
                .filter_map(|(_, f)| match &f.field {
                    TaskField::Extract(k) => Some((k.clone(), f.path.clone())),
                    TaskField::Code | TaskField::Output | TaskField::Body => None,
                })
                .collect();
        let reads_output = fields
            .iter()
            .any(|f| matches!(f, TaskField::Output | TaskField::Body));
        // An extract job computes from the output; a wait job from its own poll.
        let is_wait = matches!(plan.task(t).kind, TaskKind::Wait { .. });
        let needs_output = reads_output || (!extracts.is_empty() && !is_wait);
        let needs_code = fields.iter().any(|f| matches!(f, TaskField::Code));
        let results = Results {
            output: needs_output.then(|| b.r.values.output_path(plan, t)),
            code: needs_code.then(|| b.r.values.code_path(plan, t)),
        };
        let (json, recipe_extract) = match &plan.task(t).kind {
            TaskKind::Request { recipe, .. } => (true, &recipe.extract),
            TaskKind::Exec { recipe, .. } => (false, &recipe.extract),
            TaskKind::Wait {
                recipe: Recipe::Http(h),
                ..
            } => (true, &h.extract),
            TaskKind::RunSh { .. }
            | TaskKind::RunPython { .. }
            | TaskKind::Wait { .. }
            | TaskKind::Verify { .. }
            | TaskKind::Print { .. } => (false, &EMPTY),
        };
        if let TaskKind::Wait { .. } = &plan.task(t).kind {
            let body = b.r.values.output_path(plan, t);
            let outputs = extracts
                .into_iter()
                .map(|(k, path)| (recipe_extract.get(&k).cloned().unwrap_or_default(), path))
                .collect();
            wait_job(b, t, body, results, outputs);
            continue;
        }
        match &plan.task(t).kind {
            TaskKind::RunSh { .. } | TaskKind::RunPython { .. } | TaskKind::Request { .. } => {
                if let Some(j) = b.m.task_jobs.get(&t) {
                    match &mut b.m.jobs[j.0 as usize].kind {
                        JobKind::Task(p) => p.results = results.clone(),
                        JobKind::Request(r) => r.results = results.clone(),
                        JobKind::Copy { .. }
                        | JobKind::StoreInit
                        | JobKind::Extract { .. }
                        | JobKind::Render { .. }
                        | JobKind::Wait { .. }
                        | JobKind::Verify { .. } => {}
                    }
                }
            }
            TaskKind::Exec { .. } => {
                if let Some(s) =
                    b.r.info
                        .task_service(t)
                        .and_then(|s| b.m.services.get_mut(&s))
                {
                    for h in s.hooks.iter_mut().filter(|h| h.task == t) {
                        h.results = results.clone();
                    }
                }
            }
            TaskKind::Wait { .. } | TaskKind::Verify { .. } | TaskKind::Print { .. } => {}
        }
        if !extracts.is_empty() {
            let input = b.r.values.output_path(plan, t);
            let outputs = extracts
                .into_iter()
                .map(|(k, path)| (recipe_extract.get(&k).cloned().unwrap_or_default(), path))
                .collect();
            let dir = input.split('/').next().unwrap_or_default().to_owned();
            let step = b.r.info.task_step(t).unwrap_or(0);
            let job = b.add_job(
                JobKind::Extract {
                    task: t,
                    input,
                    json,
                    outputs,
                },
                step,
                format!("extract-{dir}"),
            );
            b.m.extract_jobs.insert(t, job);
        }
    }
    let job = b.add_job(JobKind::StoreInit, 0, "kplan-values".into());
    b.m.store_job = Some(job);
}

static EMPTY: BTreeMap<String, String> = BTreeMap::new();

/// A `plan.wait` (HTTP recipe) whose result is read: a job polls the recipe from the
/// tools image until the assertion holds, as `kplan apply` does, then publishes the
/// result of that last response.
fn wait_job(
    b: &mut Builder,
    t: TaskId,
    body: String,
    results: Results,
    outputs: Vec<(String, String)>,
) {
    let plan = b.r.plan;
    let task = plan.task(t);
    let TaskKind::Wait {
        service_name,
        recipe: Recipe::Http(h),
        field,
        assertion,
        target_value,
        interval,
        timeout,
    } = &task.kind
    else {
        return;
    };
    let Some(service) = b.r.info.task_service(t) else {
        return;
    };
    let Some(port) = plan.service(service).config.ports.get(&h.port_id) else {
        return;
    };
    let body_text = h
        .body
        .as_ref()
        .and_then(|e| b.r.text(e, &Use::fixed(&task.at, "the body of plan.wait")));
    let call = HttpCall {
        service,
        port: port.number,
        method: h.method,
        endpoint: endpoint(&h.endpoint),
        headers: h.headers.clone(),
        content_type: h.content_type.clone(),
        body: body_text,
    };
    let step = b.r.info.task_step(t).unwrap_or(0);
    let job = b.add_job(
        JobKind::Wait {
            task: t,
            call,
            field: field.clone(),
            filter: match field {
                TaskField::Extract(k) => h.extract.get(k).cloned(),
                TaskField::Code | TaskField::Output | TaskField::Body => None,
            },
            assertion: *assertion,
            target: target_value.clone(),
            interval: *interval,
            timeout: *timeout,
            body,
            results,
            outputs,
        },
        step,
        format!("wait-{service_name}"),
    );
    b.m.wait_jobs.insert(t, job);
    b.need(
        NodeId::Job(job),
        NodeId::Service(service),
        super::Condition::Started,
    );
}
