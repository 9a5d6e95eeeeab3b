//! One-shot tasks in the chart. A `run_sh`/`run_python` that no service waits for
//! becomes a Job run as a Helm hook (`post-install,post-upgrade`): Helm creates every
//! object of the release first, then runs the hook Jobs one by one in plan order
//! (`helm.sh/hook-weight`) and fails the install or upgrade when one fails, which is
//! how Kurtosis runs a package's tasks on every run. A Job waits for the services
//! it uses with the same init containers as services ([`super::readiness`]); its
//! command is the shared one-shot script ([`crate::backend::lower::script`]), its
//! files the artifacts' ConfigMaps, its `wait` an `activeDeadlineSeconds`.
//!
//! Refused with KP305, naming the step and why: a task a service must wait for (a
//! Kubernetes pod cannot start after a Job completes without API access), a
//! privileged one, `request`s, copies out of running services and `verify`s of
//! run-time values. Results a later step reads are KP201 (shared lowering).

use super::files::volume;
use super::readiness::{exec_argv, wait_container};
use super::tree::{Map, Node};
use super::workload::image;
use super::Ctx;
use crate::backend::lower::program::Program;
use crate::backend::lower::script::one_shot;
use crate::backend::lower::store::{Word, Writes};
use crate::backend::lower::{JobId, JobKind, NodeId};
use crate::diagnostic::{Code, Diagnostic};

/// Whether a node must wait for job `j` to complete and is a service (or a job
/// that is refused for that reason, transitively).
fn awaited_by_service(cx: &Ctx, j: JobId) -> Option<String> {
    let target = NodeId::Job(j);
    for (who, on) in &cx.model.edges {
        if !on.contains_key(&target) {
            continue;
        }
        match who {
            NodeId::Service(s) => return Some(cx.plan.service(*s).name.clone()),
            NodeId::Job(other) => {
                if let Some(s) = awaited_by_service(cx, *other) {
                    return Some(s);
                }
            }
        }
    }
    None
}

/// The jobs lowered as hook Jobs (for the artifacts they mount), in plan order.
pub fn lowered(cx: &Ctx) -> Vec<JobId> {
    (0..cx.model.jobs.len())
        .map(|i| JobId(i as u32))
        .filter(|j| match &cx.model.job(*j).kind {
            JobKind::Task(p) => {
                !p.privileged
                    && !p.host_pid
                    && p.binds.is_empty()
                    && awaited_by_service(cx, *j).is_none()
            }
            JobKind::Request(_)
            | JobKind::Copy { .. }
            | JobKind::StoreInit
            | JobKind::Extract { .. }
            | JobKind::Render { .. }
            | JobKind::Wait { .. }
            | JobKind::Verify { .. } => false,
        })
        .collect()
}

pub fn lower(cx: &mut Ctx) {
    let model = cx.model;
    let ok = lowered(cx);
    for (i, job) in model.jobs.iter().enumerate() {
        let id = JobId(i as u32);
        let at = cx.plan.steps.get(job.step).map(|s| s.at.clone());
        let (what, why) = match &job.kind {
            JobKind::Task(p) if ok.contains(&id) => {
                hook_job(cx, id, p);
                continue;
            }
            JobKind::Task(p) => {
                let what = format!(
                    "the `plan.{}` '{}'",
                    cx.plan.task(p.task).kind.instruction(),
                    job.base
                );
                let why = match awaited_by_service(cx, id) {
                    Some(s) => format!("service '{s}' starts after it, and a pod cannot wait for a Job without access to the Kubernetes API"),
                    None => "it asks for privileges or host mounts a chart does not grant".to_owned(),
                };
                (what, why)
            }
            JobKind::Request(r) => (
                format!(
                    "the request to service '{}'",
                    cx.plan.service(r.call.service).name
                ),
                "the chart runs no requests".to_owned(),
            ),
            JobKind::Copy { service, .. } => (
                format!(
                    "the copy of files out of service '{}' (store_service_files)",
                    cx.plan.service(*service).name
                ),
                "a pod cannot read another pod's files".to_owned(),
            ),
            JobKind::Verify { .. } => (
                "the verify of a run-time value".to_owned(),
                "the chart carries no run-time value".to_owned(),
            ),
            JobKind::StoreInit
            | JobKind::Extract { .. }
            | JobKind::Render { .. }
            | JobKind::Wait { .. } => continue,
        };
        cx.diags.push(
            Diagnostic::error(Code::KP305, format!("{what} cannot be lowered: {why}"), at)
                .with_hint("compile with --target compose, or run it with kplan apply; for Helm, move the step into the image or the service's command"),
        );
    }
}

fn hook_job(cx: &mut Ctx, id: JobId, p: &Program) {
    let node = NodeId::Job(id);
    let comp = cx.name(node).to_owned();
    let task = cx.plan.task(p.task);
    let who = format!("{} '{}'", p.instruction, p.name);
    let img = image(cx, &p.image, &who, &task.at);
    let words: Vec<Word> = p
        .argv
        .iter()
        .map(|t| Word::lit(t.render_static(|s, _| cx.marker(s)).unwrap_or_default()))
        .collect();
    let cmd = one_shot(
        &words,
        &[],
        p.setup.as_deref(),
        &p.codes,
        &p.verify,
        &[],
        &Writes::default(),
    );
    let mut container = Map::new()
        .put("name", Node::str("task"))
        .put("image", Node::str(img))
        .put("command", exec_argv(cx, &cmd.entrypoint));
    if !cmd.command.is_empty() {
        container.set("args", exec_argv(cx, &cmd.command));
    }
    let env: Vec<Node> = p
        .env
        .iter()
        .map(|(k, v)| {
            let text = v.render_static(|s, _| cx.marker(s)).unwrap_or_default();
            let value = match exec_argv(cx, &[text]) {
                Node::Seq(mut one) => one.pop().unwrap_or(Node::str("")),
                other @ (Node::Str(_)
                | Node::Text(_)
                | Node::Expr(_)
                | Node::Int(_)
                | Node::Bool(_)
                | Node::Map(_)) => other,
            };
            Map::new()
                .put("name", Node::str(k))
                .put("value", value)
                .node()
        })
        .collect();
    if !env.is_empty() {
        container.set("env", Node::Seq(env));
    }
    let mut volumes = Vec::new();
    let mut mounts = Vec::new();
    for (n, (dir, a)) in p.files.iter().enumerate() {
        let Some(cm) = cx.configmaps.get(a).cloned() else {
            continue;
        };
        let name = format!("files-{n}");
        volumes.push(volume(cx, &name, std::slice::from_ref(&cm)));
        mounts.push(
            Map::new()
                .put("name", Node::str(&name))
                .put("mountPath", Node::str(dir))
                .put("readOnly", Node::Bool(true))
                .node(),
        );
    }
    if !mounts.is_empty() {
        container.set("volumeMounts", Node::Seq(mounts));
    }
    let mut init = Vec::new();
    if let Some(on) = cx.model.edges.get(&node) {
        for dep in on.keys() {
            if let NodeId::Service(s) = dep {
                if let Some(c) = wait_container(cx, &who, &task.at, *s) {
                    init.push(c);
                }
            }
        }
    }
    let mut pod = Map::new()
        .put("restartPolicy", Node::str("Never"))
        .put("enableServiceLinks", Node::Bool(false))
        // Kurtosis runs tasks under tini; the pause container reaps as PID 1.
        .put("shareProcessNamespace", Node::Bool(true));
    if !init.is_empty() {
        cx.uses_tools = true;
        pod.set("initContainers", Node::Seq(init));
    }
    pod.set("containers", Node::Seq(vec![container.node()]));
    if !volumes.is_empty() {
        pod.set("volumes", Node::Seq(volumes));
    }
    let mut spec = Map::new().put("backoffLimit", Node::Int(0));
    if let Some(t) = p.timeout {
        spec.set(
            "activeDeadlineSeconds",
            Node::Int(i64::try_from(t.0.div_ceil(1_000_000_000).max(1)).unwrap_or(i64::MAX)),
        );
    }
    spec.set(
        "template",
        Map::new()
            .put(
                "metadata",
                Map::new().put("labels", cx.labels(&comp, None)).node(),
            )
            .put("spec", pod.node())
            .node(),
    );
    let annotations = Map::new()
        .put("helm.sh/hook", Node::str("post-install,post-upgrade"))
        .put(
            "helm.sh/hook-weight",
            Node::str(cx.model.job(id).step.to_string()),
        )
        .put(
            "helm.sh/hook-delete-policy",
            Node::str("before-hook-creation"),
        );
    let doc = Map::new()
        .put("apiVersion", Node::str("batch/v1"))
        .put("kind", Node::str("Job"))
        .put(
            "metadata",
            Map::new()
                .put("name", cx.name_node(&comp))
                .put("labels", cx.labels(&comp, None))
                .put("annotations", annotations.node())
                .node(),
        )
        .put("spec", spec.node());
    cx.template(&format!("{comp}-job.yaml"), &[], doc.node());
}
