//! The model's one-shot jobs as Kubernetes Jobs: a `run_sh`/`run_python` in its
//! image, a `request` as `wget` from the target service's image, and kplan's own
//! jobs for run-time values (jq extracts, `wait` polls whose result is read,
//! `verify`s, files rendered with run-time holes) in the tools image. The commands
//! are the shared ones ([`crate::backend::lower::oneshot`]), exactly as the Compose
//! and Terraform targets run them; values and run-time artifacts live in claims
//! ([`super::store`]).
//!
//! Each Job's pod template is a named template (`<chart>.job.<component>`, in
//! `templates/_<component>-job.tpl`) and its name is `<component>-<8 hex digits of
//! the template's SHA-256>` (`<chart>.run.<component>`): Job pod templates are
//! immutable, so a Job whose template changes is a new object on `helm upgrade`
//! (Helm deletes the old one), and one whose template is unchanged is not run again.
//! The command runs under a wrapper that, on success, writes the Job's done marker
//! (its own name, read through the downward API) into the value store; pods that
//! depend on the Job wait for that marker in an init container.
//!
//! Why not Helm hooks: a `post-install` hook runs only once `helm install --wait`
//! saw every Deployment ready, so a Deployment that waits for a hook Job never gets
//! ready and the install deadlocks; a `pre-install` hook runs before the claims and
//! ConfigMaps it mounts exist.
//!
//! Refused with KP305, naming the step: a task that asks for privileges or host
//! mounts, and `store_service_files` of a running service (a pod cannot read
//! another pod's files).

use super::files::{runtime_mount, volume, RENDER_IN};
use super::readiness::{exec_argv, wait_container};
use super::store::{
    awaited_jobs, mount, prepare_container, store_volume, wait_job_container, DONE_DIR,
    STORE_VOLUME,
};
use super::tree::{Map, Node, Piece};
use super::workload::image;
use super::{go_string, Ctx};
use crate::backend::lower::oneshot::{program_command, shell_job, ShellJob, Writer};
use crate::backend::lower::program::Program;
use crate::backend::lower::store::{render_script, VALUES_DIR};
use crate::backend::lower::{JobId, JobKind, NodeId};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{ArtifactId, Span};
use std::collections::BTreeMap;

/// Where the render Job writes an artifact's claim.
const RENDER_OUT: &str = "/kplan/out";

/// The env var through which a Job's container learns its own name.
const JOB_NAME_ENV: &str = "KPLAN_JOB_NAME";

pub fn lower(cx: &mut Ctx) {
    let model = cx.model;
    for (i, job) in model.jobs.iter().enumerate() {
        let id = JobId(i as u32);
        if cx.runtime.jobs.contains(&id) {
            if let Some(pod) = pod(cx, id) {
                write(cx, id, pod);
            }
            continue;
        }
        let at = cx.plan.steps.get(job.step).map(|s| s.at.clone());
        let (what, why) = match &job.kind {
            JobKind::Task(p) => (
                format!(
                    "the `plan.{}` '{}'",
                    cx.plan.task(p.task).kind.instruction(),
                    job.base
                ),
                "it asks for privileges or host mounts a chart does not grant",
            ),
            JobKind::Copy { service, .. } if !cx.runtime.copies.contains(&id) => (
                format!(
                    "the copy of files out of service '{}' (store_service_files)",
                    cx.plan.service(*service).name
                ),
                "the package leaves that service stopped, so nothing runs in it to copy the files",
            ),
            JobKind::Copy { .. } => continue,
            JobKind::StoreInit
            | JobKind::Request(_)
            | JobKind::Extract { .. }
            | JobKind::Render { .. }
            | JobKind::Wait { .. }
            | JobKind::Verify { .. } => continue,
        };
        cx.diags.push(
            Diagnostic::error(Code::KP305, format!("{what} cannot be lowered: {why}"), at)
                .with_hint("compile with --target compose, or run it with kplan apply; for Helm, produce the files in a run_sh (its `store`) or in the image"),
        );
    }
}

/// What a Job's pod holds besides its wrapper.
#[derive(Default)]
struct Pod {
    image: Option<Node>,
    argv: Vec<String>,
    env: Vec<Node>,
    volumes: Vec<Node>,
    mounts: Vec<Node>,
    /// Claims it writes besides the value store: (pod volume, path).
    writes: Vec<(String, String)>,
    checksums: BTreeMap<String, String>,
    /// Kurtosis runs tasks under tini: the pause container reaps as PID 1.
    share_pids: bool,
    deadline: Option<i64>,
    who: String,
    at: Option<Span>,
}

/// The container of job `id` by kind; `None` when it cannot be written (a
/// diagnostic says why).
fn pod(cx: &mut Ctx, id: JobId) -> Option<Pod> {
    let model = cx.model;
    let job = model.job(id);
    let comp = cx.name(NodeId::Job(id)).to_owned();
    let tools = Node::expr("{{ .Values.tools.image | toJson }}");
    match &job.kind {
        JobKind::Task(p) => Some(program(cx, p)),
        JobKind::Render { artifact } => render(cx, *artifact, tools, &comp),
        JobKind::Request(_)
        | JobKind::Extract { .. }
        | JobKind::Wait { .. }
        | JobKind::Verify { .. } => {
            let mut diags = Vec::new();
            let shell = {
                let writer = Writer {
                    word: &|t| cx.word(t),
                    host: &|s| cx.marker(s),
                };
                shell_job(cx.plan, &job.kind, &writer, &mut diags)
            };
            cx.diags.extend(diags);
            let (image, script) = match shell? {
                ShellJob::InTools(script) => (tools, script),
                ShellJob::InServiceImage(s, script) => (
                    Node::str(cx.plan.service(s).config.image.reference()),
                    script,
                ),
            };
            cx.uses_tools = true;
            Some(Pod {
                image: Some(image),
                argv: vec!["/bin/sh".into(), "-c".into(), script],
                who: format!("the job '{comp}'"),
                at: cx.plan.steps.get(job.step).map(|s| s.at.clone()),
                ..Pod::default()
            })
        }
        JobKind::Copy { .. } | JobKind::StoreInit => None,
    }
}

/// A `run_sh`/`run_python`: the shared one-shot command, its files (ConfigMaps or
/// run-time artifacts' claims), one claim per `store` path.
fn program(cx: &mut Ctx, p: &Program) -> Pod {
    let task = cx.plan.task(p.task);
    let who = format!("{} '{}'", p.instruction, p.name);
    let mut pod = Pod {
        share_pids: true,
        deadline: p
            .timeout
            .map(|t| i64::try_from(t.0.div_ceil(1_000_000_000).max(1)).unwrap_or(i64::MAX)),
        at: Some(task.at.clone()),
        ..Pod::default()
    };
    let img = image(cx, &p.image, &who, &task.at);
    pod.image = Some(Node::str(img));
    for (n, (dir, a)) in p.files.iter().enumerate() {
        let vol = format!("files-{n}");
        if let Some((v, m)) = runtime_mount(cx, &vol, dir, &[*a], &who, &task.at) {
            pod.volumes.push(v);
            pod.mounts.push(m);
            continue;
        }
        let Some(cm) = cx.configmaps.get(a).cloned() else {
            continue;
        };
        pod.checksums
            .insert(format!("checksum/{}", cm.suffix), cm.checksum.clone());
        pod.volumes
            .push(volume(cx, &vol, std::slice::from_ref(&cm)));
        pod.mounts.push(mount(&vol, dir, true));
    }
    let mut store = Vec::new();
    let stored: Vec<ArtifactId> = cx.info.task_artifacts(p.task).to_vec();
    for (i, (a, src)) in stored.iter().zip(&p.store).enumerate() {
        let Some(suffix) = cx.runtime.artifacts.get(a).cloned() else {
            continue;
        };
        let (vol, path) = (format!("store-{i}"), format!("/kplan/store/{i}"));
        pod.volumes
            .push(super::store::claim_volume(cx, &vol, &suffix, false));
        pod.mounts.push(mount(&vol, &path, false));
        pod.writes.push((vol, path.clone()));
        store.push((src.clone(), path));
    }
    let cmd = program_command(p, &|t| cx.word(t), &store);
    pod.argv = cmd.entrypoint.into_iter().chain(cmd.command).collect();
    for (k, v) in p.env.iter().filter(|(_, v)| !v.has_values()) {
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
        pod.env.push(
            Map::new()
                .put("name", Node::str(k))
                .put("value", value)
                .node(),
        );
    }
    pod.who = who;
    pod
}

/// The render Job of an artifact with run-time holes: its static files and literal
/// pieces from a ConfigMap, the value files from the store, into its claim.
fn render(cx: &mut Ctx, artifact: ArtifactId, tools: Node, comp: &str) -> Option<Pod> {
    let r = cx.runtime.renders.get(&artifact)?.clone();
    let suffix = cx.runtime.artifacts.get(&artifact)?.clone();
    let mut pod = Pod {
        image: Some(tools),
        who: format!("the job '{comp}'"),
        at: Some(cx.plan.artifact(artifact).at.clone()),
        ..Pod::default()
    };
    cx.uses_tools = true;
    if let Some(cm) = &r.inputs {
        pod.checksums
            .insert(format!("checksum/{}", cm.suffix), cm.checksum.clone());
        pod.volumes
            .push(volume(cx, "kplan-in", std::slice::from_ref(cm)));
        pod.mounts.push(mount("kplan-in", RENDER_IN, true));
    }
    pod.volumes
        .push(super::store::claim_volume(cx, "kplan-out", &suffix, false));
    pod.mounts.push(mount("kplan-out", RENDER_OUT, false));
    pod.writes.push(("kplan-out".into(), RENDER_OUT.into()));
    let src = format!("{RENDER_IN}/src");
    let script = render_script(RENDER_OUT, r.has_src.then_some(src.as_str()), &r.files);
    pod.argv = vec!["/bin/sh".into(), "-c".into(), script];
    Some(pod)
}

/// The action rendering the release-scoped name of Job `j` (its object name and
/// its done marker's file name).
pub fn job_name(cx: &Ctx, j: JobId) -> String {
    format!(
        "{{{{ include \"{}.objectName\" (list $ (include {} $)) }}}}",
        cx.chart,
        go_string(&format!("{}.run.{}", cx.chart, cx.name(NodeId::Job(j))))
    )
}

/// Writes the Job and its pod template's named template.
fn write(cx: &mut Ctx, id: JobId, p: Pod) {
    let node = NodeId::Job(id);
    let comp = cx.name(node).to_owned();
    // The wrapper that writes the done marker once the command succeeded.
    let mut command = vec![
        Node::str("/bin/sh"),
        Node::str("-c"),
        Node::str(format!(
            "\"$$0\" \"$$@\" && : > \"{DONE_DIR}/$${JOB_NAME_ENV}\""
        )),
    ];
    if let Node::Seq(words) = exec_argv(cx, &p.argv) {
        command.extend(words);
    }
    let mut env = vec![Map::new()
        .put("name", Node::str(JOB_NAME_ENV))
        .put(
            "valueFrom",
            Map::new()
                .put(
                    "fieldRef",
                    Map::new()
                        .put(
                            "fieldPath",
                            Node::str("metadata.labels['batch.kubernetes.io/job-name']"),
                        )
                        .node(),
                )
                .node(),
        )
        .node()];
    env.extend(p.env);
    let mut mounts = vec![mount(STORE_VOLUME, VALUES_DIR, false)];
    mounts.extend(p.mounts);
    let container = Map::new()
        .put("name", Node::str("job"))
        .put("image", p.image.unwrap_or(Node::str("")))
        .put("command", Node::Seq(command))
        .put("env", Node::Seq(env))
        .put("volumeMounts", Node::Seq(mounts));
    let mut writes = vec![(STORE_VOLUME.to_owned(), VALUES_DIR.to_owned())];
    writes.extend(p.writes);
    let mut init = vec![prepare_container(cx, &writes)];
    let step = cx.model.job(id).step;
    let at =
        p.at.clone()
            .or_else(|| cx.plan.steps.get(step).map(|s| s.at.clone()))
            .unwrap_or_default();
    if let Some(on) = cx.model.edges.get(&node) {
        for dep in on.keys() {
            if let NodeId::Service(s) = dep {
                if let Some(c) = wait_container(cx, &p.who, &at, *s) {
                    init.push(c);
                }
            }
        }
    }
    for j in awaited_jobs(cx, node) {
        init.push(wait_job_container(cx, j));
    }
    let waits = init.len() > 1;
    cx.uses_tools = true;
    let mut pod = Map::new()
        .put("restartPolicy", Node::str("Never"))
        .put("enableServiceLinks", Node::Bool(false));
    if p.share_pids {
        pod.set("shareProcessNamespace", Node::Bool(true));
    }
    pod.set("initContainers", Node::Seq(init));
    pod.set("containers", Node::Seq(vec![container.node()]));
    let mut volumes: Vec<Node> = store_volume(cx).into_iter().collect();
    volumes.extend(p.volumes);
    pod.set("volumes", Node::Seq(volumes));
    let mut meta = Map::new().put("labels", cx.selector(&comp));
    if !p.checksums.is_empty() {
        let mut a = Map::new();
        for (k, v) in &p.checksums {
            a.set(k, Node::str(v));
        }
        meta.set("annotations", a.node());
    }
    let template = Map::new()
        .put("metadata", meta.node())
        .put("spec", pod.node());
    let define = format!("{}.job.{comp}", cx.chart);
    let run = format!("{}.run.{comp}", cx.chart);
    let tpl = format!(
        "{{{{- define {} -}}}}\n{}{{{{- end }}}}\n\n{{{{- define {} -}}}}\n{comp}-{{{{ include {} . | sha256sum | trunc 8 }}}}\n{{{{- end }}}}\n",
        go_string(&define),
        super::tree::emit(&template.node()),
        go_string(&run),
        go_string(&define),
    );
    let header = format!(
        "{{{{- /* Generated by kplan from package {}. Do not edit. The pod template of the Job {comp}; its digest names the Job. */}}}}\n",
        super::comment_safe(&cx.plan.package.name)
    );
    cx.out
        .add(format!("templates/_{comp}-job.tpl"), header + &tpl);
    let mut spec = Map::new().put("backoffLimit", Node::Int(0));
    // The deadline counts from the Job's start, its init containers' waits
    // included: the task's `wait` is kept only for a Job that waits for nothing.
    if let Some(d) = p.deadline.filter(|_| !waits) {
        spec.set("activeDeadlineSeconds", Node::Int(d));
    }
    spec.line("template:");
    spec.line(&format!(
        "  {{{{- include {} $ | nindent 4 }}}}",
        go_string(&define)
    ));
    let doc = Map::new()
        .put("apiVersion", Node::str("batch/v1"))
        .put("kind", Node::str("Job"))
        .put(
            "metadata",
            Map::new()
                .put("name", Node::expr(job_name(cx, id)))
                .put("labels", cx.labels(&comp, None))
                .node(),
        )
        .put("spec", spec.node());
    cx.template(&format!("{comp}-job.yaml"), &[], doc.node());
}

/// The done marker of Job `j` as pieces of a string (in the value store); a copy
/// out of a running service has its component's name ([`super::store::copy_command`]).
pub fn done_marker(cx: &Ctx, j: JobId) -> Vec<Piece> {
    if cx.runtime.copies.contains(&j) {
        return vec![Piece::Lit(format!(
            "{DONE_DIR}/{}",
            cx.name(NodeId::Job(j))
        ))];
    }
    vec![
        Piece::Lit(format!("{DONE_DIR}/")),
        Piece::Action(job_name(cx, j)),
    ]
}
