//! Files artifacts in Compose: uploads and rendered templates become files written
//! beside `compose.yaml` (`artifacts/<name>/<path>`) and bind-mounted read-only with
//! relative paths; files produced at run time (`run_sh`/`run_python` `store`,
//! `store_service_files`) become named volumes filled by one-shot services.

use super::model::{ComposeService, Condition, NamedVolume};
use super::{Ctx, Placement};
use crate::diagnostic::Diagnostic;
use crate::gotemplate::{Number, Piece, Template, Value};
use crate::ir::{ArtifactId, ArtifactSource, Data, FileContent, Mount, Span};
use std::collections::BTreeMap;

/// Decides where every artifact lives, writing compile-time files into the output.
pub fn place(cx: &mut Ctx) {
    let ids: Vec<ArtifactId> = cx.plan.artifact_ids().collect();
    for id in ids {
        let a = cx.plan.artifact(id);
        if cx.info.artifacts.get(&a.name) != Some(&id) {
            continue;
        }
        let placement = match &a.source {
            ArtifactSource::Upload { files, .. } | ArtifactSource::Templates { files } => {
                let dir = cx.artifact_dir(&a.name);
                let mut paths = Vec::new();
                for f in files {
                    if !safe_rel(&f.path) {
                        cx.diags.push(
                            Diagnostic::error(
                                "KP204",
                                format!("artifact '{}' has a file at '{}', which is not a plain relative path and cannot be written beside compose.yaml", a.name, f.path),
                                Some(a.at.clone()),
                            )
                            .with_hint("use relative file names without '..'"),
                        );
                        continue;
                    }
                    let place = format!("file '{}' of artifact '{}'", f.path, a.name);
                    if let Some(bytes) = content(cx, &f.path, &f.content, &a.at, &place) {
                        cx.out
                            .add_with_mode(format!("{dir}/{}", f.path), bytes, f.mode);
                        paths.push(f.path.clone());
                    }
                }
                Placement::Files { dir, files: paths }
            }
            ArtifactSource::ServiceFiles {
                service_name, src, ..
            } => match service_files(cx, id, service_name, src, &a.at) {
                Some(p) => p,
                None => continue,
            },
            ArtifactSource::TaskStore { task, .. } => {
                let Some(producer) = cx.task_names.get(task).cloned() else {
                    continue;
                };
                let volume = artifact_volume(cx, &a.name);
                Placement::Volume { volume, producer }
            }
        };
        cx.placements.insert(id, placement);
    }
}

/// Declares a named volume for an artifact and returns its name.
pub fn artifact_volume(cx: &mut Ctx, artifact: &str) -> String {
    let volume = cx
        .volume_names
        .claim(&format!("artifact-{}", super::names::token(artifact)));
    cx.project
        .volumes
        .insert(volume.clone(), NamedVolume::default());
    volume
}

fn safe_rel(p: &str) -> bool {
    !p.is_empty()
        && !p.starts_with('/')
        && p.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
        && !p.contains(['\\', ':', '\n'])
}

/// The bytes of one artifact file; run-time values in rendered text resolve to DNS
/// names, and templates whose logic needed a run-time value are rendered now with
/// those names.
fn content(cx: &mut Ctx, path: &str, c: &FileContent, at: &Span, place: &str) -> Option<Vec<u8>> {
    match c {
        FileContent::Static(b) => Some(b.clone()),
        FileContent::Text(e) => cx.text(e, at, place).map(String::into_bytes),
        FileContent::Template {
            template,
            data,
            reason,
        } => {
            let value = data_value(cx, data, at, place)?;
            let rendered = Template::parse(path, template)
                .map_err(|e| e.to_string())
                .and_then(|t| t.execute(&value).map_err(|e| e.to_string()));
            match rendered {
                Ok(pieces) => {
                    let mut s = String::new();
                    for p in pieces {
                        match p {
                            Piece::Text(t) => s.push_str(&t),
                            Piece::Hole(_) => {}
                        }
                    }
                    Some(s.into_bytes())
                }
                Err(e) => {
                    cx.diags.push(
                        Diagnostic::error(
                            "KP205",
                            format!("{place} cannot be rendered with the services' DNS names: {e}"),
                            Some(at.clone()),
                        )
                        .with_hint(format!("kplan deferred it because {reason}; make the template only print run-time values")),
                    );
                    None
                }
            }
        }
    }
}

/// Template data with every run-time value resolved to its Compose text.
fn data_value(cx: &mut Ctx, d: &Data, at: &Span, place: &str) -> Option<Value> {
    Some(match d {
        Data::Null => Value::Null,
        Data::Bool(b) => Value::Bool(*b),
        Data::Number(n) => match Number::from_json(n) {
            Ok(n) => Value::Number(n),
            Err(e) => {
                cx.diags.push(Diagnostic::error(
                    "KP205",
                    format!("{place} cannot be rendered: {e}"),
                    Some(at.clone()),
                ));
                return None;
            }
        },
        Data::Str(s) => Value::String(vec![Piece::Text(cx.text(s, at, place)?)]),
        Data::List(items) => {
            let mut out = Vec::new();
            let mut ok = true;
            for i in items {
                match data_value(cx, i, at, place) {
                    Some(v) => out.push(v),
                    None => ok = false,
                }
            }
            if !ok {
                return None;
            }
            Value::List(out)
        }
        Data::Object(entries) => {
            let mut out = BTreeMap::new();
            let mut ok = true;
            for (k, v) in entries {
                match data_value(cx, v, at, place) {
                    Some(v) => {
                        out.insert(k.clone(), v);
                    }
                    None => ok = false,
                }
            }
            if !ok {
                return None;
            }
            Value::Map(out)
        }
    })
}

/// A compile-time file's content and permission bits.
type FileBytes = (Vec<u8>, Option<u32>);

/// `store_service_files`: a static copy when the path lies in files the service has
/// mounted from compile-time artifacts; otherwise a one-shot service from the source
/// service's image (with its volumes) copies the path into a named volume.
fn service_files(
    cx: &mut Ctx,
    id: ArtifactId,
    service_name: &str,
    src: &str,
    at: &Span,
) -> Option<Placement> {
    let a_name = cx.plan.artifact(id).name.clone();
    let Some(&sid) = cx.info.final_services.get(service_name) else {
        cx.diags.push(
            Diagnostic::error(
                "KP202",
                format!("store_service_files copies from service '{service_name}', which the package removes later; a Compose project holds only the services that exist at the end"),
                Some(at.clone()),
            )
            .with_hint("copy the files before removing the service is not expressible in Compose; keep the service"),
        );
        return None;
    };
    let svc = cx.plan.service(sid);
    let src_trim = src.trim_end_matches('/');
    // Static: the path is inside an artifact mount whose files are known now.
    for (dir, m) in svc.config.files.iter().rev() {
        let Mount::Artifacts(names) = m else { continue };
        let dir_t = dir.trim_end_matches('/');
        let rel = if src_trim == dir_t {
            ""
        } else if let Some(r) = src_trim.strip_prefix(&format!("{dir_t}/")) {
            r
        } else {
            continue;
        };
        let mut merged: BTreeMap<String, FileBytes> = BTreeMap::new();
        let mut all_static = true;
        for n in names {
            match cx.info.artifacts.get(n).and_then(|i| cx.placements.get(i)) {
                Some(Placement::Files { dir: host, files }) => {
                    for f in files {
                        let key = format!("{host}/{f}");
                        if let Some(bytes) = cx.out.files.get(&key) {
                            let mode = cx.out.modes.get(&key).copied();
                            merged.insert(f.clone(), (bytes.clone(), mode));
                        }
                    }
                }
                Some(Placement::Volume { .. }) | None => all_static = false,
            }
        }
        if !all_static {
            break;
        }
        let base = src_trim.rsplit('/').next().unwrap_or(src_trim);
        let mut picked: Vec<(String, FileBytes)> = Vec::new();
        for (f, bytes) in merged {
            if rel.is_empty() {
                picked.push((format!("{base}/{f}"), bytes));
            } else if f == rel {
                picked.push((base.to_owned(), bytes));
            } else if let Some(rest) = f.strip_prefix(&format!("{rel}/")) {
                picked.push((format!("{base}/{rest}"), bytes));
            }
        }
        let host = cx.artifact_dir(&a_name);
        let mut files = Vec::new();
        for (f, (bytes, mode)) in picked {
            match mode {
                Some(m) => cx.out.add_with_mode(format!("{host}/{f}"), bytes, m),
                None => cx.out.add(format!("{host}/{f}"), bytes),
            }
            files.push(f);
        }
        return Some(Placement::Files { dir: host, files });
    }
    // At run time: copy out of a container of the same image, with the same volumes.
    let copier = cx.claim_service(&format!("store-{a_name}"));
    cx.copier_names.insert(id, copier.clone());
    let volume = artifact_volume(cx, &a_name);
    let source = cx.svc_names[&sid].clone();
    let mut volumes = mount_volumes(cx, &copier, &svc.config.files, &svc.at, true);
    volumes.push(format!("{volume}:/kplan/out"));
    let service = ComposeService {
        image: svc.config.image.reference().to_owned(),
        entrypoint: Some(vec!["/bin/sh".into(), "-c".into()]),
        command: Some(vec![
            "mkdir -p /kplan/out && cp -a \"$0\" /kplan/out/".into(),
            src.to_owned(),
        ]),
        volumes,
        restart: Some("no".into()),
        ..ComposeService::default()
    };
    cx.project.services.insert(copier.clone(), service);
    cx.need(&copier, &source, Condition::Started);
    if let Some(step) = cx.artifact_step.get(&id).copied() {
        cx.owners.push((copier.clone(), step));
    }
    Some(Placement::Volume {
        volume,
        producer: copier,
    })
}

/// The `volumes:` entries for a service's or task's files: compile-time artifacts as
/// read-only relative bind mounts (one per file when several artifacts share a
/// directory), run-time artifacts as their named volumes (and a dependency on the
/// one-shot that fills them), persistent directories as named volumes.
pub fn mount_volumes(
    cx: &mut Ctx,
    who: &str,
    files: &BTreeMap<String, Mount>,
    at: &Span,
    read_only: bool,
) -> Vec<String> {
    // Every caller mounts artifacts read-only; persistent directories stay writable.
    let ro = if read_only { ":ro" } else { "" };
    let mut out = Vec::new();
    for (dir, m) in files {
        if dir.contains([':', '\n']) {
            cx.diags.push(Diagnostic::error(
                "KP204",
                format!("mount directory '{dir}' contains ':' or a line break, which Compose's volume syntax cannot hold"),
                Some(at.clone()),
            ));
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
                let mut placements = Vec::new();
                for n in names {
                    if let Some(p) = cx.info.artifacts.get(n).and_then(|i| cx.placements.get(i)) {
                        placements.push((n.clone(), p.clone()));
                    }
                }
                let dir_t = dir.trim_end_matches('/');
                match placements.as_slice() {
                    [] => {}
                    [(_, Placement::Files { dir: host, .. })] => {
                        out.push(format!("./{host}:{dir}{ro}"));
                    }
                    [(_, Placement::Volume { volume, producer })] => {
                        out.push(format!("{volume}:{dir}{ro}"));
                        let producer = producer.clone();
                        cx.need(who, &producer, Condition::CompletedSuccessfully);
                    }
                    many => {
                        let mut merged: BTreeMap<String, String> = BTreeMap::new();
                        for (n, p) in many {
                            match p {
                                Placement::Files { dir: host, files } => {
                                    for f in files {
                                        merged.insert(f.clone(), format!("{host}/{f}"));
                                    }
                                }
                                Placement::Volume { .. } => {
                                    cx.diags.push(
                                        Diagnostic::error(
                                            "KP204",
                                            format!("artifact '{n}' is produced at run time and is merged with other artifacts at {dir}; Compose can mount its volume only as a whole directory"),
                                            Some(at.clone()),
                                        )
                                        .with_hint("mount that artifact at a directory of its own"),
                                    );
                                }
                            }
                        }
                        for (f, host) in merged {
                            out.push(format!("./{host}:{dir_t}/{f}{ro}"));
                        }
                    }
                }
            }
        }
    }
    out
}

/// The `volumes:` entries for a task's `files` (mount path -> artifact name).
pub fn task_mounts(
    cx: &mut Ctx,
    who: &str,
    files: &BTreeMap<String, String>,
    at: &Span,
) -> Vec<String> {
    let as_mounts: BTreeMap<String, Mount> = files
        .iter()
        .map(|(d, n)| (d.clone(), Mount::Artifacts(vec![n.clone()])))
        .collect();
    mount_volumes(cx, who, &as_mounts, at, true)
}
