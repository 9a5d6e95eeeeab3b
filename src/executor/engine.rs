//! The Docker engine, and the only code that imports bollard.
//!
//! A small, typed, blocking API over bollard's async client: networks, volumes and
//! containers (create/start/stop/remove/inspect/list by label), exec with output,
//! archives in and out of containers, image checks and imports. It owns a tokio runtime
//! and blocks on it, so callers (possibly on several threads at once) stay synchronous.
//! Types here are plain data; no bollard type leaves this file.

use super::settings::{Settings, Update};
use anyhow::{anyhow, bail, Context, Result};
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerSummary, ContainerUpdateBody,
    DeviceMapping, EndpointIpamConfig, EndpointSettings, ExecConfig, HostConfig, Ipam, IpamConfig,
    Network, NetworkCreateRequest, NetworkingConfig, PortBinding, RestartPolicy,
    RestartPolicyNameEnum, Volume, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, DownloadFromContainerOptions,
    ListContainersOptions, ListNetworksOptions, ListVolumesOptions, RemoveContainerOptions,
    RemoveVolumeOptions, StopContainerOptions, UploadToContainerOptions,
};
use bollard::Docker;
use futures_util::StreamExt;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

/// A connected engine.
/// Cloning is cheap and shares the connection and runtime (for a signal handler that
/// must release a lock while the main thread is busy).
#[derive(Clone)]
pub struct Engine {
    docker: Docker,
    rt: Arc<tokio::runtime::Runtime>,
}

/// A container as the engine lists it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerInfo {
    pub id: String,
    /// Without the leading `/`.
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// `created`, `running`, `exited`, ...
    pub state: String,
    pub image: String,
    /// Address on each network, by network name.
    pub ips: BTreeMap<String, String>,
    /// What `docker update` can change; only known from an inspect (not a listing).
    pub settings: Option<Settings>,
}

/// A volume as the engine lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct VolumeInfo {
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

/// A network as the engine lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkInfo {
    pub id: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// The subnets of its IPAM config (CIDR text, IPv4 and IPv6).
    pub subnets: Vec<String>,
}

/// An explicit IPv4 address plan for a new network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkIpam {
    /// CIDR, e.g. `172.30.0.0/24`.
    pub subnet: String,
    /// The part Docker allocates from dynamically, e.g. `172.30.0.128/25`.
    pub ip_range: String,
    pub gateway: String,
}

/// Everything needed to create a container.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    /// `KEY=value`.
    pub env: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub hostname: Option<String>,
    pub network: String,
    pub aliases: Vec<String>,
    /// A static address on `network` (which must have a user-configured subnet).
    pub ipv4_address: Option<String>,
    /// Named volume -> container path.
    pub volumes: Vec<(String, String)>,
    /// `host:container` bind mounts.
    pub binds: Vec<String>,
    /// `port/proto` exposed inside the network.
    pub exposed: Vec<String>,
    /// `port/proto` -> host port.
    pub published: Vec<(String, u16)>,
    pub user: Option<String>,
    pub privileged: bool,
    pub cap_add: Vec<String>,
    pub devices: Vec<String>,
    pub tty: bool,
    pub init: bool,
    pub pid_host: bool,
    /// Only the settings that are set (non-zero) are passed.
    pub settings: Settings,
}

/// A container with the requested name already exists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a container named {0} already exists")]
pub struct NameInUse(pub String);

/// What an exec produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub code: i64,
    /// stdout and stderr, interleaved as the engine sent them.
    pub output: String,
}

#[expect(
    clippy::wildcard_enum_match_arm,
    reason = "bollard's error has some thirty variants; only the server's message is unwrapped"
)]
fn err_text(e: bollard::errors::Error) -> String {
    match e {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message,
        other => error_chain(&other),
    }
}

/// An error with every cause under it (`a: b: c`), skipping causes whose text the
/// level above already shows: transport errors keep the useful part ("Connection
/// refused") in their sources, not in their own text.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let t = c.to_string();
        if !t.is_empty() && !text.contains(&t) {
            if text.is_empty() {
                text = t;
            } else {
                text = format!("{text}: {t}");
            }
        }
        cause = c.source();
    }
    if text.is_empty() {
        "no reason given".into()
    } else {
        text
    }
}

/// Where the engine is: `DOCKER_HOST`, else the default socket (as bollard reads it).
fn engine_address() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unix:///var/run/docker.sock".into())
}

/// How long connecting to a TCP engine may take before it counts as unreachable.
const TCP_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a reachable engine may take to answer the version negotiation.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(20);

const CONNECT_HINT: &str = "is the Docker engine running? check `docker info` and DOCKER_HOST";

/// Runs `f` on `rt`; `None` when it takes longer than [`ANSWER_TIMEOUT`].
fn within<T>(rt: &tokio::runtime::Runtime, f: impl std::future::Future<Output = T>) -> Option<T> {
    rt.block_on(async { tokio::time::timeout(ANSWER_TIMEOUT, f).await.ok() })
}

/// The engine's answer to one of the first requests (`what`), or why there is none.
fn answered<T>(
    address: &str,
    what: &str,
    reply: Option<Result<T, bollard::errors::Error>>,
) -> Result<T> {
    match reply {
        None => Err(anyhow!(
            "the Docker engine at {address} accepted the connection but did not answer {what} within {}s; {CONNECT_HINT}",
            ANSWER_TIMEOUT.as_secs()
        )),
        Some(Err(e)) => Err(anyhow!(
            "cannot reach the Docker engine at {address}: {}; {CONNECT_HINT}",
            err_text(e)
        )),
        Some(Ok(v)) => Ok(v),
    }
}

/// For a `tcp://`/`http://` engine: whether a TCP connection can be made at all, and if
/// not why (refused, timed out, unresolvable), so the error says what failed rather
/// than what the HTTP client made of it.
fn probe_tcp(address: &str) -> Result<(), String> {
    use std::net::{TcpStream, ToSocketAddrs};
    let Some(rest) = address
        .strip_prefix("tcp://")
        .or_else(|| address.strip_prefix("http://"))
    else {
        return Ok(());
    };
    let authority = rest.split('/').next().unwrap_or(rest);
    let hostport = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_string()
    } else {
        format!("{authority}:2375")
    };
    let addrs: Vec<std::net::SocketAddr> = hostport
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {hostport}: {e}"))?
        .collect();
    let mut last = format!("{hostport} has no address");
    for a in addrs {
        match TcpStream::connect_timeout(&a, TCP_CONNECT_TIMEOUT) {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                last = format!("connection to {a} refused (nothing listens there)");
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                last = format!(
                    "connecting to {a} timed out after {}s (no answer: a wrong address, or a firewall?)",
                    TCP_CONNECT_TIMEOUT.as_secs()
                );
            }
            Err(e) => last = format!("cannot connect to {a}: {e}"),
        }
    }
    Err(last)
}

fn is_not_found(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// A label filter: `(key, value)` pairs, where an empty value matches any value.
fn label_filter(labels: &[(&str, &str)]) -> HashMap<String, Vec<String>> {
    let mut f = HashMap::new();
    f.insert(
        "label".to_string(),
        labels
            .iter()
            .map(|(k, v)| {
                if v.is_empty() {
                    k.to_string()
                } else {
                    format!("{k}={v}")
                }
            })
            .collect::<Vec<_>>(),
    );
    f
}

fn to_btree(m: Option<HashMap<String, String>>) -> BTreeMap<String, String> {
    m.unwrap_or_default().into_iter().collect()
}

/// Network name -> address, from an engine's endpoint listing.
fn ips_of(networks: Option<HashMap<String, EndpointSettings>>) -> BTreeMap<String, String> {
    networks
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(net, ep)| {
            ep.ip_address
                .filter(|ip| !ip.is_empty())
                .map(|ip| (net, ip))
        })
        .collect()
}

fn volume_info(v: Volume) -> VolumeInfo {
    VolumeInfo {
        name: v.name,
        labels: v.labels.into_iter().collect(),
    }
}

fn network_info(n: Network) -> NetworkInfo {
    NetworkInfo {
        id: n.id.unwrap_or_default(),
        name: n.name.unwrap_or_default(),
        labels: to_btree(n.labels),
        subnets: n
            .ipam
            .and_then(|i| i.config)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|c| c.subnet)
            .collect(),
    }
}

fn container_info(c: ContainerSummary) -> ContainerInfo {
    let ips = ips_of(c.network_settings.and_then(|n| n.networks));
    ContainerInfo {
        id: c.id.unwrap_or_default(),
        name: c
            .names
            .unwrap_or_default()
            .first()
            .map(|n| n.trim_start_matches('/').to_string())
            .unwrap_or_default(),
        labels: to_btree(c.labels),
        state: c.state.map(|s| s.to_string()).unwrap_or_default(),
        image: c.image.unwrap_or_default(),
        ips,
        settings: None,
    }
}

fn inspected(c: ContainerInspectResponse) -> ContainerInfo {
    let ips = ips_of(c.network_settings.and_then(|n| n.networks));
    let config = c.config.unwrap_or_default();
    ContainerInfo {
        id: c.id.unwrap_or_default(),
        name: c
            .name
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string(),
        labels: to_btree(config.labels),
        state: c
            .state
            .and_then(|s| s.status)
            .map(|s| s.to_string())
            .unwrap_or_default(),
        image: config.image.unwrap_or_default(),
        ips,
        settings: c.host_config.map(settings_of),
    }
}

fn settings_of(h: HostConfig) -> Settings {
    Settings {
        nano_cpus: h.nano_cpus.unwrap_or(0),
        memory: h.memory.unwrap_or(0),
        memory_swap: h.memory_swap.unwrap_or(0),
        memory_reservation: h.memory_reservation.unwrap_or(0),
        cpu_shares: h.cpu_shares.unwrap_or(0),
        cpu_period: h.cpu_period.unwrap_or(0),
        cpu_quota: h.cpu_quota.unwrap_or(0),
        cpuset_cpus: h.cpuset_cpus.unwrap_or_default(),
        cpuset_mems: h.cpuset_mems.unwrap_or_default(),
        pids_limit: h.pids_limit.unwrap_or(0),
        blkio_weight: h.blkio_weight.unwrap_or(0),
        restart_policy: h
            .restart_policy
            .and_then(|r| r.name)
            .map(|n| n.to_string())
            .unwrap_or_default(),
    }
    .normalized()
}

fn restart_policy(name: &str) -> Option<RestartPolicyNameEnum> {
    match name {
        "" => Some(RestartPolicyNameEnum::EMPTY),
        "no" => Some(RestartPolicyNameEnum::NO),
        "always" => Some(RestartPolicyNameEnum::ALWAYS),
        "unless-stopped" => Some(RestartPolicyNameEnum::UNLESS_STOPPED),
        "on-failure" => Some(RestartPolicyNameEnum::ON_FAILURE),
        _ => None,
    }
}

impl Engine {
    /// Connects (honouring `DOCKER_HOST`), negotiates the API version and pings. The
    /// error names the address and what failed (refused, timed out, no answer).
    pub fn connect() -> Result<Engine> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let address = engine_address();
        let hint = CONNECT_HINT;
        let docker = Docker::connect_with_defaults().map_err(|e| {
            anyhow!(
                "cannot connect to the Docker engine at {address}: {}; {hint}",
                err_text(e)
            )
        })?;
        probe_tcp(&address)
            .map_err(|why| anyhow!("cannot reach the Docker engine at {address}: {why}; {hint}"))?;
        let docker = answered(
            &address,
            "the API version request",
            within(&rt, docker.negotiate_version()),
        )?;
        answered(&address, "a ping", within(&rt, docker.ping()))?;
        Ok(Engine {
            docker,
            rt: Arc::new(rt),
        })
    }

    fn block<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// Whether the image exists in the local engine (nothing is pulled).
    pub fn image_exists(&self, reference: &str) -> Result<bool> {
        match self.block(self.docker.inspect_image(reference)) {
            Ok(_) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(anyhow!("cannot inspect image {reference}: {}", err_text(e))),
        }
    }

    /// The entrypoint and cmd an image runs by default, as its config says; `None`
    /// when the image is not in the local engine.
    #[allow(
        clippy::type_complexity,
        reason = "(entrypoint, cmd), named in the doc; used by one caller"
    )]
    pub fn image_command(
        &self,
        reference: &str,
    ) -> Result<Option<(Option<Vec<String>>, Option<Vec<String>>)>> {
        match self.block(self.docker.inspect_image(reference)) {
            Ok(i) => {
                let c = i.config.unwrap_or_default();
                Ok(Some((c.entrypoint, c.cmd)))
            }
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(anyhow!("cannot inspect image {reference}: {}", err_text(e))),
        }
    }

    /// Imports a root filesystem tar as image `repo:tag` (`docker import`).
    pub fn import_image(&self, rootfs_tar: Vec<u8>, repo: &str, tag: &str) -> Result<()> {
        let opts = CreateImageOptions {
            from_src: Some("-".into()),
            repo: Some(repo.into()),
            tag: Some(tag.into()),
            changes: vec!["CMD [\"/bin/sh\"]".into(), "ENV PATH=/bin".into()],
            ..Default::default()
        };
        self.block(async {
            let mut s = self.docker.create_image(
                Some(opts),
                Some(bollard::body_full(rootfs_tar.into())),
                None,
            );
            while let Some(item) = s.next().await {
                item.map_err(|e| anyhow!("cannot import image {repo}:{tag}: {}", err_text(e)))?;
            }
            Ok(())
        })
    }

    pub fn network_find(&self, name: &str) -> Result<Option<NetworkInfo>> {
        let mut filters = HashMap::new();
        filters.insert("name".to_string(), vec![name.to_string()]);
        let list = self
            .block(self.docker.list_networks(Some(ListNetworksOptions {
                filters: Some(filters),
            })))
            .map_err(|e| anyhow!("cannot list networks: {}", err_text(e)))?;
        Ok(list
            .into_iter()
            .find(|n| n.name.as_deref() == Some(name))
            .map(network_info))
    }

    /// Every network of the engine.
    pub fn networks(&self) -> Result<Vec<NetworkInfo>> {
        let list = self
            .block(self.docker.list_networks(None))
            .map_err(|e| anyhow!("cannot list networks: {}", err_text(e)))?;
        Ok(list.into_iter().map(network_info).collect())
    }

    /// Creates the bridge network unless one with that name exists, with `ipam` as
    /// its address plan when given.
    pub fn network_ensure(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
        ipam: Option<&NetworkIpam>,
    ) -> Result<()> {
        if self.network_find(name)?.is_some() {
            return Ok(());
        }
        let req = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".into()),
            labels: Some(labels.clone().into_iter().collect()),
            ipam: ipam.map(|i| Ipam {
                driver: Some("default".into()),
                config: Some(vec![IpamConfig {
                    subnet: Some(i.subnet.clone()),
                    ip_range: Some(i.ip_range.clone()),
                    gateway: Some(i.gateway.clone()),
                    ..Default::default()
                }]),
                options: None,
            }),
            ..Default::default()
        };
        match self.block(self.docker.create_network(req)) {
            Ok(_) => Ok(()),
            // Created concurrently by someone else: fine.
            Err(e) if self.network_find(name).ok().flatten().is_some() => {
                let _ = e;
                Ok(())
            }
            Err(e) => Err(anyhow!("cannot create network {name}: {}", err_text(e))),
        }
    }

    pub fn network_remove(&self, name: &str) -> Result<()> {
        match self.block(self.docker.remove_network(name)) {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(anyhow!("cannot remove network {name}: {}", err_text(e))),
        }
    }

    pub fn volume_ensure(&self, name: &str, labels: &BTreeMap<String, String>) -> Result<()> {
        self.volume_create(name, labels).map(|_| ())
    }

    /// Creates the volume unless one of that name exists, and returns the volume that
    /// exists now: with `labels` when this call made it, with its own labels when it
    /// was there already. The engine creates volumes of one name one at a time, so
    /// when several callers race, exactly one of them sees its own labels.
    pub fn volume_create(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<VolumeInfo> {
        let req = VolumeCreateRequest {
            name: Some(name.to_string()),
            labels: Some(labels.clone().into_iter().collect()),
            ..Default::default()
        };
        self.block(self.docker.create_volume(req))
            .map(volume_info)
            .map_err(|e| anyhow!("cannot create volume {name}: {}", err_text(e)))
    }

    /// The volume with this name, if any.
    pub fn volume_inspect(&self, name: &str) -> Result<Option<VolumeInfo>> {
        match self.block(self.docker.inspect_volume(name)) {
            Ok(v) => Ok(Some(volume_info(v))),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(anyhow!("cannot inspect volume {name}: {}", err_text(e))),
        }
    }

    pub fn volumes_by_label(&self, labels: &[(&str, &str)]) -> Result<Vec<VolumeInfo>> {
        let resp = self
            .block(self.docker.list_volumes(Some(ListVolumesOptions {
                filters: Some(label_filter(labels)),
            })))
            .map_err(|e| anyhow!("cannot list volumes: {}", err_text(e)))?;
        Ok(resp
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(volume_info)
            .collect())
    }

    pub fn volume_remove(&self, name: &str) -> Result<()> {
        match self.block(
            self.docker
                .remove_volume(name, Some(RemoveVolumeOptions { force: true })),
        ) {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(anyhow!("cannot remove volume {name}: {}", err_text(e))),
        }
    }

    /// Every container (running or not) carrying all the given labels (an empty value
    /// matches any).
    pub fn containers_by_label(&self, labels: &[(&str, &str)]) -> Result<Vec<ContainerInfo>> {
        let opts = ListContainersOptions {
            all: true,
            filters: Some(label_filter(labels)),
            ..Default::default()
        };
        let list = self
            .block(self.docker.list_containers(Some(opts)))
            .map_err(|e| anyhow!("cannot list containers: {}", err_text(e)))?;
        Ok(list.into_iter().map(container_info).collect())
    }

    /// The container with this exact name, if any.
    pub fn container_by_name(&self, name: &str) -> Result<Option<ContainerInfo>> {
        let mut filters = HashMap::new();
        filters.insert("name".to_string(), vec![format!("^/{name}$")]);
        let opts = ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        };
        let list = self
            .block(self.docker.list_containers(Some(opts)))
            .map_err(|e| anyhow!("cannot list containers: {}", err_text(e)))?;
        Ok(list
            .into_iter()
            .map(container_info)
            .find(|c| c.name == name))
    }

    /// Creates (does not start) a container; returns its id.
    pub fn container_create(&self, spec: &ContainerSpec) -> Result<String> {
        let mut binds: Vec<String> = spec
            .volumes
            .iter()
            .map(|(v, p)| format!("{v}:{p}"))
            .collect();
        binds.extend(spec.binds.iter().cloned());
        let port_bindings: HashMap<String, Option<Vec<PortBinding>>> = spec
            .published
            .iter()
            .map(|(p, host)| {
                (
                    p.clone(),
                    Some(vec![PortBinding {
                        host_ip: None,
                        host_port: Some(host.to_string()),
                    }]),
                )
            })
            .collect();
        let mut exposed = spec.exposed.clone();
        exposed.extend(spec.published.iter().map(|(p, _)| p.clone()));
        exposed.sort();
        exposed.dedup();
        let host_config = HostConfig {
            binds: (!binds.is_empty()).then_some(binds),
            network_mode: Some(spec.network.clone()),
            port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
            privileged: spec.privileged.then_some(true),
            cap_add: (!spec.cap_add.is_empty()).then(|| spec.cap_add.clone()),
            devices: (!spec.devices.is_empty()).then(|| {
                spec.devices
                    .iter()
                    .map(|d| DeviceMapping {
                        path_on_host: Some(d.clone()),
                        path_in_container: Some(d.clone()),
                        cgroup_permissions: Some("rwm".into()),
                    })
                    .collect()
            }),
            init: spec.init.then_some(true),
            pid_mode: spec.pid_host.then(|| "host".to_string()),
            nano_cpus: (spec.settings.nano_cpus > 0).then_some(spec.settings.nano_cpus),
            memory: (spec.settings.memory > 0).then_some(spec.settings.memory),
            memory_swap: (spec.settings.memory_swap != 0).then_some(spec.settings.memory_swap),
            memory_reservation: (spec.settings.memory_reservation > 0)
                .then_some(spec.settings.memory_reservation),
            ..Default::default()
        };
        let mut endpoints = HashMap::new();
        endpoints.insert(
            spec.network.clone(),
            EndpointSettings {
                aliases: (!spec.aliases.is_empty()).then(|| spec.aliases.clone()),
                ipam_config: spec.ipv4_address.as_ref().map(|ip| EndpointIpamConfig {
                    ipv4_address: Some(ip.clone()),
                    ..Default::default()
                }),
                ..Default::default()
            },
        );
        let body = ContainerCreateBody {
            hostname: spec.hostname.clone(),
            user: spec.user.clone(),
            exposed_ports: (!exposed.is_empty()).then_some(exposed),
            tty: spec.tty.then_some(true),
            env: (!spec.env.is_empty()).then(|| spec.env.clone()),
            cmd: spec.cmd.clone(),
            image: Some(spec.image.clone()),
            entrypoint: spec.entrypoint.clone(),
            labels: Some(spec.labels.clone().into_iter().collect()),
            host_config: Some(host_config),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(endpoints),
            }),
            ..Default::default()
        };
        let opts = CreateContainerOptions {
            name: Some(spec.name.clone()),
            ..Default::default()
        };
        match self.block(self.docker.create_container(Some(opts), body)) {
            Ok(r) => Ok(r.id),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409, ..
            }) => Err(anyhow::Error::new(NameInUse(spec.name.clone()))),
            Err(e) => Err(anyhow!(
                "cannot create container {}: {}",
                spec.name,
                err_text(e)
            )),
        }
    }

    pub fn container_start(&self, id: &str) -> Result<()> {
        self.block(self.docker.start_container(id, None))
            .map_err(|e| anyhow!("cannot start container {id}: {}", err_text(e)))
    }

    pub fn container_stop(&self, id: &str, timeout_secs: i32) -> Result<()> {
        let opts = StopContainerOptions {
            t: Some(timeout_secs),
            signal: None,
        };
        match self.block(self.docker.stop_container(id, Some(opts))) {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 304, ..
            }) => Ok(()),
            Err(e) => Err(anyhow!("cannot stop container {id}: {}", err_text(e))),
        }
    }

    /// Removes a container (killing it if it runs); anonymous volumes go with it,
    /// named volumes never do.
    pub fn container_remove(&self, id: &str) -> Result<()> {
        let opts = RemoveContainerOptions {
            force: true,
            v: true,
            link: false,
        };
        match self.block(self.docker.remove_container(id, Some(opts))) {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            // Already being removed by another call.
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409, ..
            }) => Ok(()),
            Err(e) => Err(anyhow!("cannot remove container {id}: {}", err_text(e))),
        }
    }

    /// The container's state, image and addresses; `None` when it does not exist.
    pub fn container_inspect(&self, id: &str) -> Result<Option<ContainerInfo>> {
        match self.block(self.docker.inspect_container(id, None)) {
            Ok(c) => Ok(Some(inspected(c))),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(anyhow!("cannot inspect container {id}: {}", err_text(e))),
        }
    }

    /// Inspects several containers at once (concurrently), in the order given; those
    /// that no longer exist are left out.
    pub fn containers_inspect(&self, ids: &[String]) -> Result<Vec<ContainerInfo>> {
        let mut set = tokio::task::JoinSet::new();
        for (i, id) in ids.iter().enumerate() {
            let docker = self.docker.clone();
            let id = id.clone();
            set.spawn_on(
                async move { (i, docker.inspect_container(&id, None).await) },
                self.rt.handle(),
            );
        }
        let mut found: Vec<(usize, ContainerInfo)> = Vec::new();
        self.block(async {
            while let Some(joined) = set.join_next().await {
                match joined.map_err(|e| anyhow!("cannot inspect containers: {e}"))? {
                    (i, Ok(c)) => found.push((i, inspected(c))),
                    (_, Err(e)) if is_not_found(&e) => {}
                    (i, Err(e)) => bail!("cannot inspect container {}: {}", ids[i], err_text(e)),
                }
            }
            Ok(())
        })?;
        found.sort_by_key(|(i, _)| *i);
        Ok(found.into_iter().map(|(_, c)| c).collect())
    }

    /// Sets the given updatable settings of a live container (`docker update`).
    pub fn container_update(&self, id: &str, u: &Update) -> Result<()> {
        let policy = match &u.restart_policy {
            Some(name) => Some(RestartPolicy {
                name: Some(
                    restart_policy(name)
                        .ok_or_else(|| anyhow!("unknown restart policy {name:?}"))?,
                ),
                maximum_retry_count: None,
            }),
            None => None,
        };
        let body = ContainerUpdateBody {
            nano_cpus: u.nano_cpus,
            memory: u.memory,
            memory_swap: u.memory_swap,
            memory_reservation: u.memory_reservation,
            pids_limit: u.pids_limit,
            restart_policy: policy,
            ..Default::default()
        };
        self.block(self.docker.update_container(id, body))
            .map_err(|e| anyhow!("cannot update container {id}: {}", err_text(e)))
    }

    /// Resumes a paused container.
    pub fn container_unpause(&self, id: &str) -> Result<()> {
        self.block(self.docker.unpause_container(id))
            .map_err(|e| anyhow!("cannot unpause container {id}: {}", err_text(e)))
    }

    /// Runs `cmd` in a running container and collects its output and exit code;
    /// gives up after `timeout`.
    pub fn exec(
        &self,
        id: &str,
        cmd: &[String],
        env: &[String],
        timeout: Option<Duration>,
    ) -> Result<ExecOutput> {
        let config = ExecConfig {
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            cmd: Some(cmd.to_vec()),
            env: (!env.is_empty()).then(|| env.to_vec()),
            ..Default::default()
        };
        let fut = async {
            let created = self
                .docker
                .create_exec(id, config)
                .await
                .map_err(|e| anyhow!("cannot exec in container {id}: {}", err_text(e)))?;
            let mut output = Vec::new();
            match self
                .docker
                .start_exec(&created.id, None)
                .await
                .map_err(|e| anyhow!("cannot exec in container {id}: {}", err_text(e)))?
            {
                bollard::exec::StartExecResults::Attached { output: mut s, .. } => {
                    while let Some(item) = s.next().await {
                        let item = item.map_err(|e| {
                            anyhow!("exec in container {id} failed: {}", err_text(e))
                        })?;
                        output.extend_from_slice(&item.into_bytes());
                    }
                }
                bollard::exec::StartExecResults::Detached => {}
            }
            let inspect = self
                .docker
                .inspect_exec(&created.id)
                .await
                .map_err(|e| anyhow!("cannot inspect exec in {id}: {}", err_text(e)))?;
            Ok(ExecOutput {
                code: inspect.exit_code.unwrap_or(-1),
                output: String::from_utf8_lossy(&output).into_owned(),
            })
        };
        match timeout {
            Some(t) => self
                .block(async { tokio::time::timeout(t, fut).await })
                .map_err(|_| anyhow!("command {cmd:?} did not finish within {t:?}"))?,
            None => self.block(fut),
        }
    }

    /// Extracts a tar archive into `path` of the container (which need not run).
    pub fn put_archive(&self, id: &str, path: &str, tar: Vec<u8>) -> Result<()> {
        let opts = UploadToContainerOptions {
            path: path.to_string(),
            ..Default::default()
        };
        self.block(
            self.docker
                .upload_to_container(id, Some(opts), bollard::body_full(tar.into())),
        )
        .map_err(|e| {
            anyhow!(
                "cannot copy files to {path} in container {id}: {}",
                err_text(e)
            )
        })
    }

    /// A tar archive of `path` in the container.
    pub fn get_archive(&self, id: &str, path: &str) -> Result<Vec<u8>> {
        let opts = DownloadFromContainerOptions {
            path: path.to_string(),
        };
        self.block(async {
            let mut s = self.docker.download_from_container(id, Some(opts));
            let mut out = Vec::new();
            while let Some(chunk) = s.next().await {
                let chunk = chunk.map_err(|e| {
                    anyhow!("cannot copy {path} out of container {id}: {}", err_text(e))
                })?;
                out.extend_from_slice(&chunk);
            }
            Ok(out)
        })
    }
}
