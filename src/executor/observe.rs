//! What kplan finds on the engine for one enclave, as plain data: its network, the
//! containers it created (with their labels, state, address and the settings
//! `docker update` can change) and its volumes.
//! Recorded engine states (fixtures/docker-states/*.json) deserialize into [`Observed`]
//! so the diff can be tested without Docker.

use super::engine::{ContainerInfo, Engine};
use super::settings::Settings;
use super::{network_name, LABEL_SUBNET, LABEL_VOLUME_KEY};
use super::{LABEL_ENCLAVE, LABEL_HASH, LABEL_KIND, LABEL_PARTS, LABEL_SERVICE};
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
    /// What `docker update` can change, as the engine reports it (see [`super::settings`]).
    #[serde(default)]
    pub settings: Settings,
    /// `created`, `running`, `exited`, `paused`, ...
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
        settings: c.settings.clone().unwrap_or_default(),
        state: c.state.clone(),
        image: c.image.clone(),
        ip: c.ips.get(network).cloned(),
    }
}

/// Every enclave on the engine: the names in the enclave label of kplan's networks,
/// containers and volumes (an enclave destroyed without `--volumes` still has its
/// volumes), sorted.
pub fn enclaves(engine: &Engine) -> Result<Vec<String>> {
    let mut names: std::collections::BTreeSet<String> = engine
        .networks()?
        .into_iter()
        .filter_map(|n| n.labels.get(LABEL_ENCLAVE).cloned())
        .collect();
    for c in engine.containers_by_label(&[(LABEL_ENCLAVE, "")])? {
        names.extend(c.labels.get(LABEL_ENCLAVE).cloned());
    }
    for v in engine.volumes_by_label(&[(LABEL_ENCLAVE, "")])? {
        names.extend(v.labels.get(LABEL_ENCLAVE).cloned());
    }
    Ok(names.into_iter().collect())
}

impl Observed {
    /// Whether anything of the enclave is on the engine.
    pub fn exists(&self) -> bool {
        self.network || !self.containers.is_empty() || !self.volumes.is_empty()
    }
}

/// Reads the enclave from the engine.
pub fn observe(engine: &Engine, enclave: &str) -> Result<Observed> {
    let net = network_name(enclave);
    let found = engine.network_find(&net)?;
    let network = found.is_some();
    let network_subnet = found.and_then(|n| n.labels.get(LABEL_SUBNET).cloned());
    let listed = engine.containers_by_label(&[(LABEL_ENCLAVE, enclave)])?;
    // A listing lacks the updatable settings: inspect the service containers for them.
    let services: Vec<String> = listed
        .iter()
        .filter(|c| c.labels.get(LABEL_KIND).map(String::as_str) == Some("service"))
        .map(|c| c.id.clone())
        .collect();
    let inspected: BTreeMap<String, Settings> = engine
        .containers_inspect(&services)?
        .into_iter()
        .filter_map(|c| Some((c.id, c.settings?)))
        .collect();
    let mut containers: Vec<ObservedContainer> = listed
        .iter()
        .map(|c| {
            let mut o = container(c, &net);
            if let Some(s) = inspected.get(&c.id) {
                o.settings = s.clone();
            }
            o
        })
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
