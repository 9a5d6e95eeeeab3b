//! The desired state of one service: its config parts (each a short hash, or why it
//! is unknown) and the config hash over them, the container to create once every
//! value it uses is known, and the artifact contents to upload before it starts.

use super::{artifact_from_files, sha, ArtifactData, FileEntry, Val, Values};
use crate::backend::lower::edges;
use crate::executor::engine::ContainerSpec;
use crate::executor::settings::Settings;
use crate::executor::upstream;
use crate::executor::{container_name, network_name, volume_name};
use crate::executor::{
    LABEL_ENCLAVE, LABEL_HASH, LABEL_KIND, LABEL_PARTS, LABEL_PORTS, LABEL_RESOURCES, LABEL_SERVICE,
};
use crate::ir::{Mount, Plan, PlanInfo, Service, ServiceConfig, ServiceId, StrExpr};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

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
    port_parts(c, &mut parts);
    let mounts = mounts(info, id, c, values, enclave, &mut parts);
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
        i64::try_from(c.max_cpu)
            .unwrap_or(i64::MAX)
            .saturating_mul(1_000_000),
        i64::try_from(c.max_memory)
            .unwrap_or(i64::MAX)
            .saturating_mul(1024 * 1024),
        i64::try_from(c.min_memory)
            .unwrap_or(i64::MAX)
            .saturating_mul(1024 * 1024),
    );

    let hash = config_hash(&parts);
    let container = match (&hash, entrypoint, cmd, env) {
        (Ok(hash), Ok(entrypoint), Ok(cmd), Ok(env)) => {
            let known = Known {
                image: image.clone(),
                entrypoint,
                cmd,
                env,
                ipv4_address: own_ip.and_then(Result::ok),
                volumes: mounts.volumes,
                user,
                settings: settings.clone(),
            };
            Some(container_spec(s, enclave, hash, &parts, known))
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
        uploads: mounts.uploads,
        mounted_artifacts: mounts.mounted_artifacts,
        volume_keys: mounts.volume_keys,
    }
}

/// The `ports` part, and `public_ports` when there are any.
fn port_parts(c: &ServiceConfig, parts: &mut BTreeMap<String, Val<String>>) {
    use serde_json::json;
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
}

/// The files a service mounts: what is uploaded before start (artifacts whose
/// contents are known), the artifacts by directory, its persistent volumes.
#[derive(Default)]
struct Mounts {
    uploads: Vec<(String, ArtifactData)>,
    mounted_artifacts: BTreeMap<String, Vec<String>>,
    volume_keys: Vec<String>,
    /// Volume name -> container path.
    volumes: Vec<(String, String)>,
}

/// The service's mounts, with their config parts (`files:DIR`) added to `parts`.
fn mounts(
    info: &PlanInfo,
    id: ServiceId,
    c: &ServiceConfig,
    values: &Values,
    enclave: &str,
    parts: &mut BTreeMap<String, Val<String>>,
) -> Mounts {
    use serde_json::json;
    let mut m = Mounts::default();
    for (dir, mount) in &c.files {
        match mount {
            Mount::Artifacts(names) => {
                m.mounted_artifacts.insert(dir.clone(), names.clone());
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
                            m.uploads.push((
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
                m.volume_keys.push(key.clone());
                m.volumes.push((volume_name(enclave, key), dir.clone()));
            }
        }
    }
    m
}

/// The config hash: over every part, unknown when any part is (with the first
/// reason, in part order).
fn config_hash(parts: &BTreeMap<String, Val<String>>) -> Val<String> {
    let mut h = Sha256::new();
    let mut err = None;
    for (k, v) in parts {
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
}

/// What a service's container is made of once every value it uses is known.
struct Known {
    image: String,
    entrypoint: Vec<String>,
    cmd: Vec<String>,
    env: BTreeMap<String, String>,
    ipv4_address: Option<String>,
    volumes: Vec<(String, String)>,
    user: Option<String>,
    settings: Settings,
}

/// The container to create for service `s`, labelled with its config `hash` and
/// `parts` (for the next diff) and what it declares.
fn container_spec(
    s: &Service,
    enclave: &str,
    hash: &str,
    parts: &BTreeMap<String, Val<String>>,
    k: Known,
) -> ContainerSpec {
    use serde_json::json;
    let c = &s.config;
    let mut labels = c.labels.clone();
    labels.insert(LABEL_ENCLAVE.into(), enclave.into());
    labels.insert(LABEL_KIND.into(), "service".into());
    labels.insert(LABEL_SERVICE.into(), s.name.clone());
    labels.insert(LABEL_HASH.into(), hash.to_owned());
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
    ContainerSpec {
        name: container_name(enclave, &s.name),
        image: k.image,
        entrypoint: (!k.entrypoint.is_empty()).then_some(k.entrypoint),
        cmd: (!k.cmd.is_empty()).then_some(k.cmd),
        env: k.env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        labels,
        hostname: Some(s.name.clone()),
        network: network_name(enclave),
        aliases: vec![s.name.clone()],
        ipv4_address: k.ipv4_address,
        volumes: k.volumes,
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
        user: k.user,
        privileged: c.privileged,
        cap_add: c.capabilities.clone(),
        devices: c.devices.clone(),
        tty: c.tty_enabled,
        init: c.tini_enabled,
        pid_host: c.host_pid_namespace,
        settings: k.settings,
    }
}
