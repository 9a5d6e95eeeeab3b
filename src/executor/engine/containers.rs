//! Containers: creating one from a [`ContainerSpec`], starting, stopping, removing,
//! updating and unpausing it, and reading containers back (listed by label or name,
//! inspected one by one or concurrently) as [`ContainerInfo`] with the settings
//! `docker update` can change.

use super::{err_text, is_not_found, label_filter, to_btree, Engine};
use crate::executor::settings::{Settings, Update};
use anyhow::{anyhow, bail, Result};
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerSummary, ContainerUpdateBody,
    DeviceMapping, EndpointIpamConfig, EndpointSettings, HostConfig, NetworkingConfig, PortBinding,
    RestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    CreateContainerOptions, ListContainersOptions, RemoveContainerOptions, StopContainerOptions,
};
use std::collections::{BTreeMap, HashMap};

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
}
