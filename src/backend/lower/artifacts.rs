//! Files artifacts in the model: file sets known at compile time (uploads, rendered
//! templates, `store_service_files` of files a service mounts from those) and
//! artifacts produced at run time (a task's `store`, a copy out of a service), plus
//! rendering a template whose logic waited for an address ([`render_template`]).

use super::text::{Refusal, Text, Use};
use super::{Builder, JobId, JobKind, NodeId};
use crate::diagnostic::{Code, Diagnostic};
use crate::gotemplate::{Number, Piece, Template, Value};
use crate::ir::{
    ArtifactId, ArtifactSource, Data, FileContent, Mount, RuntimeRef, ServiceId, TaskId,
};
use std::collections::BTreeMap;

/// One file of a file set.
#[derive(Debug, Clone, PartialEq)]
pub struct FileModel {
    /// Relative to the artifact root.
    pub path: String,
    pub mode: u32,
    pub body: FileBody,
}

/// What a file holds.
#[derive(Debug, Clone, PartialEq)]
pub enum FileBody {
    Bytes(Vec<u8>),
    /// Text with service addresses and run-time values in it.
    Text(Text),
    /// A template whose logic inspects a service address: rendered by the target with
    /// the address it writes ([`render_template`]). Its data holds no run-time value.
    Template {
        template: String,
        data: Data,
        /// Why the frontend could not render it (the template engine's message).
        reason: String,
    },
}

/// The bytes of a file known at compile time: service references written by
/// `service` (a target's DNS names), a deferred template rendered with them; KP205
/// when that template still cannot be rendered (`place`: "file 'x' of artifact 'y'").
/// A text file holding run-time values is not static: its caller renders it at run time.
pub fn static_content(
    f: &FileModel,
    at: &crate::ir::Span,
    place: &str,
    service: &dyn Fn(ServiceId, crate::ir::ServiceField) -> String,
) -> Result<Vec<u8>, Box<Diagnostic>> {
    match &f.body {
        FileBody::Bytes(b) => Ok(b.clone()),
        FileBody::Text(t) => Ok(t.render_static(service).unwrap_or_default().into_bytes()),
        FileBody::Template {
            template,
            data,
            reason,
        } => {
            let resolve = |r: &RuntimeRef| -> Result<String, String> {
                match r {
                    RuntimeRef::Service { service: s, field } => Ok(service(*s, *field)),
                    RuntimeRef::Task { .. } => Err("a run-time value".into()),
                }
            };
            render_template(&f.path, template, data, &resolve).map_err(|e| {
                Box::new(
                    Diagnostic::error(
                        Code::KP205,
                        format!("{place} cannot be rendered with the services' DNS names: {e}"),
                        Some(at.clone()),
                    )
                    .with_hint(format!("kplan deferred it because {reason}; make the template only print run-time values")),
                )
            })
        }
    }
}

/// Whether an artifact's file path is a plain relative one (no `..`, `.`, empty or
/// absolute components, no `\`, `:` or line break), so a target can place it.
pub fn is_plain_relative(p: &str) -> bool {
    !p.is_empty()
        && !p.starts_with('/')
        && p.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
        && !p.contains(['\\', ':', '\n'])
}

/// Where an artifact's files come from.
#[derive(Debug, Clone, PartialEq)]
pub enum ArtifactModel {
    /// `upload_files`, `render_templates`: files written by the target.
    Files(Vec<FileModel>),
    /// `store_service_files` of a path inside compile-time files the service mounts:
    /// those files, copied now.
    Copied(Vec<FileModel>),
    /// `upload_files`/`render_templates` whose files hold run-time values: `job`
    /// writes them at run time into the artifact's volume, the static files as they
    /// are and each text file from its literal pieces and the value files.
    Rendered { files: Vec<FileModel>, job: JobId },
    /// `store_service_files` otherwise: copied at run time by a job.
    ServiceCopy {
        service: ServiceId,
        src: String,
        job: JobId,
    },
    /// The `index`-th `store` of a `run_sh`/`run_python`, filled by its job.
    TaskStore { task: TaskId, index: usize },
}

impl ArtifactModel {
    /// Whether the files exist only once a job ran.
    pub fn is_runtime(&self) -> bool {
        match self {
            ArtifactModel::Files(_) | ArtifactModel::Copied(_) => false,
            ArtifactModel::Rendered { .. }
            | ArtifactModel::ServiceCopy { .. }
            | ArtifactModel::TaskStore { .. } => true,
        }
    }
}

/// Builds every artifact, each version of a name its own, in plan order.
pub(crate) fn lower(b: &mut Builder) {
    let plan = b.r.plan;
    for id in plan.artifact_ids() {
        let a = plan.artifact(id);
        let model = match &a.source {
            ArtifactSource::Upload { files, .. } | ArtifactSource::Templates { files } => {
                // A file holding a run-time value is written at run time by a render
                // job, which reads the value; it would get this id.
                let render = b.next_job();
                let mut out = Vec::new();
                for f in files {
                    let place = format!("file '{}' of artifact '{}'", f.path, a.name);
                    let body = match &f.content {
                        FileContent::Static(bytes) => Some(FileBody::Bytes(bytes.clone())),
                        FileContent::Text(e) => {
                            let u = Use::read_by(&a.at, &place, NodeId::Job(render));
                            b.r.text(e, &u).map(FileBody::Text)
                        }
                        FileContent::Template {
                            template,
                            data,
                            reason,
                        } => {
                            let refusal = Refusal {
                                why: format!("the template's logic inspects it ({reason}), and kplan renders a template at run time only when its run-time values are plain substitutions"),
                                hint: "print the value in the template without `if`, `range` or functions on it (compute the decision in the task that produces the value), or deploy with `kplan apply`".into(),
                            };
                            let u = Use::never(&a.at, &place, refusal);
                            let mut ok = true;
                            for s in data.strings() {
                                ok &= b.r.text(s, &u).is_some();
                            }
                            ok.then(|| FileBody::Template {
                                template: template.clone(),
                                data: data.clone(),
                                reason: reason.clone(),
                            })
                        }
                    };
                    if let Some(body) = body {
                        out.push(FileModel {
                            path: f.path.clone(),
                            mode: f.mode,
                            body,
                        });
                    }
                }
                let files_carry = b.r.values.carry_mode() == super::Carry::Files;
                if files_carry
                    && out.iter().any(|f| match &f.body {
                        FileBody::Text(t) => t.has_values(),
                        FileBody::Bytes(_) | FileBody::Template { .. } => false,
                    })
                {
                    let step = b.r.info.artifact_step(id).unwrap_or(0);
                    let job = b.add_job(
                        JobKind::Render { artifact: id },
                        step,
                        format!("render-{}", a.name),
                    );
                    ArtifactModel::Rendered { files: out, job }
                } else {
                    ArtifactModel::Files(out)
                }
            }
            ArtifactSource::ServiceFiles {
                service_name, src, ..
            } => match service_files(b, id, service_name, src) {
                Some(m) => m,
                None => continue,
            },
            ArtifactSource::TaskStore { task, .. } => {
                let index =
                    b.r.info
                        .task_artifacts(*task)
                        .iter()
                        .position(|x| *x == id)
                        .unwrap_or(0);
                ArtifactModel::TaskStore { task: *task, index }
            }
        };
        b.m.artifacts.insert(id, model);
    }
}

/// `store_service_files`: the files themselves when the path lies in compile-time
/// files the service mounts; otherwise a job copies the path at run time out of a
/// container of the service's image with the service's mounts.
fn service_files(
    b: &mut Builder,
    id: ArtifactId,
    service_name: &str,
    src: &str,
) -> Option<ArtifactModel> {
    let plan = b.r.plan;
    let a = plan.artifact(id);
    let Some(sid) = b.r.info.final_service(service_name) else {
        b.r.diags.push(
            Diagnostic::error(
                Code::KP202,
                format!("store_service_files copies from service '{service_name}', which the package removes later; {} holds only the services that exist at the end", b.r.words.project),
                Some(a.at.clone()),
            )
            .with_hint(format!("copy the files before removing the service is not expressible in {}; keep the service", b.r.words.target)),
        );
        return None;
    };
    let svc = plan.service(sid);
    let src_trim = src.trim_end_matches('/');
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
        let mut merged: BTreeMap<String, FileModel> = BTreeMap::new();
        let mut all_static = true;
        for n in names {
            match b
                .r
                .info
                .service_mount(sid, n)
                .and_then(|i| b.m.artifacts.get(&i))
            {
                Some(ArtifactModel::Files(files) | ArtifactModel::Copied(files)) => {
                    for f in files {
                        merged.insert(f.path.clone(), f.clone());
                    }
                }
                Some(
                    ArtifactModel::Rendered { .. }
                    | ArtifactModel::ServiceCopy { .. }
                    | ArtifactModel::TaskStore { .. },
                )
                | None => all_static = false,
            }
        }
        if !all_static {
            break;
        }
        let base = src_trim.rsplit('/').next().unwrap_or(src_trim);
        let mut picked = Vec::new();
        for (f, file) in merged {
            let path = if rel.is_empty() {
                format!("{base}/{f}")
            } else if f == rel {
                base.to_owned()
            } else if let Some(rest) = f.strip_prefix(&format!("{rel}/")) {
                format!("{base}/{rest}")
            } else {
                continue;
            };
            picked.push(FileModel { path, ..file });
        }
        return Some(ArtifactModel::Copied(picked));
    }
    let step = b.r.info.artifact_step(id).unwrap_or(0);
    let job = b.add_job(
        JobKind::Copy {
            artifact: id,
            service: sid,
            src: src.to_owned(),
        },
        step,
        format!("store-{}", a.name),
    );
    b.mounts_of_service(NodeId::Job(job), sid);
    b.need(
        NodeId::Job(job),
        NodeId::Service(sid),
        super::Condition::Started,
    );
    Some(ArtifactModel::ServiceCopy {
        service: sid,
        src: src.to_owned(),
        job,
    })
}

/// Renders a template whose logic waited for a run-time value, with each reference
/// written by `resolve`; the template engine's message on failure.
pub fn render_template(
    path: &str,
    template: &str,
    data: &Data,
    resolve: &dyn Fn(&RuntimeRef) -> Result<String, String>,
) -> Result<Vec<u8>, String> {
    let value = data_value(data, resolve)?;
    let t = Template::parse(path, template).map_err(|e| e.to_string())?;
    let pieces = t.execute(&value).map_err(|e| e.to_string())?;
    let mut s = String::new();
    for p in pieces {
        match p {
            Piece::Text(t) => s.push_str(&t),
            Piece::Hole(_) => {}
        }
    }
    Ok(s.into_bytes())
}

/// Template data with every reference resolved; numbers as Kurtosis's float64 round
/// trip leaves them ([`Number::from_json`], as the frontend renders them at compile
/// time). Compose and apply both render through here.
fn data_value(
    d: &Data,
    resolve: &dyn Fn(&RuntimeRef) -> Result<String, String>,
) -> Result<Value, String> {
    Ok(match d {
        Data::Null => Value::Null,
        Data::Bool(b) => Value::Bool(*b),
        Data::Number(n) => Value::Number(Number::from_json(n).map_err(|e| e.to_string())?),
        Data::Str(s) => Value::String(vec![Piece::Text(s.resolve(resolve)?)]),
        Data::List(items) => Value::List(
            items
                .iter()
                .map(|i| data_value(i, resolve))
                .collect::<Result<_, _>>()?,
        ),
        Data::Object(entries) => Value::Map(
            entries
                .iter()
                .map(|(k, v)| Ok((k.clone(), data_value(v, resolve)?)))
                .collect::<Result<_, String>>()?,
        ),
    })
}
