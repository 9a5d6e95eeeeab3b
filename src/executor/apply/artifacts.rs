//! Artifacts during apply: a `CreateArtifact` step (file sets known from the plan,
//! or copied out of a service with `store_service_files`), and the files of an
//! artifact when a task or service needs them.

use super::{lock, snapshot, Ctx};
use crate::executor::desired::{self, ArtifactData, FileEntry, Val, Values};
use crate::executor::{diff, upstream};
use crate::ir::{ArtifactId, ArtifactSource};
use anyhow::{anyhow, Result};
use std::sync::Arc;

/// A `CreateArtifact` step: its files, recorded among the values for what uses them
/// (nothing to do for artifacts a task or an upload produces).
pub(super) fn create(ctx: &Ctx, aid: ArtifactId) -> Result<()> {
    let values = snapshot(ctx);
    let data = match desired::static_artifact(ctx.plan, ctx.model, aid, &values) {
        Some(d) => d.map_err(|w| anyhow!(w))?,
        None => match &ctx.plan.artifact(aid).source {
            ArtifactSource::ServiceFiles {
                service_name, src, ..
            } => service_files(ctx, &values, service_name, src)?,
            ArtifactSource::TaskStore { .. } => return Ok(()),
            ArtifactSource::Upload { .. } | ArtifactSource::Templates { .. } => return Ok(()),
        },
    };
    lock(&ctx.shared).values.artifacts.insert(aid, Ok(data));
    Ok(())
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
    let files = crate::executor::tar::read(&tar).map_err(|e| anyhow!(e))?;
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
pub(super) fn artifact_files(
    ctx: &Ctx,
    values: &Values,
    aid: ArtifactId,
) -> Result<Arc<Vec<FileEntry>>> {
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
