//! Files artifacts in Compose: file sets known at compile time become files written
//! beside `compose.yaml` (`artifacts/<name>/<path>`) and bind-mounted read-only with
//! relative paths; artifacts produced at run time (a task's `store`, a copy out of a
//! service, files holding run-time values) become named volumes filled by one-shots.
//! Each version of a name (a task's `store` reusing it) is its own volume
//! (`artifact-<name>-v<N>`), and every consumer mounts the version it binds to
//! ([`crate::ir::PlanInfo::bound_artifact`]), so a task that reads version 1 and
//! stores version 2 mounts one volume and fills another.
//! A file holding run-time values is written as its literal pieces
//! (`parts/<name>/<path>/<n>`), which its render job concatenates with the value
//! files into the artifact's volume, beside the artifact's static files.

use super::model::{ComposeService, NamedVolume};
use super::{Ctx, Placement};
use crate::backend::lower::artifacts::{
    is_plain_relative, static_content, ArtifactModel, FileBody, FileModel,
};
use crate::backend::lower::names::artifact_base;
use crate::backend::lower::script::COPY_SCRIPT;
use crate::backend::lower::store::{render_script, split_rendered, RenderedFile};
use crate::backend::lower::{JobKind, NodeId};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{ArtifactId, Mount, ServiceId, Span};
use std::collections::BTreeMap;

/// Decides where every artifact lives, writing compile-time files into the output.
pub fn place(cx: &mut Ctx) {
    let model = cx.model;
    for (id, a_model) in &model.artifacts {
        let a = cx.plan.artifact(*id);
        // Each version of a name has its own directory or volume.
        let base = artifact_base(&a.name, cx.info.artifact_version(*id));
        let placement = match a_model {
            ArtifactModel::Rendered { files, .. } => {
                let tok = cx.artifact_dir(&base);
                let render = rendered(cx, *id, &tok, files);
                cx.renders.insert(*id, render);
                Placement::Volume {
                    volume: artifact_volume(cx, &base),
                }
            }
            ArtifactModel::Files(files) | ArtifactModel::Copied(files) => {
                let dir = format!("artifacts/{}", cx.artifact_dir(&base));
                let mut paths = Vec::new();
                for f in files {
                    if matches!(a_model, ArtifactModel::Files(_)) && !placeable(cx, *id, &f.path) {
                        continue;
                    }
                    let place = format!("file '{}' of artifact '{}'", f.path, a.name);
                    if let Some(bytes) = content(cx, f, &a.at, &place) {
                        cx.out
                            .add_with_mode(format!("{dir}/{}", f.path), bytes, f.mode);
                        paths.push(f.path.clone());
                    }
                }
                Placement::Files { dir, files: paths }
            }
            ArtifactModel::ServiceCopy { .. } | ArtifactModel::TaskStore { .. } => {
                Placement::Volume {
                    volume: artifact_volume(cx, &base),
                }
            }
        };
        cx.placements.insert(*id, placement);
    }
}

/// How the render job of an artifact with run-time holes fills its volume.
#[derive(Debug, Clone)]
pub struct Render {
    /// The directory (relative to the output) of its static files, if any.
    pub src: Option<String>,
    /// The directory (relative to the output) of the literal pieces, if any.
    pub parts: Option<String>,
    /// The files with run-time holes, with their sources in the render container.
    pub files: Vec<RenderedFile>,
}

/// Where the render container sees the static files, the pieces and its output.
pub const RENDER_SRC: &str = "/kplan/src";
pub const RENDER_PARTS: &str = "/kplan/parts";
pub const RENDER_OUT: &str = "/kplan/out";

/// Writes the static files and the literal pieces of an artifact with run-time
/// holes, and says how its render job assembles it.
fn rendered(cx: &mut Ctx, id: ArtifactId, tok: &str, files: &[FileModel]) -> Render {
    let a = cx.plan.artifact(id);
    let dir = format!("artifacts/{tok}");
    let parts_dir = format!("parts/{tok}");
    let mut render = Render {
        src: None,
        parts: None,
        files: Vec::new(),
    };
    for f in files {
        if !placeable(cx, id, &f.path) {
            continue;
        }
        match &f.body {
            FileBody::Text(t) if t.has_values() => {
                let word = cx.word(t);
                let (parts, sources) =
                    split_rendered(&word, &|n| format!("{RENDER_PARTS}/{}/{n}", f.path));
                for (n, l) in parts {
                    cx.out
                        .add(format!("{parts_dir}/{}/{n}", f.path), l.into_bytes());
                    render.parts = Some(parts_dir.clone());
                }
                render.files.push(RenderedFile {
                    path: f.path.clone(),
                    mode: f.mode,
                    sources,
                });
            }
            FileBody::Text(_) | FileBody::Bytes(_) | FileBody::Template { .. } => {
                let place = format!("file '{}' of artifact '{}'", f.path, a.name);
                if let Some(bytes) = content(cx, f, &a.at, &place) {
                    cx.out
                        .add_with_mode(format!("{dir}/{}", f.path), bytes, f.mode);
                    render.src = Some(dir.clone());
                }
            }
        }
    }
    render
}

/// The one-shot that writes an artifact with run-time holes into its volume (in the
/// tools image).
pub fn renderer(cx: &mut Ctx, job: NodeId, artifact: ArtifactId) -> Option<ComposeService> {
    let render = cx.renders.get(&artifact)?.clone();
    let Some(Placement::Volume { volume }) = cx.placements.get(&artifact).cloned() else {
        return None;
    };
    let mut volumes = Vec::new();
    if let Some(src) = &render.src {
        volumes.push(format!("./{src}:{RENDER_SRC}:ro"));
    }
    if let Some(parts) = &render.parts {
        volumes.push(format!("./{parts}:{RENDER_PARTS}:ro"));
    }
    volumes.extend(cx.store_mount(job));
    volumes.push(format!("{volume}:{RENDER_OUT}"));
    Some(ComposeService {
        image: cx.tools_image.clone(),
        entrypoint: Some(vec!["/bin/sh".into(), "-c".into()]),
        command: Some(vec![render_script(
            RENDER_OUT,
            render.src.as_ref().map(|_| RENDER_SRC),
            &render.files,
        )]),
        volumes,
        restart: Some("no".into()),
        ..ComposeService::default()
    })
}

/// Declares a named volume for an artifact (`base`: [`artifact_base`]) and returns
/// its name.
pub fn artifact_volume(cx: &mut Ctx, base: &str) -> String {
    let volume = cx.volume_names.claim(&format!(
        "artifact-{}",
        crate::backend::lower::names::token(base)
    ));
    cx.project
        .volumes
        .insert(volume.clone(), NamedVolume::default());
    volume
}

/// Whether a file of an artifact can be written beside `compose.yaml` (KP204 when
/// its path is not a plain relative one).
fn placeable(cx: &mut Ctx, id: ArtifactId, path: &str) -> bool {
    if is_plain_relative(path) {
        return true;
    }
    let a = cx.plan.artifact(id);
    cx.diags.push(
        Diagnostic::error(
            Code::KP204,
            format!("artifact '{}' has a file at '{path}', which is not a plain relative path and cannot be written beside compose.yaml", a.name),
            Some(a.at.clone()),
        )
        .with_hint("use relative file names without '..'"),
    );
    false
}

/// The bytes of one compile-time file, service references as DNS names (KP205 when a
/// deferred template cannot be rendered).
fn content(cx: &mut Ctx, f: &FileModel, at: &Span, place: &str) -> Option<Vec<u8>> {
    match static_content(f, at, place, &|id, fld| cx.service_text(id, fld)) {
        Ok(bytes) => Some(bytes),
        Err(d) => {
            cx.diags.push(*d);
            None
        }
    }
}

/// The one-shot that copies a `store_service_files` path into its volume: from the
/// source service's image, with its volumes.
pub fn copier(cx: &mut Ctx, job: NodeId) -> Option<ComposeService> {
    let NodeId::Job(j) = job else { return None };
    let JobKind::Copy {
        artifact,
        service,
        src,
    } = &cx.model.job(j).kind
    else {
        return None;
    };
    let Some(Placement::Volume { volume }) = cx.placements.get(artifact).cloned() else {
        return None;
    };
    let svc = cx.plan.service(*service);
    let mut volumes = service_volumes(cx, *service);
    volumes.push(format!("{volume}:/kplan/out"));
    Some(ComposeService {
        image: svc.config.image.reference().to_owned(),
        entrypoint: Some(vec!["/bin/sh".into(), "-c".into()]),
        command: Some(vec![COPY_SCRIPT.into(), src.clone()]),
        volumes,
        restart: Some("no".into()),
        ..ComposeService::default()
    })
}

/// The `volumes:` entries for service `id`'s files (also those of a copy job that
/// runs with them): each artifact name as the version bound at the service's step,
/// persistent directories as named volumes (writable).
pub fn service_volumes(cx: &mut Ctx, id: ServiceId) -> Vec<String> {
    let svc = cx.plan.service(id);
    let mut out = Vec::new();
    for (dir, m) in &svc.config.files {
        if !mount_dir_ok(cx, dir, &svc.at) {
            continue;
        }
        match m {
            Mount::Persistent { key, .. } => {
                cx.project
                    .volumes
                    .insert(key.clone(), NamedVolume::default());
                out.push(format!("{key}:{dir}"));
            }
            Mount::Artifacts(names) => {
                let ids: Vec<ArtifactId> = names
                    .iter()
                    .filter_map(|n| cx.info.service_mount(id, n))
                    .collect();
                artifact_mounts(cx, dir, &ids, &svc.at, &mut out);
            }
        }
    }
    out
}

/// The `volumes:` entries for a task's `files` (mount path -> the version it mounts).
pub fn task_mounts(cx: &mut Ctx, files: &BTreeMap<String, ArtifactId>, at: &Span) -> Vec<String> {
    let mut out = Vec::new();
    for (dir, a) in files {
        if mount_dir_ok(cx, dir, at) {
            artifact_mounts(cx, dir, &[*a], at, &mut out);
        }
    }
    out
}

/// Whether Compose's volume syntax can hold a mount directory (KP204 otherwise).
fn mount_dir_ok(cx: &mut Ctx, dir: &str, at: &Span) -> bool {
    if !dir.contains([':', '\n']) {
        return true;
    }
    cx.diags.push(Diagnostic::error(
        Code::KP204,
        format!("mount directory '{dir}' contains ':' or a line break, which Compose's volume syntax cannot hold"),
        Some(at.clone()),
    ));
    false
}

/// The read-only mounts of `artifacts` at `dir`: a compile-time artifact as a relative
/// bind mount of its directory, a run-time one as its named volume, several
/// compile-time artifacts as one bind mount per file (later files win); a run-time
/// artifact cannot be merged with others (KP204).
fn artifact_mounts(
    cx: &mut Ctx,
    dir: &str,
    artifacts: &[ArtifactId],
    at: &Span,
    out: &mut Vec<String>,
) {
    let placements: Vec<(ArtifactId, Placement)> = artifacts
        .iter()
        .filter_map(|a| Some((*a, cx.placements.get(a)?.clone())))
        .collect();
    let dir_t = dir.trim_end_matches('/');
    match placements.as_slice() {
        [] => {}
        [(_, Placement::Files { dir: host, .. })] => out.push(format!("./{host}:{dir}:ro")),
        [(_, Placement::Volume { volume })] => out.push(format!("{volume}:{dir}:ro")),
        many => {
            let mut merged: BTreeMap<String, String> = BTreeMap::new();
            for (a, p) in many {
                match p {
                    Placement::Files { dir: host, files } => {
                        for f in files {
                            merged.insert(f.clone(), format!("{host}/{f}"));
                        }
                    }
                    Placement::Volume { .. } => {
                        let n = &cx.plan.artifact(*a).name;
                        cx.diags.push(
                            Diagnostic::error(
                                Code::KP204,
                                format!("artifact '{n}' is produced at run time and is merged with other artifacts at {dir}; Compose can mount its volume only as a whole directory"),
                                Some(at.clone()),
                            )
                            .with_hint("mount that artifact at a directory of its own"),
                        );
                    }
                }
            }
            for (f, host) in merged {
                out.push(format!("./{host}:{dir_t}/{f}:ro"));
            }
        }
    }
}
