//! Connecting to the engine: where it is (`DOCKER_HOST`), whether a TCP engine can be
//! reached at all, and the version negotiation and ping, each bounded in time so an
//! engine that does not answer is named instead of waited for.

use super::{err_text, Engine};
use anyhow::{anyhow, Context, Result};
use bollard::Docker;
use std::sync::Arc;
use std::time::Duration;

/// Where the engine is: `DOCKER_HOST`, else the default socket (as bollard reads it).
fn engine_address() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unix:///var/run/docker.sock".into())
}

/// How long connecting to a TCP engine may take before it counts as unreachable.
const TCP_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a reachable engine may take to answer the version negotiation.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(20);

const CONNECT_HINT: &str = "is the Docker engine running? check `docker info` and DOCKER_HOST";

/// Runs `f` on `rt`; `None` when it takes longer than [`ANSWER_TIMEOUT`].
fn within<T>(rt: &tokio::runtime::Runtime, f: impl std::future::Future<Output = T>) -> Option<T> {
    rt.block_on(async { tokio::time::timeout(ANSWER_TIMEOUT, f).await.ok() })
}

/// The engine's answer to one of the first requests (`what`), or why there is none.
fn answered<T>(
    address: &str,
    what: &str,
    reply: Option<Result<T, bollard::errors::Error>>,
) -> Result<T> {
    match reply {
        None => Err(anyhow!(
            "the Docker engine at {address} accepted the connection but did not answer {what} within {}s; {CONNECT_HINT}",
            ANSWER_TIMEOUT.as_secs()
        )),
        Some(Err(e)) => Err(anyhow!(
            "cannot reach the Docker engine at {address}: {}; {CONNECT_HINT}",
            err_text(e)
        )),
        Some(Ok(v)) => Ok(v),
    }
}

/// For a `tcp://`/`http://` engine: whether a TCP connection can be made at all, and if
/// not why (refused, timed out, unresolvable), so the error says what failed rather
/// than what the HTTP client made of it.
fn probe_tcp(address: &str) -> Result<(), String> {
    use std::net::{TcpStream, ToSocketAddrs};
    let Some(rest) = address
        .strip_prefix("tcp://")
        .or_else(|| address.strip_prefix("http://"))
    else {
        return Ok(());
    };
    let authority = rest.split('/').next().unwrap_or(rest);
    let hostport = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_string()
    } else {
        format!("{authority}:2375")
    };
    let addrs: Vec<std::net::SocketAddr> = hostport
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {hostport}: {e}"))?
        .collect();
    let mut last = format!("{hostport} has no address");
    for a in addrs {
        match TcpStream::connect_timeout(&a, TCP_CONNECT_TIMEOUT) {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                last = format!("connection to {a} refused (nothing listens there)");
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                last = format!(
                    "connecting to {a} timed out after {}s (no answer: a wrong address, or a firewall?)",
                    TCP_CONNECT_TIMEOUT.as_secs()
                );
            }
            Err(e) => last = format!("cannot connect to {a}: {e}"),
        }
    }
    Err(last)
}

impl Engine {
    /// Connects (honouring `DOCKER_HOST`), negotiates the API version and pings. The
    /// error names the address and what failed (refused, timed out, no answer).
    pub fn connect() -> Result<Engine> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let address = engine_address();
        let hint = CONNECT_HINT;
        let docker = Docker::connect_with_defaults().map_err(|e| {
            anyhow!(
                "cannot connect to the Docker engine at {address}: {}; {hint}",
                err_text(e)
            )
        })?;
        probe_tcp(&address)
            .map_err(|why| anyhow!("cannot reach the Docker engine at {address}: {why}; {hint}"))?;
        let docker = answered(
            &address,
            "the API version request",
            within(&rt, docker.negotiate_version()),
        )?;
        answered(&address, "a ping", within(&rt, docker.ping()))?;
        Ok(Engine {
            docker,
            rt: Arc::new(rt),
        })
    }
}
