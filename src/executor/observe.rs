//! What kplan finds on the engine for one enclave, as plain data: its network, the
//! containers it created (with their labels, state and address) and its volumes.
//! Recorded engine states (fixtures/docker-states/*.json) deserialize into [`Observed`]
//! so the diff can be tested without Docker.

use super::engine::{ContainerInfo, Engine};
use super::{network_name, LABEL_SUBNET, LABEL_VOLUME_KEY};
use super::{LABEL_ENCLAVE, LABEL_HASH, LABEL_KIND, LABEL_PARTS, LABEL_RESOURCES, LABEL_SERVICE};
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything of one enclave on the engine.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    pub enclave: String,
    /// Whether the enclave's network exists.
    pub network: bool,
    /// The network's subnet, when kplan chose it (its subnet label).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_subnet: Option<String>,
    pub containers: Vec<ObservedContainer>,
    /// Keys of the persistent-directory volumes that exist.
    #[serde(default)]
    pub volumes: Vec<String>,
}

/// One container kplan created.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ObservedContainer {
    pub id: String,
    pub name: String,
    /// `service`, or `task` for a one-shot task container.
    pub kind: String,
    /// The service it runs (empty for task containers).
    #[serde(default)]
    pub service: String,
    #[serde(default)]
    pub config_hash: Option<String>,
    /// Part -> short hash, from the parts label.
    #[serde(default)]
    pub parts: BTreeMap<String, String>,
    #[serde(default)]
    pub resources: String,
    /// `created`, `running`, `exited`, ...
    pub state: String,
    #[serde(default)]
    pub image: String,
    /// Address on the enclave network.
    #[serde(default)]
    pub ip: Option<String>,
}

impl Observed {
    /// The service containers of `service`.
    pub fn service_containers(&self, service: &str) -> Vec<&ObservedContainer> {
        self.containers
            .iter()
            .filter(|c| c.kind == "service" && c.service == service)
            .collect()
    }
}

/// Converts an engine listing into the observed form.
pub fn container(c: &ContainerInfo, network: &str) -> ObservedContainer {
    let l = |k: &str| c.labels.get(k).cloned();
    ObservedContainer {
        id: c.id.clone(),
        name: c.name.clone(),
        kind: l(LABEL_KIND).unwrap_or_default(),
        service: l(LABEL_SERVICE).unwrap_or_default(),
        config_hash: l(LABEL_HASH),
        parts: l(LABEL_PARTS)
            .and_then(|p| serde_json::from_str(&p).ok())
            .unwrap_or_default(),
        resources: l(LABEL_RESOURCES).unwrap_or_default(),
        state: c.state.clone(),
        image: c.image.clone(),
        ip: c.ips.get(network).cloned(),
    }
}

/// Reads the enclave from the engine.
pub fn observe(engine: &Engine, enclave: &str) -> Result<Observed> {
    let net = network_name(enclave);
    let found = engine.network_find(&net)?;
    let network = found.is_some();
    let network_subnet = found.and_then(|n| n.labels.get(LABEL_SUBNET).cloned());
    let mut containers: Vec<ObservedContainer> = engine
        .containers_by_label(&[(LABEL_ENCLAVE, enclave)])?
        .iter()
        .map(|c| container(c, &net))
        .collect();
    containers.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
    let mut volumes: Vec<String> = engine
        .volumes_by_label(&[(LABEL_ENCLAVE, enclave)])?
        .into_iter()
        .filter_map(|v| v.labels.get(LABEL_VOLUME_KEY).cloned())
        .collect();
    volumes.sort();
    Ok(Observed {
        enclave: enclave.to_string(),
        network,
        network_subnet,
        containers,
        volumes,
    })
}
