//! Running the plan's steps as a DAG (the validator's `step_deps`) on a bounded pool of
//! threads, and what each kind of step does.

use super::{artifacts, lock, service, task_step, Ctx};
use crate::executor::desired;
use crate::ir::{Plan, StepKind};
use anyhow::{bail, Result};
use std::collections::BTreeSet;
use std::sync::{Condvar, Mutex};

/// The step as the user wrote it, for messages: what it does and where.
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

/// Runs every step once all it depends on is done; after a failure no new step
/// starts, and the error lists every failed step.
pub(super) fn run_dag(ctx: &Ctx, parallelism: usize) -> Result<()> {
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

/// Runs step `i` (a no-op for steps that need no work of their own).
fn run_step(ctx: &Ctx, i: usize) -> Result<()> {
    let Some(step) = ctx.plan.steps.get(i) else {
        return Ok(());
    };
    match &step.kind {
        StepKind::AddServices(ids) => {
            for id in ids {
                if ctx.info.is_final(*id) {
                    service::service(ctx, *id)?;
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
        StepKind::CreateArtifact(aid) => artifacts::create(ctx, *aid),
        StepKind::RunTask(tid) => task_step::run_task(ctx, *tid),
    }
}
