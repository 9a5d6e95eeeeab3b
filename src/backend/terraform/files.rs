//! Files artifacts in Terraform: file sets known at compile time are written into
//! each container that mounts them as `upload` blocks (text as `content`, anything
//! else as `content_base64`, `executable` when the file has an execute bit), so
//! `main.tf` is the whole configuration; artifacts produced at run time (a task's
//! `store`, a copy out of a service, files holding run-time values) are
//! `docker_volume`s filled by one-shots, one per version of a name, mounted
//! read-only. A file with run-time holes is uploaded into its render job as its
//! literal pieces, which the job concatenates with the value files.

use super::model::{MountSource, Upload, VolumeMount};
use super::{Ctx, Placement};
use crate::backend::lower::artifacts::{
    is_plain_relative, static_content, ArtifactModel, FileBody,
};
use crate::backend::lower::names::artifact_base;
use crate::backend::lower::store::{split_rendered, RenderedFile};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{ArtifactId, Mount, ServiceId, Span};
use std::collections::BTreeMap;

/// Where the render container sees the static files, the pieces and its output.
pub const RENDER_SRC: &str = "/kplan/src";
pub const RENDER_PARTS: &str = "/kplan/parts";
pub const RENDER_OUT: &str = "/kplan/out";

/// How the render job of an artifact with run-time holes fills its volume.
#[derive(Debug, Clone, Default)]
pub struct Render {
    /// Its static files and literal pieces, uploaded into the job.
    pub uploads: Vec<Upload>,
    pub has_src: bool,
    pub files: Vec<RenderedFile>,
}

/// Decides where every artifact lives.
pub fn place(cx: &mut Ctx) {
    let model = cx.model;
    for (id, a_model) in &model.artifacts {
        let a = cx.plan.artifact(*id);
        let base = artifact_base(&a.name, cx.info.artifact_version(*id));
        let placement = match a_model {
            ArtifactModel::Rendered { files, .. } => {
                let mut render = Render::default();
                for f in files {
                    if !placeable(cx, *id, &f.path) {
                        continue;
                    }
                    match &f.body {
                        FileBody::Text(t) if t.has_values() => {
                            let word = cx.word(t);
                            let (parts, sources) = split_rendered(&word, &|n| {
                                format!("{RENDER_PARTS}/{}/{n}", f.path)
                            });
                            for (n, l) in parts {
                                render.uploads.push(Upload {
                                    file: format!("{RENDER_PARTS}/{}/{n}", f.path),
                                    content: l.into_bytes(),
                                    executable: false,
                                });
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
                                render.uploads.push(Upload {
                                    file: format!("{RENDER_SRC}/{}", f.path),
                                    content: bytes,
                                    executable: f.mode & 0o111 != 0,
                                });
                                render.has_src = true;
                            }
                        }
                    }
                }
                cx.renders.insert(*id, render);
                Placement::Volume(cx.volume(&format!("artifact-{base}")))
            }
            ArtifactModel::Files(files) | ArtifactModel::Copied(files) => {
                let mut out = Vec::new();
                for f in files {
                    if !placeable(cx, *id, &f.path) {
                        continue;
                    }
                    let place = format!("file '{}' of artifact '{}'", f.path, a.name);
                    if let Some(bytes) = content(cx, f, &a.at, &place) {
                        out.push((f.path.clone(), bytes, f.mode));
                    }
                }
                Placement::Files(out)
            }
            ArtifactModel::ServiceCopy { .. } | ArtifactModel::TaskStore { .. } => {
                Placement::Volume(cx.volume(&format!("artifact-{base}")))
            }
        };
        cx.placements.insert(*id, placement);
    }
}

fn content(
    cx: &mut Ctx,
    f: &crate::backend::lower::artifacts::FileModel,
    at: &Span,
    place: &str,
) -> Option<Vec<u8>> {
    match static_content(f, at, place, &|id, fld| cx.service_text(id, fld)) {
        Ok(b) => Some(b),
        Err(d) => {
            cx.diags.push(*d);
            None
        }
    }
}

/// Whether a file of an artifact can be placed (KP204 when its path is not a plain
/// relative one).
fn placeable(cx: &mut Ctx, id: ArtifactId, path: &str) -> bool {
    if is_plain_relative(path) {
        return true;
    }
    let a = cx.plan.artifact(id);
    cx.diags.push(
        Diagnostic::error(
            Code::KP204,
            format!("artifact '{}' has a file at '{path}', which is not a plain relative path and cannot be uploaded", a.name),
            Some(a.at.clone()),
        )
        .with_hint("use relative file names without '..'"),
    );
    false
}

/// The volumes and uploads of service `id`'s files (also of a copy job that runs
/// with them): persistent directories as volumes (writable), each artifact name as
/// the version bound at the service's step.
pub fn service_mounts(cx: &mut Ctx, id: ServiceId) -> (Vec<VolumeMount>, Vec<Upload>) {
    let svc = cx.plan.service(id);
    let mut vols = Vec::new();
    let mut ups = Vec::new();
    for (dir, m) in &svc.config.files {
        if !mount_dir_ok(cx, dir, &svc.at) {
            continue;
        }
        match m {
            Mount::Persistent { key, .. } => {
                let v = cx.persistent_volume(key);
                vols.push(VolumeMount {
                    source: MountSource::Volume(v),
                    path: dir.clone(),
                    read_only: false,
                });
            }
            Mount::Artifacts(names) => {
                let ids: Vec<ArtifactId> = names
                    .iter()
                    .filter_map(|n| cx.info.service_mount(id, n))
                    .collect();
                artifact_mounts(cx, dir, &ids, &svc.at, &mut vols, &mut ups);
            }
        }
    }
    (vols, ups)
}

/// The volumes and uploads of a task's `files` (mount path -> the version it mounts).
pub fn task_mounts(
    cx: &mut Ctx,
    files: &BTreeMap<String, ArtifactId>,
    at: &Span,
) -> (Vec<VolumeMount>, Vec<Upload>) {
    let mut vols = Vec::new();
    let mut ups = Vec::new();
    for (dir, a) in files {
        if mount_dir_ok(cx, dir, at) {
            artifact_mounts(cx, dir, &[*a], at, &mut vols, &mut ups);
        }
    }
    (vols, ups)
}

/// Uploads go to absolute paths (the provider extracts them at `/`).
fn mount_dir_ok(cx: &mut Ctx, dir: &str, at: &Span) -> bool {
    if dir.starts_with('/') && !dir.contains('\n') {
        return true;
    }
    cx.diags.push(
        Diagnostic::error(
            Code::KP204,
            format!("mount directory '{dir}' is not an absolute path, which the Docker provider needs for uploads and volumes"),
            Some(at.clone()),
        )
        .with_hint("mount files at an absolute directory such as /data"),
    );
    false
}

/// The mounts of `artifacts` at `dir`: compile-time files as uploads (several
/// artifacts merged, later files win), a run-time artifact as its volume,
/// read-only; a run-time artifact cannot be merged with others (KP204).
fn artifact_mounts(
    cx: &mut Ctx,
    dir: &str,
    artifacts: &[ArtifactId],
    at: &Span,
    vols: &mut Vec<VolumeMount>,
    ups: &mut Vec<Upload>,
) {
    let dir_t = dir.trim_end_matches('/');
    if let [a] = artifacts {
        if let Some(Placement::Volume(v)) = cx.placements.get(a) {
            vols.push(VolumeMount {
                source: MountSource::Volume(v.clone()),
                path: dir.to_owned(),
                read_only: true,
            });
            return;
        }
    }
    let mut merged: BTreeMap<String, (Vec<u8>, u32)> = BTreeMap::new();
    for a in artifacts {
        match cx.placements.get(a) {
            Some(Placement::Files(files)) => {
                for (p, b, m) in files {
                    merged.insert(p.clone(), (b.clone(), *m));
                }
            }
            Some(Placement::Volume(_)) => {
                let n = &cx.plan.artifact(*a).name;
                cx.diags.push(
                    Diagnostic::error(
                        Code::KP204,
                        format!("artifact '{n}' is produced at run time and is merged with other artifacts at {dir}; Terraform can mount its volume only as a whole directory"),
                        Some(at.clone()),
                    )
                    .with_hint("mount that artifact at a directory of its own"),
                );
            }
            None => {}
        }
    }
    for (p, (b, m)) in merged {
        ups.push(Upload {
            file: format!("{dir_t}/{p}"),
            content: b,
            executable: m & 0o111 != 0,
        });
    }
}
