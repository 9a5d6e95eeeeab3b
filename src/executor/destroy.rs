//! Removing an enclave: every container kplan created for it, its network and its
//! state; the volumes of persistent directories only when asked to, since their data
//! is the one thing an apply never deletes. It holds the enclave lock meanwhile, and
//! reports exactly what it removed.

use super::engine::Engine;
use super::lock;
use super::state::EnclaveState;
use super::{network_name, observe, LABEL_ENCLAVE};
use anyhow::{bail, Result};

/// What [`destroy`] removed and kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destroyed {
    pub containers: usize,
    /// Whether the network existed (and was removed).
    pub network: bool,
    pub volumes_removed: usize,
    pub volumes_kept: usize,
    /// A stale lock removed first (see [`lock`]): its holder, described, and why.
    pub broke_stale: Option<String>,
}

/// Removes the enclave `name` under its lock; with `volumes`, its named volumes too.
/// Fails, changing nothing, when nothing of the enclave is on the engine.
pub fn destroy(
    engine: &Engine,
    name: &str,
    state: &EnclaveState,
    volumes: bool,
) -> Result<Destroyed> {
    let lock = lock::acquire(engine, state, name, "destroy")?;
    let broke_stale = lock
        .broke_stale
        .as_ref()
        .map(|(h, why)| format!("{} ({why})", h.describe()));
    let observed = observe::observe(engine, name)?;
    if !observed.exists() {
        bail!("enclave \"{name}\" does not exist on this engine");
    }
    for c in &observed.containers {
        engine.container_remove(&c.id)?;
    }
    if observed.network {
        engine.network_remove(&network_name(name))?;
    }
    let mut removed = 0;
    if volumes {
        for v in engine.volumes_by_label(&[(LABEL_ENCLAVE, name)])? {
            engine.volume_remove(&v.name)?;
            removed += 1;
        }
    }
    drop(lock);
    state.remove()?;
    Ok(Destroyed {
        containers: observed.containers.len(),
        network: observed.network,
        volumes_removed: removed,
        volumes_kept: if volumes { 0 } else { observed.volumes.len() },
        broke_stale,
    })
}
