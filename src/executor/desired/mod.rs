//! The desired state: plan + the run-time values known so far -> per-service container
//! specs with content hashes, artifact contents with digests, and task input keys.
//!
//! A run-time value is `Ok(text)` once known and `Err(why)` while it is not (during
//! `kplan plan`, for values an apply would produce); everything computed from an
//! unknown value is unknown with the same reason. The config hash covers what the
//! package declares (never engine defaults), the digests of mounted artifacts and the
//! resolved values the service uses; CPU and memory limits are kept apart (see
//! [`super::settings`]) because Docker changes them on a live container.

use super::engine::ContainerSpec;
use super::settings::Settings;
use super::upstream;
use super::{container_name, network_name, volume_name};
use super::{
    LABEL_ENCLAVE, LABEL_HASH, LABEL_KIND, LABEL_PARTS, LABEL_PORTS, LABEL_RESOURCES, LABEL_SERVICE,
};
use crate::backend::lower::artifacts::{render_template, ArtifactModel, FileBody};
use crate::backend::lower::edges;
use crate::backend::lower::text::{Seg, Text};
use crate::backend::lower::Model;
use crate::ir::{
    ArtifactId, Data, Mount, Part, Plan, PlanInfo, RuntimeRef, ServiceField, ServiceId, StrExpr,
    TaskField, TaskId, TaskKind,
};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub use super::results::{artifact_from_files, files_digest, ArtifactData, FileEntry, TaskResult};

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
                    )?)
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

/// A service as it should run.
#[derive(Debug, Clone)]
pub struct ServiceSpec {
    pub id: ServiceId,
    pub name: String,
    pub image: String,
    /// Part -> short hash (or why it is unknown).
    pub parts: BTreeMap<String, Val<String>>,
    /// Over all parts; unknown when any part is.
    pub hash: Val<String>,
    /// What `docker update` can change, as the package declares it.
    pub settings: Settings,
    /// The container to create, when everything is known.
    pub container: Option<ContainerSpec>,
    /// Mount directory -> artifact contents to upload before start.
    pub uploads: Vec<(String, ArtifactData)>,
    /// Mount directory -> artifact name, for messages.
    pub mounted_artifacts: BTreeMap<String, Vec<String>>,
    /// Persistent volume keys.
    pub volume_keys: Vec<String>,
}

/// The config part holding the versions of what a service uses (see [`super::upstream`]).
pub const UPSTREAM_PART: &str = "upstream";

fn short(v: &serde_json::Value) -> String {
    sha(v.to_string().as_bytes())[..12].to_string()
}

/// Builds the spec of service `id` in `enclave` from the values known so far.
pub fn service_spec(
    plan: &Plan,
    info: &PlanInfo,
    id: ServiceId,
    values: &Values,
    enclave: &str,
) -> ServiceSpec {
    use serde_json::json;
    let s = plan.service(id);
    let c = &s.config;
    let mut parts: BTreeMap<String, Val<String>> = BTreeMap::new();
    let image = c.image.reference().to_string();
    parts.insert("image".into(), Ok(short(&json!(image))));

    // The service's own address (its `private_ip_address_placeholder`), which the
    // config hash covers.
    let own_ip: Option<Val<String>> = info.own_address_users().contains(&id).then(|| {
        values
            .own_ip
            .get(&s.name)
            .cloned()
            .unwrap_or_else(|| Err(format!("the own address of '{}'", s.name)))
    });
    let resolve = |e: &StrExpr| -> Val<String> { values.resolve(plan, e) };
    let list = |xs: &[StrExpr]| -> Val<Vec<String>> { xs.iter().map(&resolve).collect() };
    let entrypoint = list(&c.entrypoint);
    let cmd = list(&c.cmd);
    let env: Val<BTreeMap<String, String>> = c
        .env_vars
        .iter()
        .map(|(k, v)| Ok((k.clone(), resolve(v)?)))
        .collect();
    if let Some(ip) = &own_ip {
        parts.insert("address".into(), ip.clone().map(|ip| short(&json!(ip))));
    }
    parts.insert(
        "entrypoint".into(),
        entrypoint.clone().map(|v| short(&json!(v))),
    );
    parts.insert("cmd".into(), cmd.clone().map(|v| short(&json!(v))));
    parts.insert("env".into(), env.clone().map(|v| short(&json!(v))));
    let ports: BTreeMap<&String, (u16, &str)> = c
        .ports
        .iter()
        .map(|(k, p)| (k, (p.number, p.transport_protocol.as_str())))
        .collect();
    parts.insert("ports".into(), Ok(short(&json!(ports))));
    if !c.public_ports.is_empty() {
        let pp: BTreeMap<&String, (u16, &str)> = c
            .public_ports
            .iter()
            .map(|(k, p)| (k, (p.number, p.transport_protocol.as_str())))
            .collect();
        parts.insert("public_ports".into(), Ok(short(&json!(pp))));
    }
    let mut uploads = Vec::new();
    let mut mounted_artifacts = BTreeMap::new();
    let mut volume_keys = Vec::new();
    let mut volumes = Vec::new();
    for (dir, m) in &c.files {
        match m {
            Mount::Artifacts(names) => {
                mounted_artifacts.insert(dir.clone(), names.clone());
                let mut merged: BTreeMap<String, FileEntry> = BTreeMap::new();
                let mut digests = Vec::new();
                let mut unknown = None;
                let mut all_files = true;
                for n in names {
                    let data = info
                        .service_mount(id, n)
                        .and_then(|a| values.artifacts.get(&a).cloned())
                        .unwrap_or_else(|| Err(format!("files artifact '{n}', known after apply")));
                    match data {
                        Ok(d) => {
                            digests.push(d.digest.clone());
                            match &d.files {
                                Some(files) => {
                                    for f in files.iter() {
                                        merged.insert(f.path.clone(), f.clone());
                                    }
                                }
                                None => all_files = false,
                            }
                        }
                        Err(why) => {
                            unknown
                                .get_or_insert(format!("mounted artifact '{n}' changes ({why})"));
                        }
                    }
                }
                match unknown {
                    Some(why) => {
                        parts.insert(format!("files:{dir}"), Err(why));
                    }
                    None => {
                        parts.insert(format!("files:{dir}"), Ok(short(&json!(digests))));
                        if all_files {
                            uploads.push((
                                dir.clone(),
                                artifact_from_files(merged.into_values().collect()),
                            ));
                        }
                    }
                }
            }
            Mount::Persistent { key, .. } => {
                parts.insert(
                    format!("files:{dir}"),
                    Ok(short(&json!({ "persistent": key }))),
                );
                volume_keys.push(key.clone());
                volumes.push((volume_name(enclave, key), dir.clone()));
            }
        }
    }
    if !c.labels.is_empty() {
        parts.insert("labels".into(), Ok(short(&json!(c.labels))));
    }
    let user = c.user.as_ref().map(|u| match u.gid {
        Some(g) => format!("{}:{g}", u.uid),
        None => u.uid.to_string(),
    });
    if let Some(u) = &user {
        parts.insert("user".into(), Ok(short(&json!(u))));
    }
    let security = json!({
        "privileged": c.privileged,
        "caps": c.capabilities,
        "devices": c.devices,
        "pid_host": c.host_pid_namespace,
        "tty": c.tty_enabled,
        "tini": c.tini_enabled,
        "binds": c.bind_mounts,
    });
    parts.insert("runtime".into(), Ok(short(&security)));
    if let Some(v) = upstream::versions(plan, &edges::service_uses(plan, info, id), values) {
        parts.insert(UPSTREAM_PART.into(), v.map(|v| v[..12].to_string()));
    }
    if s.force_update {
        // Always differs: force_update recreates on every apply.
        let nonce = format!("{:?}{}", std::time::SystemTime::now(), std::process::id());
        parts.insert("force_update".into(), Ok(short(&json!(nonce))));
    }

    let settings = Settings::declared(
        (c.max_cpu as i64).saturating_mul(1_000_000),
        (c.max_memory as i64).saturating_mul(1024 * 1024),
        (c.min_memory as i64).saturating_mul(1024 * 1024),
    );

    let hash: Val<String> = {
        let mut h = Sha256::new();
        let mut err = None;
        for (k, v) in &parts {
            match v {
                Ok(p) => {
                    h.update(k.as_bytes());
                    h.update([0]);
                    h.update(p.as_bytes());
                    h.update([0]);
                }
                Err(why) => {
                    err.get_or_insert(why.clone());
                }
            }
        }
        match err {
            Some(e) => Err(e),
            None => Ok(hex::encode(h.finalize())),
        }
    };

    let container = match (&hash, entrypoint, cmd, env) {
        (Ok(hash), Ok(entrypoint), Ok(cmd), Ok(env)) => {
            let mut labels = c.labels.clone();
            labels.insert(LABEL_ENCLAVE.into(), enclave.into());
            labels.insert(LABEL_KIND.into(), "service".into());
            labels.insert(LABEL_SERVICE.into(), s.name.clone());
            labels.insert(LABEL_HASH.into(), hash.clone());
            let part_hashes: BTreeMap<&String, &String> = parts
                .iter()
                .filter_map(|(k, v)| v.as_ref().ok().map(|v| (k, v)))
                .collect();
            labels.insert(LABEL_PARTS.into(), json!(part_hashes).to_string());
            labels.insert(
                LABEL_RESOURCES.into(),
                format!(
                    "cpu={}m,mem={}M,min_mem={}M",
                    c.max_cpu, c.max_memory, c.min_memory
                ),
            );
            let port_text: Vec<String> = c
                .ports
                .iter()
                .map(|(k, p)| {
                    let public = c
                        .public_ports
                        .get(k)
                        .map(|pp| format!("->host:{}", pp.number))
                        .unwrap_or_default();
                    format!(
                        "{k}={}/{}{public}",
                        p.number,
                        p.transport_protocol.as_str().to_ascii_lowercase()
                    )
                })
                .collect();
            labels.insert(LABEL_PORTS.into(), port_text.join(","));
            let proto = |p: &crate::ir::Port| {
                format!(
                    "{}/{}",
                    p.number,
                    p.transport_protocol.as_str().to_ascii_lowercase()
                )
            };
            Some(ContainerSpec {
                name: container_name(enclave, &s.name),
                image: image.clone(),
                entrypoint: (!entrypoint.is_empty()).then_some(entrypoint),
                cmd: (!cmd.is_empty()).then_some(cmd),
                env: env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
                labels,
                hostname: Some(s.name.clone()),
                network: network_name(enclave),
                aliases: vec![s.name.clone()],
                ipv4_address: own_ip.clone().and_then(Result::ok),
                volumes,
                binds: c
                    .bind_mounts
                    .iter()
                    .map(|(h, p)| format!("{h}:{p}"))
                    .collect(),
                exposed: c.ports.values().map(proto).collect(),
                published: c
                    .ports
                    .iter()
                    .filter_map(|(k, p)| c.public_ports.get(k).map(|pp| (proto(p), pp.number)))
                    .collect(),
                user,
                privileged: c.privileged,
                cap_add: c.capabilities.clone(),
                devices: c.devices.clone(),
                tty: c.tty_enabled,
                init: c.tini_enabled,
                pid_host: c.host_pid_namespace,
                settings: settings.clone(),
            })
        }
        _ => None,
    };
    ServiceSpec {
        id,
        name: s.name.clone(),
        image,
        parts,
        hash,
        settings,
        container,
        uploads,
        mounted_artifacts,
        volume_keys,
    }
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
