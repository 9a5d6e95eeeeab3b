//! Run-time values and run-time artifacts in the chart, on the shared lowering's
//! value store ([`crate::backend::lower::values`]), as the Compose and Terraform
//! targets carry them: one PersistentVolumeClaim `kplan-values` mounted at
//! [`VALUES_DIR`] (one file per value, `<task>/<field>`), one claim per run-time
//! artifact (a task's `store`, files rendered with run-time holes), both filled by
//! Jobs ([`super::jobs`]).
//!
//! Order: a pod cannot wait for a Job without access to the Kubernetes API, but it
//! can wait for a file. Each Job, once its command succeeded, writes a *done marker*
//! `<store>/.kplan-done/<run>`, where `<run>` is the Job's component name and 8 hex
//! digits of the SHA-256 of its rendered pod template (also the Job's name, so a
//! changed Job is a new object: Job pod templates are immutable). Every pod that
//! depends on a Job has an init container (tools image) that waits until that marker
//! exists. A Job re-runs only when its pod template (or a Job it waits for) changes,
//! and a value computed once is the same for every consumer.
//!
//! A fresh claim's root belongs to root: a `prepare` init container (tools image, as
//! its default user) makes the store and every claim a pod writes writable by any
//! user (`chmod 1777`), as the Compose target's `kplan-values` one-shot does.
//!
//! Storage class, access mode and sizes are values (`runtimeStorage`):
//! `ReadWriteOnce` by default, which is one *node*, not one pod: right on one-node
//! clusters (kind, minikube, k3d, Docker Desktop); a multi-node cluster needs a
//! `ReadWriteMany` class (NFS, CephFS, EFS...) or every pod on one node.

use super::files::ConfigMap;
use super::tree::{Map, Node, Piece};
use super::Ctx;
use crate::backend::lower::artifacts::ArtifactModel;
use crate::backend::lower::names::artifact_base;
use crate::backend::lower::store::{RenderedFile, VALUES_DIR};
use crate::backend::lower::{JobId, JobKind, NodeId};
use crate::ir::ArtifactId;
use std::collections::{BTreeMap, BTreeSet};

/// The directory of the done markers in the store.
pub const DONE_DIR: &str = "/kplan/values/.kplan-done";

/// The pod volume of the value store.
pub const STORE_VOLUME: &str = "kplan-values";

/// What the chart keeps at run time.
#[derive(Debug, Default)]
pub struct Runtime {
    /// The jobs lowered as Jobs.
    pub jobs: BTreeSet<JobId>,
    /// The `store_service_files` of a running service, done by that service's
    /// `postStart` handler ([`copies_of`]).
    pub copies: BTreeSet<JobId>,
    /// The value store's claim suffix, when a pod uses the store.
    pub store: Option<String>,
    /// Each run-time artifact's claim suffix.
    pub artifacts: BTreeMap<ArtifactId, String>,
    /// Each artifact with run-time holes: the ConfigMap of its static files and
    /// literal pieces, and the files its render Job writes.
    pub renders: BTreeMap<ArtifactId, Render>,
}

/// How the render Job of an artifact with run-time holes fills its claim.
#[derive(Debug, Clone)]
pub struct Render {
    pub inputs: Option<ConfigMap>,
    pub has_src: bool,
    pub files: Vec<RenderedFile>,
}

/// Which jobs become Jobs: every `run_sh`/`run_python` that asks for no privilege,
/// `request`, jq extract, `wait` whose result is read, render and `verify`. The
/// model's store-preparing job is replaced by `prepare` init containers; the rest
/// is refused (see `jobs.rs`, KP305).
pub fn plan(cx: &mut Ctx) {
    for (i, job) in cx.model.jobs.iter().enumerate() {
        let id = JobId(i as u32);
        let lowered = match &job.kind {
            JobKind::Task(p) => !p.privileged && !p.host_pid && p.binds.is_empty(),
            JobKind::Request(_)
            | JobKind::Extract { .. }
            | JobKind::Render { .. }
            | JobKind::Wait { .. }
            | JobKind::Verify { .. } => true,
            JobKind::Copy { service, .. } => {
                if cx.model.services.get(service).is_some_and(|s| !s.stopped) {
                    cx.runtime.copies.insert(id);
                }
                false
            }
            JobKind::StoreInit => false,
        };
        if lowered {
            cx.runtime.jobs.insert(id);
        }
    }
    let any = !cx.runtime.jobs.is_empty() || !cx.runtime.copies.is_empty();
    if any || !cx.model.values.is_empty() {
        let s = cx.suffixes.claim("value-store");
        cx.runtime.store = Some(s);
    }
}

/// Writes the claims of the value store and of the run-time artifacts.
pub fn claims(cx: &mut Ctx) {
    let model = cx.model;
    if let Some(s) = cx.runtime.store.clone() {
        claim(cx, &s, "valueStoreSize");
    }
    for (id, a) in &model.artifacts {
        let producer = match a {
            ArtifactModel::Files(_) | ArtifactModel::Copied(_) => continue,
            ArtifactModel::Rendered { job, .. } | ArtifactModel::ServiceCopy { job, .. } => {
                Some(*job)
            }
            ArtifactModel::TaskStore { task, .. } => model.task_jobs.get(task).copied(),
        };
        let runs = |j: JobId| cx.runtime.jobs.contains(&j) || cx.runtime.copies.contains(&j);
        if !producer.is_some_and(runs) {
            continue;
        }
        let art = cx.plan.artifact(*id);
        let base = artifact_base(&art.name, cx.info.artifact_version(*id));
        let s = cx
            .suffixes
            .claim(&format!("artifact-{}", super::dns_label(&base)));
        claim(cx, &s, "artifactSize");
        cx.runtime.artifacts.insert(*id, s);
    }
}

/// One claim of the run-time storage, sized by `runtimeStorage.<size>`.
fn claim(cx: &mut Ctx, suffix: &str, size: &str) {
    let access = Node::expr("{{ list .Values.runtimeStorage.accessMode | toJson }}");
    let doc = claim_doc(cx, suffix, suffix, access, ".Values.runtimeStorage", size);
    cx.template(&format!("{suffix}-pvc.yaml"), &[], doc);
}

/// A PersistentVolumeClaim: `values` is the template expression of the map that
/// holds its `storageClass` (`""`: the cluster's default) and its `size` key.
pub fn claim_doc(
    cx: &Ctx,
    suffix: &str,
    component: &str,
    access: Node,
    values: &str,
    size: &str,
) -> Node {
    let mut spec = Map::new().put("accessModes", access);
    spec.line(&format!("{{{{- with {values}.storageClass }}}}"));
    spec.set("storageClassName", Node::expr("{{ . | toJson }}"));
    spec.line("{{- end }}");
    let storage = Node::expr(format!("{{{{ {values}.{size} | toJson }}}}"));
    spec.set(
        "resources",
        Map::new()
            .put("requests", Map::new().put("storage", storage).node())
            .node(),
    );
    Map::new()
        .put("apiVersion", Node::str("v1"))
        .put("kind", Node::str("PersistentVolumeClaim"))
        .put(
            "metadata",
            Map::new()
                .put("name", cx.name_node(suffix))
                .put("labels", cx.labels(component, None))
                .node(),
        )
        .put("spec", spec.node())
        .node()
}

/// A `persistentVolumeClaim` pod volume.
pub fn claim_volume(cx: &Ctx, name: &str, suffix: &str, read_only: bool) -> Node {
    let mut c = Map::new().put("claimName", cx.name_node(suffix));
    if read_only {
        c.set("readOnly", Node::Bool(true));
    }
    Map::new()
        .put("name", Node::str(name))
        .put("persistentVolumeClaim", c.node())
        .node()
}

/// A `volumeMounts` entry.
pub fn mount(name: &str, path: &str, read_only: bool) -> Node {
    let mut m = Map::new()
        .put("name", Node::str(name))
        .put("mountPath", Node::str(path));
    if read_only {
        m.set("readOnly", Node::Bool(true));
    }
    m.node()
}

/// The pod volume of the value store (`None` when the chart has none).
pub fn store_volume(cx: &Ctx) -> Option<Node> {
    let s = cx.runtime.store.as_ref()?;
    Some(claim_volume(cx, STORE_VOLUME, s, false))
}

/// The Jobs node `who` waits for (lowered ones only), in id order.
pub fn awaited_jobs(cx: &Ctx, who: NodeId) -> Vec<JobId> {
    cx.model
        .edges
        .get(&who)
        .map(|on| {
            on.keys()
                .filter_map(|n| match n {
                    NodeId::Job(j)
                        if cx.runtime.jobs.contains(j) || cx.runtime.copies.contains(j) =>
                    {
                        Some(*j)
                    }
                    NodeId::Job(_) | NodeId::Service(_) => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// An init container of kplan's in the tools image running `/bin/sh -c script`.
pub fn tools_container(cx: &mut Ctx, name: &str, script: Node, mounts: Vec<Node>) -> Node {
    cx.uses_tools = true;
    let mut c = Map::new()
        .put("name", Node::str(name.chars().take(63).collect::<String>()))
        .put("image", Node::expr("{{ .Values.tools.image | toJson }}"))
        .put(
            "command",
            Node::Seq(vec![Node::str("/bin/sh"), Node::str("-c"), script]),
        );
    if !mounts.is_empty() {
        c.set("volumeMounts", Node::Seq(mounts));
    }
    c.node()
}

/// The init container that waits until Job `j` has written its done marker.
pub fn wait_job_container(cx: &mut Ctx, j: JobId) -> Node {
    let comp = cx.name(NodeId::Job(j)).to_owned();
    let mut script = vec![Piece::Lit("until [ -e ".into())];
    script.extend(super::jobs::done_marker(cx, j));
    script.push(Piece::Lit(format!(
        " ]; do echo waiting for the job {comp}; sleep 2; done"
    )));
    let mounts = vec![mount(STORE_VOLUME, VALUES_DIR, true)];
    tools_container(cx, &format!("wait-{comp}"), Node::text(script), mounts)
}

/// The init container that makes the claims a pod writes writable by any user:
/// `mounts` are (pod volume, path) pairs, the value store first.
pub fn prepare_container(cx: &mut Ctx, mounts: &[(String, String)]) -> Node {
    let dirs: Vec<String> = mounts
        .iter()
        .map(|(_, p)| crate::backend::lower::script::quote(p))
        .collect();
    let script = format!(
        "mkdir -p {DONE_DIR} && chmod 1777 {DONE_DIR} {}",
        dirs.join(" ")
    );
    let mounts: Vec<Node> = mounts.iter().map(|(v, p)| mount(v, p, false)).collect();
    tools_container(cx, "prepare", Node::str(script), mounts)
}

/// One `store_service_files` of a running service, done by its `postStart`
/// handler after its `exec`s.
#[derive(Debug, Clone)]
pub struct Copy {
    pub job: JobId,
    /// The path copied, in the service's container.
    pub src: String,
    /// The pod volume of the artifact's claim and where the service mounts it.
    pub volume: String,
    pub dir: String,
    /// The claim's suffix.
    pub claim: String,
}

/// The copies out of service `id`, in plan order.
pub fn copies_of(cx: &Ctx, id: crate::ir::ServiceId) -> Vec<Copy> {
    let mut out = Vec::new();
    for j in &cx.runtime.copies {
        let JobKind::Copy {
            artifact,
            service,
            src,
        } = &cx.model.job(*j).kind
        else {
            continue;
        };
        let Some(claim) = cx.runtime.artifacts.get(artifact) else {
            continue;
        };
        if *service != id {
            continue;
        }
        let i = out.len();
        out.push(Copy {
            job: *j,
            src: src.clone(),
            volume: format!("kplan-copy-{i}"),
            dir: format!("/kplan/copy/{i}"),
            claim: claim.clone(),
        });
    }
    out
}

/// The `postStart` command of a copy: empties the artifact's claim, copies the path
/// into it and writes the copy's done marker (`{DONE_DIR}/<component>`: the store
/// belongs to the release, so the component names it).
pub fn copy_command(cx: &Ctx, c: &Copy, ready: Option<String>) -> Vec<String> {
    let q = crate::backend::lower::script::quote;
    let d = q(&c.dir);
    let marker = q(&format!("{DONE_DIR}/{}", cx.name(NodeId::Job(c.job))));
    vec![
        "/bin/sh".into(),
        "-c".into(),
        format!(
            "{}rm -rf {d}/..?* {d}/.[!.]* {d}/* && cp -a \"$0\" {d}/ && : > {marker}",
            ready.unwrap_or_default()
        ),
        c.src.clone(),
    ]
}
