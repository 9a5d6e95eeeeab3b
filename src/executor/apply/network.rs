//! The enclave network: found, or created with a subnet kplan chooses (see
//! [`ipam`]), retried when another network takes that subnet first.

use crate::executor::engine::{Engine, NetworkInfo, NetworkIpam};
use crate::executor::ipam;
use crate::executor::{network_name, LABEL_ENCLAVE, LABEL_KIND, LABEL_SUBNET};
use anyhow::{anyhow, Result};
use std::collections::BTreeMap;

/// Makes sure the enclave network exists and returns its subnet when kplan chose it.
/// A new network gets a subnet overlapping no other network of the engine (see
/// [`ipam`]); when another network takes the chosen one first, the next is tried. When
/// none is free the network is made without one (then only the placeholder is
/// unavailable).
pub(super) fn ensure_network(engine: &Engine, enclave: &str) -> Result<Option<ipam::Subnet>> {
    let name = network_name(enclave);
    let subnet_of = |n: &NetworkInfo| {
        n.labels
            .get(LABEL_SUBNET)
            .and_then(|s| ipam::Subnet::parse(s))
    };
    if let Some(n) = engine.network_find(&name)? {
        return Ok(subnet_of(&n));
    }
    let mut labels = BTreeMap::new();
    labels.insert(LABEL_ENCLAVE.to_string(), enclave.to_string());
    labels.insert(LABEL_KIND.to_string(), "network".to_string());
    let mut failed: Vec<ipam::Subnet> = Vec::new();
    let mut last_err = None;
    for _ in 0..8 {
        let existing: Vec<String> = engine
            .networks()?
            .into_iter()
            .flat_map(|n| n.subnets)
            .collect();
        let Some(subnet) = ipam::choose_subnet(&existing, &failed) else {
            break;
        };
        let mut labels = labels.clone();
        labels.insert(LABEL_SUBNET.to_string(), subnet.cidr());
        let plan = NetworkIpam {
            subnet: subnet.cidr(),
            ip_range: subnet.ip_range(),
            gateway: subnet.gateway(),
        };
        match engine.network_ensure(&name, &labels, Some(&plan)) {
            Ok(()) => {
                // Made by us, or concurrently by another kplan with its own subnet.
                let n = engine
                    .network_find(&name)?
                    .ok_or_else(|| anyhow!("network {name} disappeared after creation"))?;
                return Ok(subnet_of(&n));
            }
            Err(e) => {
                failed.push(subnet);
                last_err = Some(e);
            }
        }
    }
    if let Some(e) = last_err {
        return Err(e.context(format!("cannot create network {name} with a free subnet")));
    }
    engine.network_ensure(&name, &labels, None)?;
    Ok(None)
}
