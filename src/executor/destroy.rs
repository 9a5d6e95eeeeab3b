//! Removing an enclave: every container kplan created for it, its network and its
//! state; the volumes of persistent directories only when asked to, since their data
//! is the one thing an apply never deletes.

use super::engine::Engine;
use super::state::EnclaveState;
use super::{network_name, observe, LABEL_ENCLAVE};
use anyhow::Result;

/// What [`destroy`] removed and kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Destroyed {
    pub containers: usize,
    pub volumes_removed: usize,
    pub volumes_kept: usize,
}

/// Removes the enclave `name` under its lock; with `volumes`, its named volumes too.
pub fn destroy(
    engine: &Engine,
    name: &str,
    state: &EnclaveState,
    volumes: bool,
) -> Result<Destroyed> {
    let lock = state.lock()?;
    let observed = observe::observe(engine, name)?;
    for c in &observed.containers {
        engine.container_remove(&c.id)?;
    }
    engine.network_remove(&network_name(name))?;
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
        volumes_removed: removed,
        volumes_kept: if volumes { 0 } else { observed.volumes.len() },
    })
}
