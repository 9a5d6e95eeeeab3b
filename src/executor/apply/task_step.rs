//! A `RunTask` step: the same reuse decision as the plan's (all values are known by
//! now); a reused task's recorded result and stored files, or a fresh run whose
//! result is recorded at once (atomically), so a killed apply loses nothing it
//! finished; then the result among the values for the steps after it.

use super::artifacts::artifact_files;
use super::{lock, snapshot, Ctx};
use crate::executor::desired::{self, ArtifactData, FileEntry, TaskResult, Values};
use crate::executor::{diff, tasks, upstream};
use crate::ir::{ArtifactId, TaskId};
use anyhow::{anyhow, Result};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

/// The files a task stored, by artifact name.
type Stored = BTreeMap<String, Arc<Vec<FileEntry>>>;

pub(super) fn run_task(ctx: &Ctx, tid: TaskId) -> Result<()> {
    let values = snapshot(ctx);
    let key = desired::task_key(ctx.plan, ctx.info, tid, &values)
        .map_err(|w| anyhow!("a value it uses is unknown: {w}"))?;
    // The same decision as the plan's (all values are known by now).
    let (decision, recorded) = {
        let sh = lock(&ctx.shared);
        diff::task_decision(ctx.plan, ctx.info, tid, &values, &sh.recorded)
    };
    let recorded = match decision.action {
        diff::TaskAction::Reuse => recorded.ok(),
        diff::TaskAction::Run => None,
    };
    // A stored file that cannot be read (a damaged state directory) means running the
    // task again.
    let (result, files) = match recorded.and_then(|r| reused(ctx, r)) {
        Some(x) => {
            lock(&ctx.shared).outcome.tasks_reused += 1;
            x
        }
        None => run_fresh(ctx, tid, &key, &values)?,
    };
    let mut sh = lock(&ctx.shared);
    sh.used_tasks.insert(key);
    diff::record_task(ctx.plan, ctx.info, tid, Ok(result), &mut sh.values);
    // Fill in contents, so later mounts can upload them.
    for aid in ctx.info.task_artifacts(tid).iter() {
        let name = &ctx.plan.artifact(*aid).name;
        if let (Some(Ok(d)), Some(fs)) = (sh.values.artifacts.get(aid).cloned(), files.get(name)) {
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

/// A recorded result with its stored files; `None` when one cannot be read.
fn reused(ctx: &Ctx, r: TaskResult) -> Option<(TaskResult, Stored)> {
    let mut files = BTreeMap::new();
    for (name, d) in &r.stored {
        files.insert(name.clone(), Arc::new(ctx.state.load_blob(d).ok()?));
    }
    Some((r, files))
}

/// Runs the task, saves its stored files and records its result under `key`.
fn run_fresh(ctx: &Ctx, tid: TaskId, key: &str, values: &Values) -> Result<(TaskResult, Stored)> {
    let label = desired::task_label(ctx.plan, tid);
    let start = Instant::now();
    ctx.progress.begin(&label);
    ctx.progress.line(&format!("{label}: running"));
    let targets = lock(&ctx.shared).targets.clone();
    let files_of = |aid: ArtifactId| artifact_files(ctx, values, aid);
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
    let ran = tasks::run(&env, tid, values);
    ctx.progress.end(&label);
    let (mut res, stored) = ran?;
    res.run = upstream::new_run_id(key);
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
    sh.recorded.tasks.insert(key.to_owned(), res.clone());
    sh.outcome.tasks_run += 1;
    ctx.state.save(&sh.recorded)?;
    drop(sh);
    Ok((
        res,
        stored.into_iter().map(|(k, v)| (k, Arc::new(v))).collect(),
    ))
}
