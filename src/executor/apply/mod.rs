//! Apply: runs the plan's steps as a DAG (the validator's `step_deps`) on a bounded
//! pool of threads. Each service step builds its spec from the values known by then
//! and calls [`super::diff::decide`] against what was observed: kept containers are not
//! touched; new or changed ones are created under their deterministic name (any
//! container of that service is removed first, so an interrupted apply never leaves
//! duplicates), get their files uploaded before they start, and are waited for (ports,
//! ready conditions). Tasks whose input key is recorded are skipped and their results
//! reused; new results are recorded at once (atomically), so a killed apply loses
//! nothing it finished.
//!
//! Here: the entry point, the state the steps share, and what is forgotten after a
//! run. The steps run in `schedule` (the DAG and each step's dispatch); the enclave
//! network in `network`; services in `service` (deciding, creating, updating) and
//! `ready` (waiting for their ports and ready conditions); artifacts in `artifacts`;
//! tasks in `task_step`.

mod artifacts;
mod network;
mod ready;
mod schedule;
mod service;
mod task_step;

use super::desired::Values;
use super::engine::Engine;
use super::ipam;
use super::network_name;
use super::observe::Observed;
use super::progress::Progress;
use super::state::{EnclaveState, Recorded};
use super::tasks::Target;
use crate::backend::lower::Model;
use crate::ir::{Plan, PlanInfo};
use anyhow::{anyhow, bail, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// How to apply.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub parallelism: usize,
    pub prune: bool,
}

/// What an apply did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Outcome {
    pub created: usize,
    pub replaced: usize,
    pub updated: usize,
    pub kept: usize,
    pub removed: usize,
    pub tasks_run: usize,
    pub tasks_reused: usize,
}

struct Shared {
    values: Values,
    targets: BTreeMap<String, Target>,
    recorded: Recorded,
    used_tasks: BTreeSet<String>,
    used_files: BTreeSet<String>,
    outcome: Outcome,
}

struct Ctx<'a> {
    engine: &'a Engine,
    plan: &'a Plan,
    info: &'a PlanInfo,
    /// The shared deployment model (programs, probes, artifact file sets).
    model: &'a Model,
    enclave: &'a str,
    state: &'a EnclaveState,
    observed: &'a Observed,
    progress: &'a Progress,
    shared: Mutex<Shared>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs the plan against the engine. The caller holds the enclave lock.
#[allow(
    clippy::too_many_arguments,
    reason = "the validated plan, the observed engine, the state and the options: each its own input"
)]
pub fn apply(
    engine: &Engine,
    plan: &Plan,
    info: &PlanInfo,
    enclave: &str,
    state: &EnclaveState,
    observed: &Observed,
    recorded: Recorded,
    opts: Options,
    progress: &Progress,
) -> Result<Outcome> {
    // Before any change: an old network cannot give services their own address.
    ipam::network_subnet(plan, info, observed).map_err(|e| anyhow!(e))?;
    if !observed.network {
        progress.line(&format!("network {}: creating", network_name(enclave)));
    }
    let subnet = network::ensure_network(engine, enclave)?;
    let users = ipam::placeholder_services(plan, info);
    if subnet.is_none() && !users.is_empty() {
        bail!(
            "service '{}' uses private_ip_address_placeholder, but network {} has no subnet chosen by kplan (none of 172.30.0.0/16, 10.200.0.0/16 and 10.201.0.0/16 had a free /24, or another kplan made it without one); remove unused Docker networks, run `kplan destroy --enclave {enclave}` and apply again",
            users[0],
            network_name(enclave)
        );
    }
    let mut recorded = recorded;
    let own_ip = ipam::assign(plan, info, observed, &recorded.ips, Ok(subnet));
    if let Some((name, Err(why))) = own_ip.iter().find(|(_, ip)| ip.is_err()) {
        bail!("service '{name}': cannot give it an address: {why}");
    }
    let ips: BTreeMap<String, String> = own_ip
        .iter()
        .filter_map(|(n, ip)| Some((n.clone(), ip.clone().ok()?)))
        .collect();
    if recorded.ips != ips {
        recorded.ips = ips;
        state.save(&recorded)?;
    }
    let mut outcome = Outcome::default();
    for c in &observed.containers {
        let orphan = c.kind == "service" && !info.final_services().contains_key(&c.service);
        if c.kind != "service" || (orphan && opts.prune) {
            progress.line(&format!("{}: removing", c.name));
            engine.container_remove(&c.id)?;
            if orphan {
                outcome.removed += 1;
            }
        }
    }
    let model = super::model(plan, info);
    let ctx = Ctx {
        engine,
        plan,
        info,
        model: &model,
        enclave,
        state,
        observed,
        progress,
        shared: Mutex::new(Shared {
            values: Values {
                own_ip,
                ..Values::default()
            },
            targets: BTreeMap::new(),
            recorded,
            used_tasks: BTreeSet::new(),
            used_files: BTreeSet::new(),
            outcome,
        }),
    };
    let ran = schedule::run_dag(&ctx, opts.parallelism.max(1));
    progress.finish();
    ran?;
    let mut sh = lock(&ctx.shared);
    // Forget results no step of this package uses any more.
    let used_tasks = std::mem::take(&mut sh.used_tasks);
    let used_files = std::mem::take(&mut sh.used_files);
    sh.recorded.tasks.retain(|k, _| used_tasks.contains(k));
    let live: BTreeSet<String> = sh.targets.values().map(|t| t.container.clone()).collect();
    sh.recorded.restarts.retain(|id, _| live.contains(id));
    sh.recorded
        .service_files
        .retain(|k, _| used_files.contains(k));
    let mut keep: BTreeSet<String> = sh
        .recorded
        .tasks
        .values()
        .flat_map(|t| t.stored.values().cloned())
        .collect();
    keep.extend(sh.recorded.service_files.values().cloned());
    state.save(&sh.recorded)?;
    state.gc_blobs(&keep);
    Ok(sh.outcome.clone())
}

fn snapshot(ctx: &Ctx) -> Values {
    lock(&ctx.shared).values.clone()
}
