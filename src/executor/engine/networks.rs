//! Networks: finding, listing, creating (with an explicit address plan) and removing
//! them, as [`NetworkInfo`].

use super::{err_text, is_not_found, to_btree, Engine};
use anyhow::{anyhow, Result};
use bollard::models::{Ipam, IpamConfig, Network, NetworkCreateRequest};
use bollard::query_parameters::ListNetworksOptions;
use std::collections::{BTreeMap, HashMap};

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

impl Engine {
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
}
