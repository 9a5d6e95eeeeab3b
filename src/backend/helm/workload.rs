//! `add_service` as a Kubernetes workload: each final service becomes a Deployment
//! with one replica (zero when the package leaves it stopped) and one container.
//! With persistent directories it keeps the Deployment and uses `strategy:
//! Recreate`: the old pod releases its `ReadWriteOnce` claim before the new one
//! mounts it (a StatefulSet's `volumeClaimTemplates` would tie the claim's name to
//! the StatefulSet and its size to an immutable field, and Kurtosis's keys name
//! claims that several services may share).
//!
//! Container fields: `command` = entrypoint, `args` = cmd (both replace the image's,
//! as in Docker), `env` in name order, with every `$` doubled: the kubelet expands
//! `$(NAME)` and reduces `$$` to `$` in all three, so the program receives exactly
//! the package's strings. Image, resources and labels come from values.

use super::files::pod_files;
use super::readiness::exec_argv;
use super::store::{awaited_jobs, claim_volume, copies_of, mount, store_volume, STORE_VOLUME};
use super::tree::{Map, Node, Piece};
use super::values::ServiceValues;
use super::Ctx;
use crate::backend::lower::store::VALUES_DIR;
use crate::backend::lower::text::Text;
use crate::backend::lower::Access;
use crate::backend::lower::{NodeId, ServiceModel};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Image, ServiceConfig, Transport};
use std::collections::BTreeMap;

pub fn lower(cx: &mut Ctx) {
    let model = cx.model;
    for s in model.services.values() {
        deployment(cx, s);
    }
}

/// Millicores as a Kubernetes quantity.
fn cpu(millis: u64) -> String {
    if millis.is_multiple_of(1000) {
        (millis / 1000).to_string()
    } else {
        format!("{millis}m")
    }
}

/// A text for `command`, `args` or an env value: `$` doubled in the literal pieces.
fn expandable(cx: &Ctx, t: &Text) -> Node {
    let pieces = cx
        .pieces(t)
        .into_iter()
        .map(|p| match p {
            Piece::Lit(l) => Piece::Lit(l.replace('$', "$$")),
            a @ Piece::Action(_) => a,
        })
        .collect();
    Node::text(pieces)
}

fn transport(t: Transport) -> &'static str {
    t.as_str()
}

fn deployment(cx: &mut Ctx, m: &ServiceModel) {
    let id = m.id;
    let svc = cx.plan.service(id);
    let c = &svc.config;
    let comp = cx.name(NodeId::Service(id)).to_owned();
    let image = image(cx, &c.image, &format!("service '{}'", svc.name), &svc.at);
    refuse_docker_only(cx, c, &svc.name, &svc.at);
    let mut values = cx.values.remove(&id).unwrap_or_default();
    values.image = image;
    values.labels = c.labels.clone();
    values.public = !c.public_ports.is_empty();
    resources(c, &mut values);
    cx.values.insert(id, values);

    let files = pod_files(cx, id);
    let mut container = Map::new()
        .put("name", Node::str(&comp))
        .put("image", Node::expr("{{ $svc.image | toJson }}"));
    command_and_env(cx, m, &mut container);
    let ports: Vec<Node> = c
        .ports
        .iter()
        .map(|(pid, p)| {
            Map::new()
                .put("name", Node::str(pid))
                .put("containerPort", Node::Int(i64::from(p.number)))
                .put("protocol", Node::str(transport(p.transport_protocol)))
                .node()
        })
        .collect();
    if !ports.is_empty() {
        container.set("ports", Node::Seq(ports));
    }
    container.set("resources", Node::expr("{{ $svc.resources | toJson }}"));
    let mut security = Map::new();
    if let Some(u) = &c.user {
        security.set("runAsUser", Node::Int(i64::from(u.uid)));
        if let Some(g) = u.gid {
            security.set("runAsGroup", Node::Int(i64::from(g)));
        }
    }
    if !c.capabilities.is_empty() {
        let caps = c.capabilities.iter().map(Node::str).collect();
        security.set(
            "capabilities",
            Map::new().put("add", Node::Seq(caps)).node(),
        );
    }
    if !security.is_empty() {
        container.set("securityContext", security.node());
    }
    if c.tty_enabled {
        container.set("tty", Node::Bool(true));
    }
    if let Some(p) = cx.probes.remove(&id) {
        container.set("readinessProbe", p);
    }
    if let Some(l) = cx.post_start.remove(&id) {
        container.set("lifecycle", l);
    }
    let (mounts, volumes) = run_time_volumes(cx, id, c, files.mounts, files.volumes);
    if !mounts.is_empty() {
        container.set("volumeMounts", Node::Seq(mounts));
    }

    let mut pod = Map::new();
    // Kubernetes would add an env var per Service of the namespace (WEB_PORT=...),
    // which the package did not ask for and which other releases would change.
    pod.set("enableServiceLinks", Node::Bool(false));
    if c.tini_enabled {
        // The pause container is PID 1 and reaps zombies, tini's job in Docker.
        pod.set("shareProcessNamespace", Node::Bool(true));
    }
    scheduling(c, &mut pod);
    if let Some(init) = cx.init_containers.remove(&id) {
        pod.set("initContainers", Node::Seq(init));
    }
    pod.set("containers", Node::Seq(vec![container.node()]));
    if !volumes.is_empty() {
        pod.set("volumes", Node::Seq(volumes));
    }
    let annotations = pod_annotations(&files.checksums);
    let template = Map::new()
        .put(
            "metadata",
            Map::new()
                .put("labels", cx.labels(&comp, Some("$svc.labels")))
                .put("annotations", annotations)
                .node(),
        )
        .put("spec", pod.node());
    let mut spec = Map::new().put("replicas", Node::Int(if m.stopped { 0 } else { 1 }));
    if !cx.claims_of(id).is_empty() {
        spec.set(
            "strategy",
            Map::new().put("type", Node::str("Recreate")).node(),
        );
    }
    spec.set(
        "selector",
        Map::new().put("matchLabels", cx.selector(&comp)).node(),
    );
    spec.set("template", template.node());
    let doc = Map::new()
        .put("apiVersion", Node::str("apps/v1"))
        .put("kind", Node::str("Deployment"))
        .put(
            "metadata",
            Map::new()
                .put("name", cx.name_node(&comp))
                .put("labels", cx.labels(&comp, Some("$svc.labels")))
                .node(),
        )
        .put("spec", spec.node());
    let line = cx.values_line(id);
    cx.template(&format!("{comp}-deployment.yaml"), &[line], doc.node());
}

/// The pod template's annotations: the service's values, and a checksum of each
/// ConfigMap it mounts, so its pods roll when a file changes.
fn pod_annotations(checksums: &BTreeMap<String, String>) -> Node {
    if checksums.is_empty() {
        Node::expr("{{ $svc.annotations | toJson }}")
    } else {
        let pairs: Vec<String> = checksums
            .iter()
            .map(|(k, v)| format!("{} {}", super::go_string(k), super::go_string(v)))
            .collect();
        Node::expr(format!(
            "{{{{ merge (dict {}) $svc.annotations | toJson }}}}",
            pairs.join(" ")
        ))
    }
}

/// Besides its files: the value store (read-only for a reader, writable for a
/// service whose execs publish results or that copies files out of itself), the
/// claims its copies fill, and `/dev/shm`.
fn run_time_volumes(
    cx: &Ctx,
    id: crate::ir::ServiceId,
    c: &ServiceConfig,
    mut mounts: Vec<Node>,
    mut volumes: Vec<Node>,
) -> (Vec<Node>, Vec<Node>) {
    let node = NodeId::Service(id);
    let copies = copies_of(cx, id);
    let access = match cx.model.store_access(node) {
        _ if !copies.is_empty() => Some(Access::Write),
        a => a,
    };
    if let Some(a) = access {
        mounts.push(mount(STORE_VOLUME, VALUES_DIR, a == Access::Read));
    }
    if access.is_some() || !awaited_jobs(cx, node).is_empty() {
        volumes.extend(store_volume(cx));
    }
    for c in &copies {
        volumes.push(claim_volume(cx, &c.volume, &c.claim, false));
        mounts.push(mount(&c.volume, &c.dir, false));
    }
    if let Some(shm) = c.gpu.as_ref().and_then(|g| g.shm_size) {
        volumes.push(
            Map::new()
                .put("name", Node::str("shm"))
                .put(
                    "emptyDir",
                    Map::new()
                        .put("medium", Node::str("Memory"))
                        .put("sizeLimit", Node::str(format!("{shm}M")))
                        .node(),
                )
                .node(),
        );
        mounts.push(
            Map::new()
                .put("name", Node::str("shm"))
                .put("mountPath", Node::str("/dev/shm"))
                .node(),
        );
    }
    (mounts, volumes)
}

/// The container's `command`, `args` and `env`: as the package gives them, or, when
/// a run-time value is in them, the shared wrapper that reads the values from the
/// store, exports the env vars holding one and `exec`s the whole argv.
fn command_and_env(cx: &Ctx, m: &ServiceModel, container: &mut Map) {
    if m.start.is_some() {
        // A run-time value in its entrypoint, cmd or env: the shared wrapper reads
        // the values from the store, exports the env vars holding one and `exec`s
        // the whole argv.
        let start = m.start_command(&|t| cx.word(t), &|_| String::new());
        if let Some(e) = start.entrypoint {
            container.set("command", exec_argv(cx, &e));
        }
    } else {
        if !m.entrypoint.is_empty() {
            let e = m.entrypoint.iter().map(|t| expandable(cx, t)).collect();
            container.set("command", Node::Seq(e));
        }
        if !m.cmd.is_empty() {
            let a = m.cmd.iter().map(|t| expandable(cx, t)).collect();
            container.set("args", Node::Seq(a));
        }
    }
    let env: Vec<Node> = m
        .env
        .iter()
        .filter(|(_, v)| !v.has_values())
        .map(|(k, v)| {
            Map::new()
                .put("name", Node::str(k))
                .put("value", expandable(cx, v))
                .node()
        })
        .collect();
    if !env.is_empty() {
        container.set("env", Node::Seq(env));
    }
}

/// The pod's `nodeSelector` and `tolerations`.
fn scheduling(c: &ServiceConfig, pod: &mut Map) {
    if !c.node_selectors.is_empty() {
        let mut ns = Map::new();
        for (k, v) in &c.node_selectors {
            ns.set(k, Node::str(v));
        }
        pod.set("nodeSelector", ns.node());
    }
    if !c.tolerations.is_empty() {
        pod.set("tolerations", tolerations(c));
    }
}

/// The pod's `tolerations`.
fn tolerations(c: &ServiceConfig) -> Node {
    let t = c
        .tolerations
        .iter()
        .map(|t| {
            let mut m = Map::new();
            if let Some(k) = &t.key {
                m.set("key", Node::str(k));
            }
            if let Some(o) = &t.operator {
                m.set("operator", Node::str(o));
            }
            if let Some(v) = &t.value {
                m.set("value", Node::str(v));
            }
            if let Some(e) = &t.effect {
                m.set("effect", Node::str(e));
            }
            if let Some(s) = t.toleration_seconds {
                m.set("tolerationSeconds", Node::Int(s));
            }
            m.node()
        })
        .collect();
    Node::Seq(t)
}

/// Requests and limits from the package's min/max cpu and memory (memory in MB,
/// decimal, as Kurtosis's Kubernetes backend), a GPU count under the package's
/// Kubernetes resource name (`nvidia.com/gpu` by default).
fn resources(c: &ServiceConfig, v: &mut ServiceValues) {
    let mut req: BTreeMap<String, String> = BTreeMap::new();
    let mut lim: BTreeMap<String, String> = BTreeMap::new();
    if c.min_cpu > 0 {
        req.insert("cpu".into(), cpu(c.min_cpu));
    }
    if c.max_cpu > 0 {
        lim.insert("cpu".into(), cpu(c.max_cpu));
    }
    if c.min_memory > 0 {
        req.insert("memory".into(), format!("{}M", c.min_memory));
    }
    if c.max_memory > 0 {
        lim.insert("memory".into(), format!("{}M", c.max_memory));
    }
    if let Some(g) = c.gpu.as_ref().filter(|g| g.count > 0) {
        let name = if g.kubernetes_resource.is_empty() {
            "nvidia.com/gpu".to_owned()
        } else {
            g.kubernetes_resource.clone()
        };
        lim.insert(name, g.count.to_string());
    }
    if !req.is_empty() {
        v.resources.insert("requests", req);
    }
    if !lim.is_empty() {
        v.resources.insert("limits", lim);
    }
}

/// The image reference of a service or task (`who`: "service 'web'"); images the
/// cluster cannot pull as written are KP301, credentials a warning (KP310).
pub fn image(cx: &mut Ctx, image: &Image, who: &str, at: &crate::ir::Span) -> String {
    match image {
        Image::Name(n) => n.clone(),
        Image::Spec {
            image,
            username,
            password,
            ..
        } => {
            if username.is_some() || password.is_some() {
                cx.diags.push(
                    Diagnostic::warning(
                        Code::KP310,
                        format!("the registry credentials of {who} are not written into the chart"),
                        Some(at.clone()),
                    )
                    .with_hint("create an image pull secret in the namespace (kubectl create secret docker-registry) and attach it to the default ServiceAccount"),
                );
            }
            image.clone()
        }
        Image::Build { image_name, .. } | Image::Nix { image_name, .. } => {
            cx.diags.push(
                Diagnostic::error(
                    Code::KP301,
                    format!("{who} builds its image from the package; a cluster pulls images, it does not build them"),
                    Some(at.clone()),
                )
                .with_hint(format!("build and push '{image_name}' and use its reference as the image (a service's image can also be set at install: --set services.NAME.image=REF)")),
            );
            image_name.clone()
        }
    }
}

/// What a Kubernetes pod cannot do as the package asks: devices (need privileged
/// host access: refused), ulimits and GPU driver options (no pod field: warned).
fn refuse_docker_only(cx: &mut Ctx, c: &ServiceConfig, who: &str, at: &crate::ir::Span) {
    if !c.devices.is_empty() {
        cx.diags.push(
            Diagnostic::error(
                Code::KP301,
                format!("service '{who}' maps host devices ({}), which a pod gets only through a device plugin", c.devices.join(", ")),
                Some(at.clone()),
            )
            .with_hint("drop `devices` for the Helm target, or install the cluster's device plugin and request its resource"),
        );
    }
    if !c.files_to_be_moved.is_empty() {
        cx.diags.push(
            Diagnostic::error(
                Code::KP302,
                format!("service '{who}' moves files after start (files_to_be_moved), which ConfigMap volumes cannot do"),
                Some(at.clone()),
            )
            .with_hint("mount the artifact at the final directory instead"),
        );
    }
    if let Some(g) = &c.gpu {
        if !g.ulimits.is_empty() || !g.device_ids.is_empty() {
            cx.diags.push(
                Diagnostic::warning(
                    Code::KP310,
                    format!("service '{who}' sets GPU device ids or ulimits, which a Kubernetes pod has no field for; only the GPU count is written"),
                    Some(at.clone()),
                ),
            );
        }
    }
}
