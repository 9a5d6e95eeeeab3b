//! Waiting for a new service: its declared TCP ports (connecting from this host to
//! the container's address) and its ready condition, as the shared model's readiness
//! checks say.

use super::Ctx;
use crate::backend::lower::probe::{Origin, Probe};
use crate::executor::desired::Values;
use crate::executor::tasks::{self, Target};
use crate::ir::{GoDuration, ServiceId, Transport};
use anyhow::{anyhow, bail, Result};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Waits for the service's readiness checks of the shared model: its declared TCP
/// ports (connecting from this host to the container's address) and its ready
/// condition. `plan.wait`s on it run as tasks of their own.
pub(super) fn wait_ready(ctx: &Ctx, id: ServiceId, target: &Target, values: &Values) -> Result<()> {
    let s = ctx.plan.service(id);
    let Some(m) = ctx.model.services.get(&id) else {
        return Ok(());
    };
    for check in &m.readiness.checks {
        match (check.origin, &check.probe) {
            (Origin::Ports, Probe::Listening(ports)) => {
                for (number, wait) in ports {
                    let name = s
                        .config
                        .ports
                        .iter()
                        .find(|(_, p)| {
                            p.number == *number && p.transport_protocol == Transport::Tcp
                        })
                        .map(|(n, _)| n.as_str())
                        .unwrap_or_default();
                    wait_port(ctx, s, target, name, *number, *wait)?;
                }
            }
            (Origin::ReadyCondition, _) => {
                let at = s
                    .config
                    .ready_conditions
                    .as_ref()
                    .map(|rc| rc.at.to_string())
                    .unwrap_or_default();
                tasks::wait_probe(ctx.engine, ctx.plan, ctx.model, target, check, values)
                    .map_err(|e| anyhow!("ready condition ({at}): {e}"))?;
            }
            (Origin::Ports, _) | (Origin::Wait(_), _) => {}
        }
    }
    Ok(())
}

/// Waits until a TCP port accepts connections, for at most `wait`.
fn wait_port(
    ctx: &Ctx,
    s: &crate::ir::Service,
    target: &Target,
    name: &str,
    number: u16,
    wait: GoDuration,
) -> Result<()> {
    let addr: SocketAddr = format!("{}:{}", target.ip, number)
        .parse()
        .map_err(|_| anyhow!("bad address {}:{}", target.ip, number))?;
    let deadline = Instant::now() + wait.as_std();
    // Whether the container died is asked of the engine at most once a second, so
    // many services waiting at once do not slow down the engine starting others.
    let mut next_state_check = Instant::now() + Duration::from_millis(500);
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "port '{name}' ({number}) did not open within {wait}; check the service's logs with `docker logs {}`",
                crate::executor::container_name(ctx.enclave, &s.name)
            );
        }
        if Instant::now() < next_state_check {
            std::thread::sleep(Duration::from_millis(25));
            continue;
        }
        next_state_check = Instant::now() + Duration::from_secs(1);
        match ctx.engine.container_inspect(&target.container)? {
            Some(c) if c.state == "running" => {}
            Some(c) => bail!(
                "the container is {} before port '{name}' opened; see `docker logs {}`",
                c.state,
                crate::executor::container_name(ctx.enclave, &s.name)
            ),
            None => bail!("the container disappeared"),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
