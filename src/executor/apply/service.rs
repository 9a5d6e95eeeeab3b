//! A service during apply: its spec built from the values known by then, and
//! [`diff::decide`] against what was observed. Kept containers are not touched;
//! changed ones are updated in place when `docker update` can make the change; new or
//! changed ones are created under their deterministic name (any container of that
//! service is removed first, so an interrupted apply never leaves duplicates), get
//! their files uploaded before they start, and are waited for.

use super::ready::wait_ready;
use super::{lock, snapshot, Ctx};
use crate::executor::desired::{self, ArtifactData, Values};
use crate::executor::diff::{self, Action, ServiceChange};
use crate::executor::engine::{ContainerSpec, Engine, NameInUse};
use crate::executor::observe::ObservedContainer;
use crate::executor::settings;
use crate::executor::tasks::{self, Target};
use crate::executor::{network_name, volume_name, LABEL_ENCLAVE, LABEL_KIND, LABEL_VOLUME_KEY};
use crate::ir::ServiceId;
use anyhow::{anyhow, bail, Context, Result};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

/// How long a replaced container gets to stop after SIGTERM before it is killed.
const STOP_TIMEOUT_SECS: i32 = 10;

/// Builds the service's spec from the values known now and converges its container.
pub(super) fn service(ctx: &Ctx, id: ServiceId) -> Result<()> {
    let mut values = snapshot(ctx);
    let s = ctx.plan.service(id);
    // Recorded artifacts (digest only) need their contents for upload.
    for m in s.config.files.values() {
        if let crate::ir::Mount::Artifacts(names) = m {
            for n in names {
                if let Some(aid) = ctx.info.service_mount(id, n) {
                    if let Some(Ok(d)) = values.artifacts.get(&aid).cloned() {
                        if d.files.is_none() {
                            let files = ctx.state.load_blob(&d.digest)?;
                            values.artifacts.insert(
                                aid,
                                Ok(ArtifactData {
                                    files: Some(Arc::new(files)),
                                    ..d
                                }),
                            );
                        }
                    }
                }
            }
        }
    }
    let spec = desired::service_spec(ctx.plan, ctx.info, id, &values, ctx.enclave);
    ctx.progress.begin(&spec.name);
    let r = converge_service(ctx, id, &spec, &values);
    ctx.progress.end(&spec.name);
    r
}

/// Decides what the service's container needs and does it, then records its address
/// and version for the steps after it.
fn converge_service(
    ctx: &Ctx,
    id: ServiceId,
    spec: &desired::ServiceSpec,
    values: &Values,
) -> Result<()> {
    let found = ctx.observed.service_containers(&spec.name);
    let stays_stopped = ctx.info.stopped().contains(&id);
    let recorded = lock(&ctx.shared).recorded.clone();
    let change = diff::decide(spec, &found, stays_stopped, &recorded);
    let e = ctx.engine;
    let start = Instant::now();
    let (container_id, fresh) = match change.action {
        Action::Keep => {
            let kept = found
                .iter()
                .find(|c| Some(&c.name) == change.container.as_ref())
                .map(|c| c.id.clone())
                .ok_or_else(|| anyhow!("internal error: kept container not found"))?;
            (kept, false)
        }
        Action::Update => update_in_place(ctx, spec, &change, &found)?,
        Action::Create | Action::Replace => (create_fresh(ctx, spec, &change, &found)?, true),
    };
    let ip = match (fresh, found.iter().find(|c| c.id == container_id)) {
        (false, Some(c)) if c.ip.is_some() => c.ip.clone().unwrap_or_default(),
        _ => e
            .container_inspect(&container_id)?
            .and_then(|c| c.ips.get(&network_name(ctx.enclave)).cloned())
            .or_else(|| stays_stopped.then(String::new))
            .ok_or_else(|| anyhow!("container has no address on the enclave network"))?,
    };
    let target = Target {
        container: container_id.clone(),
        ip: ip.clone(),
    };
    if fresh {
        if let Err(err) = wait_ready(ctx, id, &target, values) {
            // Remember it, so the next apply replaces it instead of keeping it.
            let mut sh = lock(&ctx.shared);
            sh.recorded.unready.insert(container_id);
            ctx.state.save(&sh.recorded)?;
            return Err(err);
        }
        ctx.progress.line(&format!(
            "{}: ready ({:.1}s)",
            spec.name,
            start.elapsed().as_secs_f64()
        ));
    } else {
        lock(&ctx.shared).outcome.kept += usize::from(change.action == Action::Keep);
    }
    let mut sh = lock(&ctx.shared);
    let version = sh.recorded.container_version(&container_id);
    sh.values.service_ip.insert(id, Ok(ip));
    sh.values.service_version.insert(id, Ok(version));
    sh.targets.insert(spec.name.clone(), target);
    Ok(())
}

/// Updates the container in place (`docker update`, unpause, start); whether it
/// was started again (then it is waited for like a new one).
fn update_in_place(
    ctx: &Ctx,
    spec: &desired::ServiceSpec,
    change: &ServiceChange,
    found: &[&ObservedContainer],
) -> Result<(String, bool)> {
    let e = ctx.engine;
    let current = found
        .iter()
        .find(|c| Some(&c.name) == change.container.as_ref())
        .ok_or_else(|| anyhow!("internal error: updated container not found"))?;
    ctx.progress.line(&format!(
        "{}: updating in place ({})",
        spec.name,
        change.reasons.join("; ")
    ));
    for d in &change.duplicates {
        e.container_remove(d)?;
    }
    let update = settings::update(&spec.settings, &current.settings);
    if update != settings::Update::default() {
        e.container_update(&current.id, &update)?;
    }
    if change.unpause {
        e.container_unpause(&current.id)?;
    }
    if change.start_only {
        // Started again: a new version, so what uses it is redone (recorded
        // first, so a killed apply still redoes them next time).
        let mut sh = lock(&ctx.shared);
        *sh.recorded.restarts.entry(current.id.clone()).or_insert(0) += 1;
        ctx.state.save(&sh.recorded)?;
        drop(sh);
        e.container_start(&current.id)?;
    }
    lock(&ctx.shared).outcome.updated += 1;
    Ok((current.id.clone(), change.start_only))
}

/// Creates the container (removing the service's old ones first), uploads its files
/// and starts it; returns its id.
fn create_fresh(
    ctx: &Ctx,
    spec: &desired::ServiceSpec,
    change: &ServiceChange,
    found: &[&ObservedContainer],
) -> Result<String> {
    let e = ctx.engine;
    let container = spec.container.clone().ok_or_else(|| {
        anyhow!(
            "cannot resolve its config: {}",
            change
                .unknown_parts
                .values()
                .cloned()
                .collect::<Vec<_>>()
                .join("; ")
        )
    })?;
    let verb = if change.action == Action::Create {
        "creating"
    } else {
        "replacing"
    };
    ctx.progress.line(&format!(
        "{}: {verb} ({})",
        spec.name,
        change.reasons.join("; ")
    ));
    for c in found {
        // Let the old process shut down cleanly (flush data) before removal.
        if c.state == "running" {
            e.container_stop(&c.id, STOP_TIMEOUT_SECS)?;
        }
        e.container_remove(&c.id)?;
    }
    for key in &spec.volume_keys {
        let mut labels = BTreeMap::new();
        labels.insert(LABEL_ENCLAVE.to_string(), ctx.enclave.to_string());
        labels.insert(LABEL_KIND.to_string(), "volume".to_string());
        labels.insert(LABEL_VOLUME_KEY.to_string(), key.clone());
        e.volume_ensure(&volume_name(ctx.enclave, key), &labels)?;
    }
    let cid = create_named(e, &container, ctx.enclave)?;
    for (dir, data) in &spec.uploads {
        if let Some(files) = &data.files {
            tasks::upload(e, &cid, dir, files)
                .with_context(|| format!("uploading files to {dir}"))?;
        }
    }
    e.container_start(&cid)?;
    let mut sh = lock(&ctx.shared);
    if change.action == Action::Create {
        sh.outcome.created += 1;
    } else {
        sh.outcome.replaced += 1;
    }
    Ok(cid)
}

/// Creates the container. One of that name that observe did not see (made by an
/// apply that was killed after observing) is removed and the create retried, when it
/// is this enclave's.
fn create_named(e: &Engine, container: &ContainerSpec, enclave: &str) -> Result<String> {
    match e.container_create(container) {
        Err(err) if err.is::<NameInUse>() => {
            let other = e.container_inspect(&container.name)?;
            let ours = other.as_ref().and_then(|c| c.labels.get(LABEL_ENCLAVE))
                == Some(&enclave.to_string());
            if !ours {
                bail!(
                    "a container named {} that kplan did not create is in the way; remove or rename it (`docker rm -f {}`)",
                    container.name,
                    container.name
                );
            }
            e.container_remove(&container.name)?;
            e.container_create(container)
        }
        other => other,
    }
}
