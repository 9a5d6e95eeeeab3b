//! Files in the chart: each compile-time artifact becomes a ConfigMap (text under
//! `data`, non-UTF-8 files base64 under `binaryData`, keys flattened and each file
//! put back at its path and mode by `items`), mounted read-only at the package's
//! directories, several artifacts at one directory as one `projected` volume (later
//! files win). A pod template carries a `checksum/<configmap>` annotation of the
//! files it mounts, so its pods roll when they change. A ConfigMap holds at most
//! 1 MiB (KP302). Persistent directories become PersistentVolumeClaims
//! (`ReadWriteOnce`, the package's size in MiB, 1Gi by default as in Kurtosis; size
//! and storage class in values).

use super::store::Render;
use super::tree::{Map, Node, Piece};
use super::{go_string, Ctx};
use crate::backend::lower::artifacts::{render_template, ArtifactModel, FileBody, FileModel};
use crate::backend::lower::names::{artifact_base, sanitize, Namer};
use crate::backend::lower::store::{split_rendered, RenderedFile};
use crate::backend::lower::JobKind;
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{ArtifactId, Mount, RuntimeRef, ServiceId};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Kubernetes refuses a ConfigMap whose data is larger than this.
pub const CONFIGMAP_LIMIT: usize = 1024 * 1024;

/// Where an artifact's files are in the chart.
#[derive(Debug, Clone)]
pub struct ConfigMap {
    /// The object name's suffix.
    pub suffix: String,
    /// (key, path in the artifact, mode) per file.
    pub items: Vec<(String, String, u32)>,
    /// SHA-256 of its content, for the pods' checksum annotation.
    pub checksum: String,
}

/// Writes one ConfigMap per compile-time artifact a final service mounts (and
/// refuses those produced at run time, which need a task the chart does not run).
pub fn place(cx: &mut Ctx) {
    let model = cx.model;
    let mut mounted: BTreeMap<ArtifactId, Vec<ServiceId>> = BTreeMap::new();
    for id in model.services.keys() {
        for m in cx.plan.service(*id).config.files.values() {
            if let Mount::Artifacts(names) = m {
                for a in names.iter().filter_map(|n| cx.info.service_mount(*id, n)) {
                    mounted.entry(a).or_default().push(*id);
                }
            }
        }
    }
    for j in &cx.runtime.jobs {
        if let JobKind::Task(p) = &model.job(*j).kind {
            for a in p.files.values() {
                mounted.entry(*a).or_default();
            }
        }
    }
    for id in mounted.keys() {
        let Some(a_model) = model.artifacts.get(id) else {
            continue;
        };
        let a = cx.plan.artifact(*id);
        let base = artifact_base(&a.name, cx.info.artifact_version(*id));
        match a_model {
            ArtifactModel::Files(files) | ArtifactModel::Copied(files) => {
                let suffix = cx
                    .suffixes
                    .claim(&format!("files-{}", super::dns_label(&base)));
                if let Some(cm) = configmap(cx, *id, &suffix, files) {
                    cx.configmaps.insert(*id, cm);
                }
            }
            // Filled at run time into a claim ([`super::store`]); a producer the
            // chart does not run is refused where it is lowered ([`super::jobs`]).
            ArtifactModel::Rendered { .. }
            | ArtifactModel::ServiceCopy { .. }
            | ArtifactModel::TaskStore { .. } => {}
        }
    }
    for (id, a_model) in &model.artifacts {
        if let ArtifactModel::Rendered { files, .. } = a_model {
            if cx.runtime.artifacts.contains_key(id) {
                render_inputs(cx, *id, files);
            }
        }
    }
}

/// Where the render Job sees the static files and literal pieces of an artifact
/// with run-time holes (one ConfigMap mounted at [`RENDER_IN`]).
pub const RENDER_IN: &str = "/kplan/in";

/// The ConfigMap of an artifact with run-time holes: its static files under `src/`,
/// the literal pieces of each file with holes under `parts/<path>/<n>`, which its
/// render Job concatenates with the value files (the shared [`crate::backend::lower::store::render_script`]).
fn render_inputs(cx: &mut Ctx, id: ArtifactId, files: &[FileModel]) {
    let a = cx.plan.artifact(id);
    let mut inputs = Vec::new();
    let mut rendered = Vec::new();
    let mut has_src = false;
    for f in files {
        match &f.body {
            FileBody::Text(t) if t.has_values() => {
                if !safe_rel(&f.path) {
                    cx.diags.push(
                        Diagnostic::error(
                            Code::KP302,
                            format!("artifact '{}' has a file at '{}', which is not a plain relative path", a.name, f.path),
                            Some(a.at.clone()),
                        )
                        .with_hint("use relative file names without '..'"),
                    );
                    continue;
                }
                let word = cx.word(t);
                let (parts, sources) =
                    split_rendered(&word, &|n| format!("{RENDER_IN}/parts/{}/{n}", f.path));
                for (n, l) in parts {
                    inputs.push(FileModel {
                        path: format!("parts/{}/{n}", f.path),
                        mode: 0o644,
                        body: FileBody::Bytes(l.into_bytes()),
                    });
                }
                rendered.push(RenderedFile {
                    path: f.path.clone(),
                    mode: f.mode,
                    sources,
                });
            }
            FileBody::Text(_) | FileBody::Bytes(_) | FileBody::Template { .. } => {
                has_src = true;
                inputs.push(FileModel {
                    path: format!("src/{}", f.path),
                    ..f.clone()
                });
            }
        }
    }
    let base = artifact_base(&a.name, cx.info.artifact_version(id));
    let suffix = cx
        .suffixes
        .claim(&format!("parts-{}", super::dns_label(&base)));
    let cm = if inputs.is_empty() {
        None
    } else {
        configmap(cx, id, &suffix, &inputs)
    };
    cx.runtime.renders.insert(
        id,
        Render {
            inputs: cm,
            has_src,
            files: rendered,
        },
    );
}

/// A ConfigMap key for a path: `[-._a-zA-Z0-9]`, `/` as `_`.
fn key_for(path: &str) -> String {
    let flat = path.replace('/', "_");
    let k = sanitize(&flat, "-._", "file");
    if k == "." || k == ".." {
        "file".into()
    } else {
        k
    }
}

fn configmap(cx: &mut Ctx, id: ArtifactId, suffix: &str, files: &[FileModel]) -> Option<ConfigMap> {
    let a = cx.plan.artifact(id);
    let mut keys = Namer::default();
    let mut data = Map::new();
    let mut binary = Map::new();
    let mut items = Vec::new();
    let mut hash = Sha256::new();
    let mut size = 0usize;
    let mut ok = true;
    for f in files {
        if !safe_rel(&f.path) {
            cx.diags.push(
                Diagnostic::error(
                    Code::KP302,
                    format!("artifact '{}' has a file at '{}', which is not a plain relative path a ConfigMap volume can hold", a.name, f.path),
                    Some(a.at.clone()),
                )
                .with_hint("use relative file names without '..'"),
            );
            ok = false;
            continue;
        }
        let key = keys.claim(&key_for(&f.path));
        let Some((pieces, bytes)) = content(cx, f, id) else {
            ok = false;
            continue;
        };
        size += bytes.len();
        hash.update(key.as_bytes());
        hash.update([0]);
        hash.update(&bytes);
        hash.update([0]);
        match pieces {
            Some(p) => data.set(&key, Node::text(p)),
            None => binary.set(
                &key,
                Node::str(base64::engine::general_purpose::STANDARD.encode(&bytes)),
            ),
        }
        items.push((key, f.path.clone(), f.mode & 0o777));
    }
    if size > CONFIGMAP_LIMIT {
        cx.diags.push(
            Diagnostic::error(
                Code::KP302,
                format!(
                    "artifact '{}' holds {size} bytes; a Kubernetes ConfigMap holds at most {CONFIGMAP_LIMIT} (1 MiB)",
                    a.name
                ),
                Some(a.at.clone()),
            )
            .with_hint("split the files into several artifacts, or ship large files in the image"),
        );
        ok = false;
    }
    if !ok {
        return None;
    }
    let mut doc = Map::new()
        .put("apiVersion", Node::str("v1"))
        .put("kind", Node::str("ConfigMap"))
        .put(
            "metadata",
            Map::new()
                .put("name", cx.name_node(suffix))
                .put("labels", cx.labels(suffix, None))
                .node(),
        );
    if !data.is_empty() {
        doc.set("data", data.node());
    }
    if !binary.is_empty() {
        doc.set("binaryData", binary.node());
    }
    cx.template(&format!("{suffix}-configmap.yaml"), &[], doc.node());
    Some(ConfigMap {
        suffix: suffix.to_owned(),
        items,
        checksum: hex::encode(hash.finalize()),
    })
}

fn safe_rel(p: &str) -> bool {
    !p.is_empty()
        && !p.starts_with('/')
        && p.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
}

/// A file's content: `Some(pieces)` for UTF-8 text (service names as actions),
/// `None` for binary; and the bytes it is checksummed by.
fn content(cx: &mut Ctx, f: &FileModel, id: ArtifactId) -> Option<(Option<Vec<Piece>>, Vec<u8>)> {
    match &f.body {
        // Only markers carrying the plan's digest become names (the literal
        // pieces of a rendered file hold them): package bytes stay as they are.
        FileBody::Bytes(b) => Some(match std::str::from_utf8(b) {
            Ok(s) => (Some(cx.unmark(s)), b.clone()),
            Err(_) => (None, b.clone()),
        }),
        FileBody::Text(t) => {
            let bytes = t
                .render_static(|s, _| {
                    cx.name(crate::backend::lower::NodeId::Service(s))
                        .to_owned()
                })
                .unwrap_or_default()
                .into_bytes();
            Some((Some(cx.pieces(t)), bytes))
        }
        FileBody::Template {
            template,
            data,
            reason,
        } => {
            let resolve = |r: &RuntimeRef| -> Result<String, String> {
                match r {
                    RuntimeRef::Service { service, .. } => Ok(cx.marker(*service)),
                    RuntimeRef::Task { .. } => Err("a run-time value".into()),
                }
            };
            match render_template(&f.path, template, data, &resolve) {
                Ok(bytes) => {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    let pieces = cx.unmark(&text);
                    Some((Some(pieces), bytes))
                }
                Err(e) => {
                    let a = cx.plan.artifact(id);
                    cx.diags.push(
                        Diagnostic::error(
                            Code::KP303,
                            format!("file '{}' of artifact '{}' cannot be rendered with the services' names: {e}", f.path, a.name),
                            Some(a.at.clone()),
                        )
                        .with_hint(format!("kplan deferred it because {reason}; make the template only print service addresses")),
                    );
                    None
                }
            }
        }
    }
}

/// The volumes, mounts and checksum annotations of service `id`.
#[derive(Debug, Default)]
pub struct PodFiles {
    pub volumes: Vec<Node>,
    pub mounts: Vec<Node>,
    pub checksums: BTreeMap<String, String>,
}

/// The volumes of service `id`: its artifacts (the versions bound at its step) and
/// its persistent directories (claims written here, one per key).
pub fn pod_files(cx: &mut Ctx, id: ServiceId) -> PodFiles {
    let svc = cx.plan.service(id);
    let mut out = PodFiles::default();
    for (n, (dir, m)) in svc.config.files.iter().enumerate() {
        let vol = format!("files-{n}");
        match m {
            Mount::Persistent { key, .. } => {
                let suffix = cx.claims.get(key).cloned().unwrap_or_default();
                out.volumes.push(
                    Map::new()
                        .put("name", Node::str(&vol))
                        .put(
                            "persistentVolumeClaim",
                            Map::new().put("claimName", cx.name_node(&suffix)).node(),
                        )
                        .node(),
                );
                out.mounts.push(
                    Map::new()
                        .put("name", Node::str(&vol))
                        .put("mountPath", Node::str(dir))
                        .node(),
                );
            }
            Mount::Artifacts(names) => {
                let ids: Vec<ArtifactId> = names
                    .iter()
                    .filter_map(|a| cx.info.service_mount(id, a))
                    .collect();
                let who = format!("service '{}'", svc.name);
                if let Some((v, m)) = runtime_mount(cx, &vol, dir, &ids, &who, &svc.at) {
                    out.volumes.push(v);
                    out.mounts.push(m);
                    continue;
                }
                let cms: Vec<ConfigMap> = ids
                    .iter()
                    .filter_map(|a| cx.configmaps.get(a).cloned())
                    .collect();
                if cms.is_empty() {
                    continue;
                }
                for cm in &cms {
                    out.checksums
                        .insert(format!("checksum/{}", cm.suffix), cm.checksum.clone());
                }
                out.volumes.push(volume(cx, &vol, &cms));
                out.mounts.push(
                    Map::new()
                        .put("name", Node::str(&vol))
                        .put("mountPath", Node::str(dir))
                        .put("readOnly", Node::Bool(true))
                        .node(),
                );
            }
        }
    }
    out
}

/// The volume and mount of artifacts produced at run time mounted at `dir`: the
/// artifact's claim, read-only. `None` when none of `ids` is produced at run time;
/// merged with other artifacts in one directory it is KP302 (a claim mounts as a
/// whole directory).
pub fn runtime_mount(
    cx: &mut Ctx,
    vol: &str,
    dir: &str,
    ids: &[ArtifactId],
    who: &str,
    at: &crate::ir::Span,
) -> Option<(Node, Node)> {
    let claim = ids
        .iter()
        .find_map(|a| Some((*a, cx.runtime.artifacts.get(a)?.clone())));
    let (a, suffix) = claim?;
    if ids.len() > 1 {
        let name = &cx.plan.artifact(a).name;
        cx.diags.push(
            Diagnostic::error(
                Code::KP302,
                format!("{who} mounts artifact '{name}', produced at run time, together with other artifacts at {dir}; its claim can only be mounted as a whole directory"),
                Some(at.clone()),
            )
            .with_hint("mount that artifact at a directory of its own"),
        );
        return None;
    }
    Some((
        super::store::claim_volume(cx, vol, &suffix, true),
        super::store::mount(vol, dir, true),
    ))
}

/// A ConfigMap volume for one artifact, a projected volume for several (a path
/// given by a later artifact replaces an earlier one's).
pub fn volume(cx: &Ctx, name: &str, cms: &[ConfigMap]) -> Node {
    let mut latest: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, cm) in cms.iter().enumerate() {
        for (_, path, _) in &cm.items {
            latest.insert(path, i);
        }
    }
    let source = |i: usize, cm: &ConfigMap| -> Node {
        let items: Vec<Node> = cm
            .items
            .iter()
            .filter(|(_, p, _)| latest.get(p.as_str()) == Some(&i))
            .map(|(k, p, mode)| {
                let mut m = Map::new()
                    .put("key", Node::str(k))
                    .put("path", Node::str(p));
                if *mode != 0o644 {
                    m.set("mode", Node::Int(i64::from(*mode)));
                }
                m.node()
            })
            .collect();
        let mut m = Map::new().put("name", cx.name_node(&cm.suffix));
        if !items.is_empty() {
            m.set("items", Node::Seq(items));
        }
        m.node()
    };
    let v = Map::new().put("name", Node::str(name));
    match cms {
        [one] => v.put("configMap", source(0, one)).node(),
        many => {
            let sources: Vec<Node> = many
                .iter()
                .enumerate()
                .map(|(i, cm)| Map::new().put("configMap", source(i, cm)).node())
                .collect();
            v.put(
                "projected",
                Map::new().put("sources", Node::Seq(sources)).node(),
            )
            .node()
        }
    }
}

/// Writes a PersistentVolumeClaim per persistent key of the final services (the
/// first service that mounts a key owns its values), and records each key's
/// object suffix in `cx.claims`.
pub fn claims(cx: &mut Ctx) {
    let model = cx.model;
    for id in model.services.keys() {
        let svc = cx.plan.service(*id);
        for m in svc.config.files.values() {
            let Mount::Persistent { key, size_mb } = m else {
                continue;
            };
            if cx.claims.contains_key(key) {
                continue;
            }
            let suffix = cx
                .suffixes
                .claim(&format!("data-{}", super::dns_label(key)));
            cx.claims.insert(key.clone(), suffix.clone());
            let size = size_mb.map_or_else(|| "1Gi".to_owned(), |m| format!("{m}Mi"));
            cx.values
                .entry(*id)
                .or_default()
                .persistence
                .insert(key.clone(), size);
            let comp = cx
                .name(crate::backend::lower::NodeId::Service(*id))
                .to_owned();
            let p = format!(
                "{{{{- $p := index (index .Values.services {}).persistence {} }}}}",
                go_string(&svc.name),
                go_string(key)
            );
            let doc = super::store::claim_doc(
                cx,
                &suffix,
                &comp,
                Node::Seq(vec![Node::str("ReadWriteOnce")]),
                "$p",
                "size",
            );
            cx.template(&format!("{suffix}-pvc.yaml"), &[p], doc);
        }
    }
}
