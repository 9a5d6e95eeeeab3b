//! `run_sh`/`run_python` as one-shot containers on the enclave network: the shared
//! program's files uploaded, its setup and command run by exec, its `store` paths
//! copied out; and uploading files into a container (services use it too).

use super::{check_code, TaskEnv};
use crate::backend::lower::program::Program;
use crate::executor::desired::{artifact_from_files, FileEntry, TaskResult};
use crate::executor::engine::{ContainerSpec, Engine};
use crate::executor::{network_name, LABEL_ENCLAVE, LABEL_KIND};
use crate::ir::TaskId;
use anyhow::{anyhow, Result};
use std::collections::BTreeMap;

/// A container that idles on the enclave network while the program runs in it by
/// exec: the setup (`pip install`) first, whose output is not part of the result,
/// then the command; the `store` paths are copied out afterwards.
pub(super) fn one_shot(
    env: &TaskEnv,
    tid: TaskId,
    program: &Program,
    argv: Vec<String>,
    envs: Vec<String>,
) -> Result<(TaskResult, BTreeMap<String, Vec<FileEntry>>)> {
    let mut labels = BTreeMap::new();
    labels.insert(LABEL_ENCLAVE.to_string(), env.enclave.to_string());
    labels.insert(LABEL_KIND.to_string(), "task".to_string());
    let cname = format!("{}--task-{}-{}", env.enclave, tid.0, std::process::id());
    let spec = ContainerSpec {
        name: cname.clone(),
        image: program.image.reference().to_string(),
        entrypoint: Some(vec![
            "sh".into(),
            "-c".into(),
            "trap 'exit 0' TERM; while true; do sleep 1; done".into(),
        ]),
        cmd: None,
        env: envs.clone(),
        labels,
        network: network_name(env.enclave),
        privileged: program.privileged,
        pid_host: program.host_pid,
        binds: program
            .binds
            .iter()
            .map(|(h, c)| format!("{h}:{c}"))
            .collect(),
        ..Default::default()
    };
    if let Some(old) = env.engine.container_by_name(&cname)? {
        env.engine.container_remove(&old.id)?;
    }
    let id = env.engine.container_create(&spec)?;
    let wait = program.timeout.map(|w| w.as_std());
    let stored: Vec<String> = env
        .info
        .task_artifacts(tid)
        .iter()
        .map(|a| env.plan.artifact(*a).name.clone())
        .collect();
    let result = (|| {
        for (dir, art) in &program.files {
            let fs = (env.files)(*art)?;
            upload(env.engine, &id, dir, &fs)?;
        }
        env.engine.container_start(&id)?;
        if let Some(setup) = &program.setup {
            let out = env.engine.exec(&id, setup, &envs, wait)?;
            check_code(out.code, &[0], false, &setup.join(" "), &out.output)?;
        }
        let out = env.engine.exec(&id, &argv, &envs, wait)?;
        check_code(
            out.code,
            &program.codes.acceptable,
            program.codes.skip,
            &program.name,
            &out.output,
        )?;
        let mut stored_digests = BTreeMap::new();
        let mut contents = BTreeMap::new();
        for (src, name) in program.store.iter().zip(&stored) {
            let tar = env.engine.get_archive(&id, src)?;
            let files =
                crate::executor::tar::read(&tar).map_err(|e| anyhow!("store {src}: {e}"))?;
            let data = artifact_from_files(files.clone());
            stored_digests.insert(name.clone(), data.digest);
            contents.insert(name.clone(), files);
        }
        Ok((
            TaskResult {
                code: out.code,
                output: out.output,
                stored: stored_digests,
                ..Default::default()
            },
            contents,
        ))
    })();
    let _ = env.engine.container_remove(&id);
    result
}

/// Uploads files so that they appear under `dir` (created if missing), before start.
pub fn upload(engine: &Engine, container: &str, dir: &str, files: &[FileEntry]) -> Result<()> {
    let prefix = dir.trim_matches('/');
    let rooted: Vec<FileEntry> = files
        .iter()
        .map(|f| FileEntry {
            path: if prefix.is_empty() {
                f.path.clone()
            } else {
                format!("{prefix}/{}", f.path.trim_start_matches('/'))
            },
            mode: f.mode,
            content: f.content.clone(),
        })
        .collect();
    let tar = crate::executor::tar::write(&rooted).map_err(|e| anyhow!(e))?;
    engine.put_archive(container, "/", tar)
}
