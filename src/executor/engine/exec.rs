//! Inside a running container: running a command and collecting its output and exit
//! code ([`ExecOutput`]), and copying tar archives in and out.

use super::{err_text, Engine};
use anyhow::{anyhow, Result};
use bollard::models::ExecConfig;
use bollard::query_parameters::{DownloadFromContainerOptions, UploadToContainerOptions};
use futures_util::StreamExt;
use std::time::Duration;

/// What an exec produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    pub code: i64,
    /// stdout and stderr, interleaved as the engine sent them.
    pub output: String,
}

impl Engine {
    /// Runs `cmd` in a running container and collects its output and exit code;
    /// gives up after `timeout`.
    pub fn exec(
        &self,
        id: &str,
        cmd: &[String],
        env: &[String],
        timeout: Option<Duration>,
    ) -> Result<ExecOutput> {
        let config = ExecConfig {
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            cmd: Some(cmd.to_vec()),
            env: (!env.is_empty()).then(|| env.to_vec()),
            ..Default::default()
        };
        let fut = async {
            let created = self
                .docker
                .create_exec(id, config)
                .await
                .map_err(|e| anyhow!("cannot exec in container {id}: {}", err_text(e)))?;
            let mut output = Vec::new();
            match self
                .docker
                .start_exec(&created.id, None)
                .await
                .map_err(|e| anyhow!("cannot exec in container {id}: {}", err_text(e)))?
            {
                bollard::exec::StartExecResults::Attached { output: mut s, .. } => {
                    while let Some(item) = s.next().await {
                        let item = item.map_err(|e| {
                            anyhow!("exec in container {id} failed: {}", err_text(e))
                        })?;
                        output.extend_from_slice(&item.into_bytes());
                    }
                }
                bollard::exec::StartExecResults::Detached => {}
            }
            let inspect = self
                .docker
                .inspect_exec(&created.id)
                .await
                .map_err(|e| anyhow!("cannot inspect exec in {id}: {}", err_text(e)))?;
            Ok(ExecOutput {
                code: inspect.exit_code.unwrap_or(-1),
                output: String::from_utf8_lossy(&output).into_owned(),
            })
        };
        match timeout {
            Some(t) => self
                .block(async { tokio::time::timeout(t, fut).await })
                .map_err(|_| anyhow!("command {cmd:?} did not finish within {t:?}"))?,
            None => self.block(fut),
        }
    }

    /// Extracts a tar archive into `path` of the container (which need not run).
    pub fn put_archive(&self, id: &str, path: &str, tar: Vec<u8>) -> Result<()> {
        let opts = UploadToContainerOptions {
            path: path.to_string(),
            ..Default::default()
        };
        self.block(
            self.docker
                .upload_to_container(id, Some(opts), bollard::body_full(tar.into())),
        )
        .map_err(|e| {
            anyhow!(
                "cannot copy files to {path} in container {id}: {}",
                err_text(e)
            )
        })
    }

    /// A tar archive of `path` in the container.
    pub fn get_archive(&self, id: &str, path: &str) -> Result<Vec<u8>> {
        let opts = DownloadFromContainerOptions {
            path: path.to_string(),
        };
        self.block(async {
            let mut s = self.docker.download_from_container(id, Some(opts));
            let mut out = Vec::new();
            while let Some(chunk) = s.next().await {
                let chunk = chunk.map_err(|e| {
                    anyhow!("cannot copy {path} out of container {id}: {}", err_text(e))
                })?;
                out.extend_from_slice(&chunk);
            }
            Ok(out)
        })
    }
}
