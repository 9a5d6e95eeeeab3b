//! The desired state: plan + the run-time values known so far -> per-service container
//! specs with content hashes, artifact contents with digests, and task input keys.
//!
//! A run-time value is `Ok(text)` once known and `Err(why)` while it is not (during
//! `kplan plan`, for values an apply would produce); everything computed from an
//! unknown value is unknown with the same reason. The config hash covers what the
//! package declares (never engine defaults), the digests of mounted artifacts and the
//! resolved values the service uses; CPU and memory limits are kept apart (see
//! [`super::settings`]) because Docker changes them on a live container.

use super::upstream;
use crate::backend::lower::artifacts::{render_template, ArtifactModel, FileBody};
use crate::backend::lower::edges;
use crate::backend::lower::text::{Seg, Text};
use crate::backend::lower::Model;
use crate::ir::{
    ArtifactId, Data, Part, Plan, PlanInfo, RuntimeRef, ServiceField, ServiceId, StrExpr,
    TaskField, TaskId, TaskKind,
};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

mod service;

pub use super::results::{artifact_from_files, files_digest, ArtifactData, FileEntry, TaskResult};
pub use service::{service_spec, ServiceSpec, UPSTREAM_PART};

/// A value, or why it is not known yet.
pub type Val<T> = Result<T, String>;

/// The run-time values known so far.
#[derive(Debug, Clone, Default)]
pub struct Values {
    pub service_ip: BTreeMap<ServiceId, Val<String>>,
    /// Service name -> the static address kplan gives it, for services that use their
    /// `private_ip_address_placeholder` (see [`super::ipam::assign`]).
    pub own_ip: BTreeMap<String, Val<String>>,
    /// The version of a service's container (see [`super::upstream`]): tasks against
    /// it, and whatever uses it, are redone when it changes. While unknown: the
    /// service and what happens to it (`web, which is replaced`).
    pub service_version: BTreeMap<ServiceId, Val<String>>,
    pub tasks: BTreeMap<TaskId, Val<TaskResult>>,
    pub artifacts: BTreeMap<ArtifactId, Val<ArtifactData>>,
}

/// Short display names for messages.
pub fn task_label(plan: &Plan, id: TaskId) -> String {
    let t = plan.task(id);
    let what = match &t.kind {
        TaskKind::Exec { service_name, .. }
        | TaskKind::Request { service_name, .. }
        | TaskKind::Wait { service_name, .. } => {
            format!("{} on '{service_name}'", t.kind.instruction())
        }
        TaskKind::RunSh { name, .. } | TaskKind::RunPython { name, .. } => {
            format!("{} '{name}'", t.kind.instruction())
        }
        TaskKind::Verify { .. } | TaskKind::Print { .. } => t.kind.instruction().to_string(),
    };
    format!("{what} ({}:{})", t.at.file, t.at.line)
}

impl Values {
    /// The text of one run-time reference.
    pub fn resolve_ref(&self, plan: &Plan, r: &RuntimeRef) -> Val<String> {
        match r {
            RuntimeRef::Service { service, field } => match field {
                ServiceField::Hostname => Ok(plan.service(*service).name.clone()),
                ServiceField::IpAddress => {
                    self.service_ip.get(service).cloned().unwrap_or_else(|| {
                        Err(format!("the address of '{}'", plan.service(*service).name))
                    })
                }
                // Like Kurtosis' backend, kplan decides the address before the
                // container exists (see `ipam`), so the strings are final at create.
                ServiceField::OwnIpAddress => {
                    let name = &plan.service(*service).name;
                    self.own_ip
                        .get(name)
                        .cloned()
                        .unwrap_or_else(|| Err(format!("the own address of '{name}'")))
                }
            },
            RuntimeRef::Task { task, field } => {
                let res = self.tasks.get(task).cloned().unwrap_or_else(|| {
                    Err(format!(
                        "uses the result of {}, known after apply",
                        task_label(plan, *task)
                    ))
                })?;
                match field {
                    TaskField::Code => Ok(res.code.to_string()),
                    TaskField::Output => Ok(res.output),
                    TaskField::Body => Ok(res.body),
                    TaskField::Extract(k) => res.extract.get(k).cloned().ok_or_else(|| {
                        format!("{} has no extracted field '{k}'", task_label(plan, *task))
                    }),
                }
            }
        }
    }

    pub fn resolve(&self, plan: &Plan, e: &StrExpr) -> Val<String> {
        e.resolve(|r| self.resolve_ref(plan, r))
    }

    /// The text of one of the shared model's strings.
    pub fn resolve_text(&self, plan: &Plan, model: &Model, t: &Text) -> Val<String> {
        let mut s = String::new();
        for seg in t.segs() {
            match seg {
                Seg::Lit(l) => s.push_str(l),
                Seg::Service(service, field) => s.push_str(&self.resolve_ref(
                    plan,
                    &RuntimeRef::Service {
                        service: *service,
                        field: *field,
                    },
                )?),
                Seg::Value(v) => {
                    let flow = model.values.flow(*v);
                    s.push_str(&self.resolve_ref(
                        plan,
                        &RuntimeRef::Task {
                            task: flow.task,
                            field: flow.field.clone(),
                        },
                    )?);
                }
            }
        }
        Ok(s)
    }

    /// Data as JSON with every run-time value filled in (for assertions).
    pub fn resolve_json(&self, plan: &Plan, d: &Data) -> Val<serde_json::Value> {
        Ok(match d {
            Data::Null => serde_json::Value::Null,
            Data::Bool(b) => serde_json::Value::Bool(*b),
            Data::Number(n) => {
                serde_json::from_str(n).unwrap_or_else(|_| serde_json::Value::String(n.clone()))
            }
            Data::Str(s) => serde_json::Value::String(self.resolve(plan, s)?),
            Data::List(items) => serde_json::Value::Array(
                items
                    .iter()
                    .map(|x| self.resolve_json(plan, x))
                    .collect::<Val<_>>()?,
            ),
            Data::Object(entries) => serde_json::Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), self.resolve_json(plan, v)?)))
                    .collect::<Val<_>>()?,
            ),
        })
    }
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The content of an `upload_files`/`render_templates` artifact, from the shared
/// model's file set, rendering text holes and templates with the values known now.
/// `None` for artifacts produced during apply (service files, task stores).
pub fn static_artifact(
    plan: &Plan,
    model: &Model,
    id: ArtifactId,
    values: &Values,
) -> Option<Val<ArtifactData>> {
    let files = match model.artifacts.get(&id)? {
        ArtifactModel::Files(files) => files,
        // In process, files with run-time holes stay file sets; copies out of a
        // service are taken from its container, as Kurtosis does.
        ArtifactModel::Copied(_)
        | ArtifactModel::Rendered { .. }
        | ArtifactModel::ServiceCopy { .. }
        | ArtifactModel::TaskStore { .. } => return None,
    };
    let source = match upstream::versions(plan, &edges::files_uses(plan, id), values) {
        Some(Err(why)) => return Some(Err(why)),
        Some(Ok(v)) => Some(v),
        None => None,
    };
    let mut out = Vec::new();
    for f in files {
        let content = match &f.body {
            FileBody::Bytes(b) => b.clone(),
            FileBody::Text(t) => match values.resolve_text(plan, model, t) {
                Ok(t) => t.into_bytes(),
                Err(why) => return Some(Err(why)),
            },
            FileBody::Template { template, data, .. } => {
                let resolve = |r: &RuntimeRef| values.resolve_ref(plan, r);
                match render_template(&f.path, template, data, &resolve) {
                    Ok(bytes) => bytes,
                    Err(e) => return Some(Err(format!("render_templates {}: {e}", f.path))),
                }
            }
        };
        out.push(FileEntry {
            path: f.path.clone(),
            mode: f.mode,
            content,
        });
    }
    let mut data = artifact_from_files(out);
    data.version = upstream::artifact_version(&data.digest, source.as_deref());
    Some(Ok(data))
}

/// The key a task's recorded result is stored under: a hash of what it is, the
/// resolved values it uses, the version of the container it runs against, the
/// artifacts it mounts (the versions bound at its step) and the versions of
/// everything it uses (see [`super::upstream`]). Unknown when any of those is.
pub fn task_key(plan: &Plan, info: &PlanInfo, id: TaskId, values: &Values) -> Val<String> {
    let t = plan.task(id);
    let mut resolved = Vec::new();
    for e in edges::task_strings(&t.kind) {
        resolved.push(values.resolve(plan, e)?);
    }
    let container = match t.kind.service_name() {
        Some(name) => match info.final_service(name) {
            Some(sid) => values
                .service_version
                .get(&sid)
                .cloned()
                .unwrap_or_else(|| Err(format!("{name}, created during apply")))
                .map_err(|what| format!("runs against {what}"))?,
            None => String::new(),
        },
        None => String::new(),
    };
    let files: Option<&BTreeMap<String, String>> = match &t.kind {
        TaskKind::RunSh { files, .. } | TaskKind::RunPython { files, .. } => Some(files),
        TaskKind::Exec { .. }
        | TaskKind::Request { .. }
        | TaskKind::Wait { .. }
        | TaskKind::Verify { .. }
        | TaskKind::Print { .. } => None,
    };
    let mut digests = Vec::new();
    for (dir, name) in files.into_iter().flatten() {
        let d = info
            .task_mount(id, name)
            .and_then(|a| values.artifacts.get(&a).cloned())
            .unwrap_or_else(|| Err(format!("files artifact '{name}', known after apply")))
            .map_err(|why| format!("mounts artifact '{name}' ({why})"))?;
        digests.push((dir.clone(), d.digest));
    }
    let kind = serde_json::to_value(&t.kind).unwrap_or(serde_json::Value::Null);
    let mut doc = serde_json::json!({
        "kind": kind,
        "resolved": resolved,
        "container": container,
        "files": digests,
    });
    if let Some(v) = upstream::versions(plan, &edges::task_uses(plan, info, id), values) {
        doc["upstream"] = serde_json::Value::String(v?);
    }
    Ok(sha(doc.to_string().as_bytes()))
}

/// The expression's text with every reference described, for display
/// (`postgres://{{db.ip_address}}:5432`).
pub fn describe_expr(plan: &Plan, e: &StrExpr) -> String {
    e.parts()
        .iter()
        .map(|p| match p {
            Part::Lit(l) => l.clone(),
            Part::Ref(RuntimeRef::Service { service, field }) => {
                format!("{{{{{}.{}}}}}", plan.service(*service).name, field.as_str())
            }
            Part::Ref(RuntimeRef::Task { task, field }) => {
                format!("{{{{{}.{}}}}}", task_label(plan, *task), field.name())
            }
        })
        .collect()
}
