//! Apply: runs the plan's steps as a DAG (the validator's `step_deps`) on a bounded
//! pool of threads. Each service step builds its spec from the values known by then
//! and calls [`diff::decide`] against what was observed: kept containers are not
//! touched; new or changed ones are created under their deterministic name (any
//! container of that service is removed first, so an interrupted apply never leaves
//! duplicates), get their files uploaded before they start, and are waited for (ports,
//! ready conditions). Tasks whose input key is recorded are skipped and their results
//! reused; new results are recorded at once (atomically), so a killed apply loses
//! nothing it finished.

use super::desired::{self, ArtifactData, FileEntry, TaskResult, Val, Values};
use super::diff::{self, Action};
use super::engine::{Engine, NetworkIpam};
use super::ipam;
use super::observe::Observed;
use super::progress::Progress;
use super::settings;
use super::state::{EnclaveState, Recorded};
use super::tasks::{self, Target};
use super::upstream;
use super::{network_name, volume_name, LABEL_ENCLAVE, LABEL_KIND, LABEL_SUBNET, LABEL_VOLUME_KEY};
use crate::backend::lower::probe::{Origin, Probe};
use crate::backend::lower::Model;
use crate::ir::{
    ArtifactId, ArtifactSource, GoDuration, Plan, PlanInfo, ServiceId, StepKind, Transport,
};
use anyhow::{anyhow, bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long a replaced container gets to stop after SIGTERM before it is killed.
const STOP_TIMEOUT_SECS: i32 = 10;

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
    let subnet = ensure_network(engine, enclave)?;
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
    let ran = run_dag(&ctx, opts.parallelism.max(1));
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

/// Makes sure the enclave network exists and returns its subnet when kplan chose it.
/// A new network gets a subnet overlapping no other network of the engine (see
/// [`ipam`]); when another network takes the chosen one first, the next is tried. When
/// none is free the network is made without one (then only the placeholder is
/// unavailable).
fn ensure_network(engine: &Engine, enclave: &str) -> Result<Option<ipam::Subnet>> {
    let name = network_name(enclave);
    let subnet_of = |n: &super::engine::NetworkInfo| {
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

fn step_name(plan: &Plan, i: usize) -> String {
    let Some(s) = plan.steps.get(i) else {
        return format!("step {i}");
    };
    let what = match &s.kind {
        StepKind::AddServices(ids) => {
            let names: Vec<&str> = ids
                .iter()
                .map(|id| plan.service(*id).name.as_str())
                .collect();
            format!("service {}", names.join(", "))
        }
        StepKind::RemoveService(n) => format!("remove_service {n}"),
        StepKind::StartService(n) => format!("start_service {n}"),
        StepKind::StopService(n) => format!("stop_service {n}"),
        StepKind::CreateArtifact(a) => format!("files artifact '{}'", plan.artifact(*a).name),
        StepKind::RunTask(t) => desired::task_label(plan, *t),
    };
    format!("{what} ({}:{})", s.at.file, s.at.line)
}

fn run_dag(ctx: &Ctx, parallelism: usize) -> Result<()> {
    struct Sched {
        pending: Vec<usize>,
        done: BTreeSet<usize>,
        running: usize,
        failed: Vec<String>,
    }
    let sched = Mutex::new(Sched {
        pending: ctx.info.order().to_vec(),
        done: BTreeSet::new(),
        running: 0,
        failed: Vec::new(),
    });
    let cv = Condvar::new();
    let deps = |i: usize| -> &[usize] {
        ctx.info
            .step_deps(i)
            .map(|d| d.after.as_slice())
            .unwrap_or(&[])
    };
    std::thread::scope(|s| {
        for _ in 0..parallelism.min(ctx.info.order().len().max(1)) {
            s.spawn(|| loop {
                let next = {
                    let mut g = lock(&sched);
                    loop {
                        if !g.failed.is_empty() || g.pending.is_empty() {
                            break None;
                        }
                        let ready = g
                            .pending
                            .iter()
                            .position(|i| deps(*i).iter().all(|d| g.done.contains(d)));
                        if let Some(p) = ready {
                            let i = g.pending.remove(p);
                            g.running += 1;
                            break Some(i);
                        }
                        if g.running == 0 {
                            g.failed
                                .push("internal error: steps wait on each other".into());
                            cv.notify_all();
                            break None;
                        }
                        g = cv.wait(g).unwrap_or_else(|p| p.into_inner());
                    }
                };
                let Some(i) = next else {
                    return;
                };
                let r = run_step(ctx, i);
                let mut g = lock(&sched);
                g.running -= 1;
                match r {
                    Ok(()) => {
                        g.done.insert(i);
                    }
                    Err(e) => g.failed.push(format!("{}: {e:#}", step_name(ctx.plan, i))),
                }
                cv.notify_all();
            });
        }
    });
    let g = lock(&sched);
    if g.failed.is_empty() {
        Ok(())
    } else {
        bail!(
            "apply failed:\n  {}\nwhat finished is kept and recorded; fix the problem and apply again",
            g.failed.join("\n  ")
        )
    }
}

fn snapshot(ctx: &Ctx) -> Values {
    lock(&ctx.shared).values.clone()
}

fn run_step(ctx: &Ctx, i: usize) -> Result<()> {
    let Some(step) = ctx.plan.steps.get(i) else {
        return Ok(());
    };
    match &step.kind {
        StepKind::AddServices(ids) => {
            for id in ids {
                if ctx.info.is_final(*id) {
                    service(ctx, *id)?;
                }
            }
            Ok(())
        }
        StepKind::RemoveService(_) => Ok(()),
        StepKind::StartService(name) | StepKind::StopService(name) => {
            let start = matches!(step.kind, StepKind::StartService(_));
            let tg = lock(&ctx.shared).targets.get(name).cloned();
            match tg {
                Some(t) if start => ctx.engine.container_start(&t.container).or_else(|e| {
                    // Already running is fine.
                    match ctx.engine.container_inspect(&t.container)? {
                        Some(c) if c.state == "running" => Ok(()),
                        _ => Err(e),
                    }
                }),
                Some(t) => ctx.engine.container_stop(&t.container, 10),
                None => Ok(()),
            }
        }
        StepKind::CreateArtifact(aid) => {
            let values = snapshot(ctx);
            let data = match desired::static_artifact(ctx.plan, ctx.model, *aid, &values) {
                Some(d) => d.map_err(|w| anyhow!(w))?,
                None => match &ctx.plan.artifact(*aid).source {
                    ArtifactSource::ServiceFiles {
                        service_name, src, ..
                    } => service_files(ctx, &values, service_name, src)?,
                    ArtifactSource::TaskStore { .. } => return Ok(()),
                    ArtifactSource::Upload { .. } | ArtifactSource::Templates { .. } => {
                        return Ok(())
                    }
                },
            };
            lock(&ctx.shared).values.artifacts.insert(*aid, Ok(data));
            Ok(())
        }
        StepKind::RunTask(tid) => {
            let values = snapshot(ctx);
            let key = desired::task_key(ctx.plan, ctx.info, *tid, &values)
                .map_err(|w| anyhow!("a value it uses is unknown: {w}"))?;
            // The same decision as the plan's (all values are known by now).
            let (decision, recorded) = {
                let sh = lock(&ctx.shared);
                diff::task_decision(ctx.plan, ctx.info, *tid, &values, &sh.recorded)
            };
            let recorded = match decision.action {
                diff::TaskAction::Reuse => recorded.ok(),
                diff::TaskAction::Run => None,
            };
            let label = desired::task_label(ctx.plan, *tid);
            let (result, files): (TaskResult, BTreeMap<String, Arc<Vec<FileEntry>>>) =
                // A stored file that cannot be read (a damaged state directory) means
                // running the task again.
                match recorded.and_then(|r| {
                    let mut files = BTreeMap::new();
                    for (name, d) in &r.stored {
                        files.insert(name.clone(), Arc::new(ctx.state.load_blob(d).ok()?));
                    }
                    Some((r, files))
                }) {
                    Some(x) => {
                        lock(&ctx.shared).outcome.tasks_reused += 1;
                        x
                    }
                    None => {
                        let start = Instant::now();
                        ctx.progress.begin(&label);
                        ctx.progress.line(&format!("{label}: running"));
                        let targets = lock(&ctx.shared).targets.clone();
                        let files_of = |aid: ArtifactId| artifact_files(ctx, &values, aid);
                        let print = |m: &str| ctx.progress.print(m);
                        let env = tasks::TaskEnv {
                            engine: ctx.engine,
                            plan: ctx.plan,
                            enclave: ctx.enclave,
                            info: ctx.info,
                            model: ctx.model,
                            targets: &targets,
                            files: &files_of,
                            print: &print,
                        };
                        let ran = tasks::run(&env, *tid, &values);
                        ctx.progress.end(&label);
                        let (mut res, stored) = ran?;
                        res.run = upstream::new_run_id(&key);
                        for (name, fs) in &stored {
                            if let Some(d) = res.stored.get(name) {
                                ctx.state.save_blob(d, fs)?;
                                lock(&ctx.shared).recorded.blobs.insert(d.clone());
                            }
                        }
                        ctx.progress.line(&format!(
                            "{label}: done ({:.1}s)",
                            start.elapsed().as_secs_f64()
                        ));
                        let mut sh = lock(&ctx.shared);
                        sh.recorded.tasks.insert(key.clone(), res.clone());
                        sh.outcome.tasks_run += 1;
                        ctx.state.save(&sh.recorded)?;
                        drop(sh);
                        (
                            res,
                            stored.into_iter().map(|(k, v)| (k, Arc::new(v))).collect(),
                        )
                    }
                };
            let mut sh = lock(&ctx.shared);
            sh.used_tasks.insert(key);
            diff::record_task(ctx.plan, ctx.info, *tid, Ok(result), &mut sh.values);
            // Fill in contents, so later mounts can upload them.
            for aid in ctx.info.task_artifacts(*tid).iter() {
                let name = &ctx.plan.artifact(*aid).name;
                if let (Some(Ok(d)), Some(fs)) =
                    (sh.values.artifacts.get(aid).cloned(), files.get(name))
                {
                    sh.values.artifacts.insert(
                        *aid,
                        Ok(ArtifactData {
                            files: Some(fs.clone()),
                            ..d
                        }),
                    );
                }
            }
            Ok(())
        }
    }
}

/// A `store_service_files` artifact: the recorded copy when the service's container
/// is the same version it was copied from (as `diff` assumes), else a fresh copy.
fn service_files(
    ctx: &Ctx,
    values: &Values,
    service_name: &str,
    src: &str,
) -> Result<ArtifactData> {
    let tg = lock(&ctx.shared)
        .targets
        .get(service_name)
        .cloned()
        .ok_or_else(|| anyhow!("service '{service_name}' is not running"))?;
    let version = ctx
        .info
        .final_service(service_name)
        .and_then(|sid| values.service_version.get(&sid).cloned())
        .ok_or_else(|| anyhow!("service '{service_name}' is not running"))?
        .map_err(|what| anyhow!("service {what}"))?;
    let key = diff::service_files_key(&version, src);
    let recorded = {
        let mut sh = lock(&ctx.shared);
        sh.used_files.insert(key.clone());
        sh.recorded.service_files.get(&key).cloned()
    };
    if let Some(digest) = recorded.filter(|d| ctx.state.has_blob(d)) {
        return Ok(ArtifactData {
            version: upstream::artifact_version(&digest, Some(&version)),
            digest,
            files: None,
        });
    }
    let tar = ctx.engine.get_archive(&tg.container, src)?;
    let files = super::tar::read(&tar).map_err(|e| anyhow!(e))?;
    let mut data = desired::artifact_from_files(files.clone());
    data.version = upstream::artifact_version(&data.digest, Some(&version));
    ctx.state.save_blob(&data.digest, &files)?;
    let mut sh = lock(&ctx.shared);
    sh.recorded.service_files.insert(key, data.digest.clone());
    ctx.state.save(&sh.recorded)?;
    Ok(data)
}

/// The files of an artifact (one version of its name), loading recorded contents
/// when needed.
fn artifact_files(ctx: &Ctx, values: &Values, aid: ArtifactId) -> Result<Arc<Vec<FileEntry>>> {
    let name = &ctx.plan.artifact(aid).name;
    let data: Val<ArtifactData> = values
        .artifacts
        .get(&aid)
        .cloned()
        .unwrap_or_else(|| Err(format!("files artifact '{name}' was not produced")));
    let data = data.map_err(|w| anyhow!(w))?;
    match data.files {
        Some(f) => Ok(f),
        None => Ok(Arc::new(ctx.state.load_blob(&data.digest)?)),
    }
}

fn service(ctx: &Ctx, id: ServiceId) -> Result<()> {
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
    let mut fresh = true;
    let container_id = match change.action {
        Action::Keep => {
            fresh = false;
            found
                .iter()
                .find(|c| Some(&c.name) == change.container.as_ref())
                .map(|c| c.id.clone())
                .ok_or_else(|| anyhow!("internal error: kept container not found"))?
        }
        Action::Update => {
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
            } else {
                fresh = false;
            }
            lock(&ctx.shared).outcome.updated += 1;
            current.id.clone()
        }
        Action::Create | Action::Replace => {
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
            for c in &found {
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
            // A container of that name that observe did not see (made by an apply that
            // was killed after observing) is removed and the create retried.
            let cid = match e.container_create(&container) {
                Err(err) if err.is::<super::engine::NameInUse>() => {
                    let other = e.container_inspect(&container.name)?;
                    let ours = other.as_ref().and_then(|c| c.labels.get(LABEL_ENCLAVE))
                        == Some(&ctx.enclave.to_string());
                    if !ours {
                        bail!(
                            "a container named {} that kplan did not create is in the way; remove or rename it (`docker rm -f {}`)",
                            container.name,
                            container.name
                        );
                    }
                    e.container_remove(&container.name)?;
                    e.container_create(&container)?
                }
                other => other?,
            };
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
            cid
        }
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

/// Waits for the service's readiness checks of the shared model: its declared TCP
/// ports (connecting from this host to the container's address) and its ready
/// condition. `plan.wait`s on it run as tasks of their own.
fn wait_ready(ctx: &Ctx, id: ServiceId, target: &Target, values: &Values) -> Result<()> {
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
                super::container_name(ctx.enclave, &s.name)
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
                super::container_name(ctx.enclave, &s.name)
            ),
            None => bail!("the container disappeared"),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
