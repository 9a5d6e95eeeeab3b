//! The Docker engine, and the only code that imports bollard: every `use bollard`
//! of kplan is in this folder, and no bollard type leaves it.
//!
//! A small, typed, blocking API over bollard's async client. [`Engine`] owns a tokio
//! runtime and blocks on it, so callers (possibly on several threads at once) stay
//! synchronous; the types it takes and gives are plain data. One file per kind of
//! engine object: `connect` (reaching the engine), `images`, `networks`, `volumes`,
//! `containers` (create/start/stop/remove/update/inspect/list by label), `exec`
//! (commands with output, archives in and out). Here: the handle, and how engine
//! errors are read.

mod connect;
mod containers;
mod exec;
mod images;
mod networks;
mod volumes;

pub use containers::{ContainerInfo, ContainerSpec, NameInUse};
pub use exec::ExecOutput;
pub use networks::{NetworkInfo, NetworkIpam};
pub use volumes::VolumeInfo;

use bollard::Docker;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// A connected engine.
/// Cloning is cheap and shares the connection and runtime (for a signal handler that
/// must release a lock while the main thread is busy).
#[derive(Clone)]
pub struct Engine {
    docker: Docker,
    rt: Arc<tokio::runtime::Runtime>,
}

/// An engine error as text: the server's own message, else the error and its causes.
#[expect(
    clippy::wildcard_enum_match_arm,
    reason = "bollard's error has some thirty variants; only the server's message is unwrapped"
)]
fn err_text(e: bollard::errors::Error) -> String {
    match e {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message,
        other => error_chain(&other),
    }
}

/// An error with every cause under it (`a: b: c`), skipping causes whose text the
/// level above already shows: transport errors keep the useful part ("Connection
/// refused") in their sources, not in their own text.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let t = c.to_string();
        if !t.is_empty() && !text.contains(&t) {
            if text.is_empty() {
                text = t;
            } else {
                text = format!("{text}: {t}");
            }
        }
        cause = c.source();
    }
    if text.is_empty() {
        "no reason given".into()
    } else {
        text
    }
}

fn is_not_found(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// A label filter: `(key, value)` pairs, where an empty value matches any value.
fn label_filter(labels: &[(&str, &str)]) -> HashMap<String, Vec<String>> {
    let mut f = HashMap::new();
    f.insert(
        "label".to_string(),
        labels
            .iter()
            .map(|(k, v)| {
                if v.is_empty() {
                    k.to_string()
                } else {
                    format!("{k}={v}")
                }
            })
            .collect::<Vec<_>>(),
    );
    f
}

fn to_btree(m: Option<HashMap<String, String>>) -> BTreeMap<String, String> {
    m.unwrap_or_default().into_iter().collect()
}

impl Engine {
    fn block<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }
}
