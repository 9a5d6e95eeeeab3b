//! Addresses kplan chooses itself, for `ServiceConfig.private_ip_address_placeholder`.
//!
//! Kurtosis replaces the placeholder in a service's entrypoint, cmd and env values with
//! the address the service's own container gets. A container's address is only known
//! after it is created, so, like Kurtosis, kplan decides it beforehand: the enclave
//! network gets a /24 subnet kplan picks (the first one overlapping no other Docker
//! network, from [`CANDIDATE_RANGES`]), Docker's own dynamic allocation is limited to
//! the upper half (`ip_range` = `.128/25`), and services using the placeholder get a
//! static address from the lower half (`.2` to `.127`; `.1` is the gateway). An
//! address, once given, is recorded in the enclave state and kept across applies and
//! replacements, so the substituted values (which the config hash covers) do not
//! change; a new service takes the lowest free one. Everything here is pure.

use super::observe::Observed;
use crate::ir::{Plan, PlanInfo};
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

/// Where enclave subnets are taken from, in order: /16s split into /24s.
pub const CANDIDATE_RANGES: [(Ipv4Addr, u8); 3] = [
    (Ipv4Addr::new(172, 30, 0, 0), 16),
    (Ipv4Addr::new(10, 200, 0, 0), 16),
    (Ipv4Addr::new(10, 201, 0, 0), 16),
];

/// The enclave network's subnet, a /24.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    pub base: Ipv4Addr,
}

impl Subnet {
    /// `a.b.c.0/24`.
    pub fn cidr(&self) -> String {
        format!("{}/24", self.base)
    }

    /// The half Docker allocates from dynamically: `a.b.c.128/25`.
    pub fn ip_range(&self) -> String {
        format!("{}/25", self.at(128))
    }

    pub fn gateway(&self) -> String {
        self.at(1).to_string()
    }

    fn at(&self, host: u8) -> Ipv4Addr {
        let o = self.base.octets();
        Ipv4Addr::new(o[0], o[1], o[2], host)
    }

    /// Addresses kplan hands out, lowest first.
    pub fn static_addresses(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        (2..=127u8).map(|h| self.at(h))
    }

    pub fn is_static(&self, ip: Ipv4Addr) -> bool {
        self.static_addresses().any(|a| a == ip)
    }

    /// Parses `a.b.c.0/24` (as written by [`Subnet::cidr`]).
    pub fn parse(cidr: &str) -> Option<Subnet> {
        let (ip, len) = cidr.trim().split_once('/')?;
        let base: Ipv4Addr = ip.parse().ok()?;
        (len == "24" && base.octets()[3] == 0).then_some(Subnet { base })
    }
}

/// `a.b.c.d/n` -> (network address, n); `None` for IPv6 or malformed text.
fn parse_cidr(s: &str) -> Option<(Ipv4Addr, u8)> {
    let (ip, len) = s.trim().split_once('/')?;
    let ip: Ipv4Addr = ip.parse().ok()?;
    let len: u8 = len.parse().ok()?;
    if len > 32 {
        return None;
    }
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    Some((Ipv4Addr::from(u32::from(ip) & mask), len))
}

fn overlaps(a: (Ipv4Addr, u8), b: (Ipv4Addr, u8)) -> bool {
    // Two CIDR blocks overlap iff one contains the other's network address.
    let len = a.1.min(b.1);
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    u32::from(a.0) & mask == u32::from(b.0) & mask
}

/// The first /24 of [`CANDIDATE_RANGES`] that overlaps none of `existing` (CIDR texts
/// of the engine's networks; IPv6 and unparsable entries are ignored), skipping
/// `also_taken` (candidates that failed to be created).
pub fn choose_subnet(existing: &[String], also_taken: &[Subnet]) -> Option<Subnet> {
    let existing: Vec<(Ipv4Addr, u8)> = existing.iter().filter_map(|s| parse_cidr(s)).collect();
    for (base, len) in CANDIDATE_RANGES {
        let count = 1u32 << (24 - len);
        for i in 0..count {
            let net = Ipv4Addr::from(u32::from(base) + (i << 8));
            let cand = Subnet { base: net };
            if also_taken.contains(&cand) {
                continue;
            }
            if existing.iter().all(|e| !overlaps(*e, (net, 24))) {
                return Some(cand);
            }
        }
    }
    None
}

/// The final services that use their own address, in plan order.
pub fn placeholder_services<'a>(plan: &'a Plan, info: &PlanInfo) -> Vec<&'a str> {
    info.own_address_users()
        .iter()
        .map(|id| plan.service(*id).name.as_str())
        .collect()
}

/// The error for an enclave whose network predates kplan-chosen subnets.
pub fn legacy_network_error(enclave: &str, services: &[&str]) -> String {
    format!(
        "service '{}' uses private_ip_address_placeholder, which needs an enclave network whose subnet kplan chose, but network {} was created by an older kplan without one and cannot be changed while containers use it; run `kplan destroy --enclave {enclave}` and apply again",
        services.first().copied().unwrap_or_default(),
        super::network_name(enclave)
    )
}

/// The network's subnet, when kplan chose it; `Err` (with the message for the user)
/// when a service needs one and it cannot be had.
pub fn network_subnet(
    plan: &Plan,
    info: &PlanInfo,
    observed: &Observed,
) -> Result<Option<Subnet>, String> {
    let subnet = observed.network_subnet.as_deref().and_then(Subnet::parse);
    let users = placeholder_services(plan, info);
    if observed.network && subnet.is_none() && !users.is_empty() {
        return Err(legacy_network_error(&observed.enclave, &users));
    }
    Ok(subnet)
}

/// Service name -> its address, for every final service that uses its placeholder:
/// the recorded one (`recorded_ips`, from the enclave state; or, with no record, the
/// static address its container has), else
/// the lowest static address no container of the enclave and no other service holds.
/// Without a subnet (the network is created during apply) the addresses are unknown.
pub fn assign(
    plan: &Plan,
    info: &PlanInfo,
    observed: &Observed,
    recorded_ips: &BTreeMap<String, String>,
    subnet: Result<Option<Subnet>, String>,
) -> BTreeMap<String, Result<String, String>> {
    let users = placeholder_services(plan, info);
    let subnet = match subnet {
        Ok(Some(s)) => s,
        Ok(None) => {
            return users
                .into_iter()
                .map(|n| {
                    (
                        n.to_string(),
                        Err("its own address, chosen when the enclave network is created".into()),
                    )
                })
                .collect()
        }
        Err(e) => {
            return users
                .into_iter()
                .map(|n| (n.to_string(), Err(e.clone())))
                .collect()
        }
    };
    let mut out: BTreeMap<String, Ipv4Addr> = BTreeMap::new();
    let mut used: BTreeSet<Ipv4Addr> = observed
        .containers
        .iter()
        .filter_map(|c| c.ip.as_deref()?.parse().ok())
        .collect();
    for n in &users {
        let kept = recorded_ips
            .get(*n)
            .and_then(|ip| ip.parse::<Ipv4Addr>().ok())
            .or_else(|| {
                observed
                    .service_containers(n)
                    .iter()
                    .find_map(|c| c.ip.as_deref()?.parse::<Ipv4Addr>().ok())
            })
            .filter(|ip| subnet.is_static(*ip) && !out.values().any(|o| o == ip));
        if let Some(ip) = kept {
            out.insert(n.to_string(), ip);
            used.insert(ip);
        }
    }
    let mut res: BTreeMap<String, Result<String, String>> = BTreeMap::new();
    for n in users {
        if let Some(ip) = out.get(n) {
            res.insert(n.to_string(), Ok(ip.to_string()));
            continue;
        }
        match subnet.static_addresses().find(|a| !used.contains(a)) {
            Some(ip) => {
                used.insert(ip);
                res.insert(n.to_string(), Ok(ip.to_string()));
            }
            None => {
                res.insert(
                    n.to_string(),
                    Err(format!(
                        "no free address left for '{n}' in {} (at most 126 services can use private_ip_address_placeholder)",
                        subnet.cidr()
                    )),
                );
            }
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> String {
        x.to_string()
    }

    #[test]
    fn chooses_the_first_free_slash_24() {
        assert_eq!(choose_subnet(&[], &[]).unwrap().cidr(), "172.30.0.0/24");
        let existing = vec![
            s("172.17.0.0/16"),
            s("172.30.0.0/24"),
            s("172.30.1.128/25"),
            s("fd00::/64"),
            s("garbage"),
        ];
        let got = choose_subnet(&existing, &[]).unwrap();
        assert_eq!(got.cidr(), "172.30.2.0/24");
        assert_eq!(got.ip_range(), "172.30.2.128/25");
        assert_eq!(got.gateway(), "172.30.2.1");
        // A candidate that failed to be created is skipped.
        let got = choose_subnet(&existing, &[got]).unwrap();
        assert_eq!(got.cidr(), "172.30.3.0/24");
    }

    #[test]
    fn a_network_covering_the_whole_first_range_moves_to_the_next() {
        let got = choose_subnet(&[s("172.16.0.0/12")], &[]).unwrap();
        assert_eq!(got.cidr(), "10.200.0.0/24");
        let got = choose_subnet(&[s("172.16.0.0/12"), s("10.0.0.0/8")], &[]);
        assert_eq!(got, None);
    }

    #[test]
    fn static_addresses_are_the_lower_half_without_the_gateway() {
        let sn = Subnet::parse("10.200.7.0/24").unwrap();
        let all: Vec<Ipv4Addr> = sn.static_addresses().collect();
        assert_eq!(all.first(), Some(&Ipv4Addr::new(10, 200, 7, 2)));
        assert_eq!(all.last(), Some(&Ipv4Addr::new(10, 200, 7, 127)));
        assert!(!sn.is_static(Ipv4Addr::new(10, 200, 7, 128)));
        assert_eq!(Subnet::parse("10.200.7.0/16"), None);
        assert_eq!(Subnet::parse("10.200.7.5/24"), None);
    }
}
