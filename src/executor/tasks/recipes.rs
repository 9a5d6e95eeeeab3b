//! Recipes and readiness probes run against a service: once (an exec in its
//! container, or an HTTP request from this host to its address, with the jq
//! extracts Kurtosis computes), or polled until `field assertion target` holds
//! (`wait`, ready conditions).

use super::assertions::{assert_holds, field, json_text};
use super::Target;
use crate::backend::lower::probe::{Check, Expect, Probe};
use crate::backend::lower::Model;
use crate::executor::desired::{TaskResult, Values};
use crate::executor::engine::Engine;
use crate::executor::{extract, http};
use crate::ir::{Assertion, HttpMethod, Plan, Recipe, ServiceId, TaskField};
use anyhow::{anyhow, bail, Result};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A recipe ready to run against a service: its argv, or its HTTP request, with the
/// jq extracts to compute from the result.
enum Call<'a> {
    Exec(Vec<String>),
    Http {
        port: u16,
        method: HttpMethod,
        endpoint: &'a str,
        headers: &'a BTreeMap<String, String>,
        content_type: Option<&'a str>,
        body: Option<String>,
    },
}

/// The result of one run of a call; extracts as Kurtosis computes them (an exec's
/// output as one JSON string, an HTTP body parsed as JSON).
fn call_once(
    engine: &Engine,
    target: &Target,
    call: &Call,
    extracts: &[(&String, &String)],
) -> Result<TaskResult> {
    let mut res = match call {
        Call::Exec(cmd) => {
            let out = engine.exec(&target.container, cmd, &[], Some(Duration::from_secs(300)))?;
            TaskResult {
                code: out.code,
                output: out.output,
                ..Default::default()
            }
        }
        Call::Http {
            port,
            method,
            endpoint,
            headers,
            content_type,
            body,
        } => {
            let headers: Vec<(String, String)> = headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let ct = content_type.unwrap_or("application/json");
            let resp = http::request(
                &target.ip,
                *port,
                *method,
                endpoint,
                &headers,
                body.as_deref().map(|b| (ct, b)),
                Duration::from_secs(30),
            )
            .map_err(|e| anyhow!(e))?;
            TaskResult {
                code: resp.code,
                output: resp.body.clone(),
                body: resp.body,
                ..Default::default()
            }
        }
    };
    for (k, filter) in extracts {
        let input = match call {
            Call::Exec(_) => extract::Input::Text(&res.output),
            Call::Http { .. } => extract::Input::Json(&res.body),
        };
        let v = extract::extract(input, filter).map_err(|e| anyhow!(e))?;
        res.extract.insert((*k).clone(), v);
    }
    Ok(res)
}

/// The result of one recipe run.
pub(super) fn recipe_once(
    engine: &Engine,
    plan: &Plan,
    sid: Option<ServiceId>,
    target: &Target,
    recipe: &Recipe,
    values: &Values,
) -> Result<TaskResult> {
    match recipe {
        Recipe::Exec(e) => {
            let cmd: Vec<String> = e
                .command
                .iter()
                .map(|c| values.resolve(plan, c).map_err(|w| anyhow!(w)))
                .collect::<Result<_>>()?;
            let extracts: Vec<_> = e.extract.iter().collect();
            call_once(engine, target, &Call::Exec(cmd), &extracts)
        }
        Recipe::Http(h) => {
            let port = sid
                .and_then(|s| plan.service(s).config.ports.get(&h.port_id))
                .map(|p| p.number)
                .ok_or_else(|| anyhow!("service has no port '{}'", h.port_id))?;
            let body = match &h.body {
                Some(b) => Some(values.resolve(plan, b).map_err(|w| anyhow!(w))?),
                None => None,
            };
            let call = Call::Http {
                port,
                method: h.method,
                endpoint: &h.endpoint,
                headers: &h.headers,
                content_type: h.content_type.as_deref(),
                body,
            };
            let extracts: Vec<_> = h.extract.iter().collect();
            call_once(engine, target, &call, &extracts)
        }
    }
}

/// One run of a readiness probe of the shared model (an exec or HTTP check; ports are
/// waited for by connecting), with the field it compares: its name and assertion.
fn probe_once(
    engine: &Engine,
    plan: &Plan,
    model: &Model,
    target: &Target,
    probe: &Probe,
    values: &Values,
) -> Result<TaskResult> {
    let text = |t| values.resolve_text(plan, model, t).map_err(|w| anyhow!(w));
    let (call, expect) = match probe {
        Probe::Exec { argv, expect } => (
            Call::Exec(argv.iter().map(text).collect::<Result<_>>()?),
            expect,
        ),
        Probe::Http { call, expect } => (
            Call::Http {
                port: call.port,
                method: call.method,
                endpoint: &call.endpoint,
                headers: &call.headers,
                content_type: call.content_type.as_deref(),
                body: call.body.as_ref().map(text).transpose()?,
            },
            expect,
        ),
        Probe::Listening(_) => bail!("internal error: a port check is not a recipe"),
    };
    let extracts: Vec<(&String, &String)> = match expect {
        Expect::Extract { key, filter, .. } => vec![(key, filter)],
        Expect::Code { .. } | Expect::Output { .. } | Expect::Unknown(_) => Vec::new(),
    };
    call_once(engine, target, &call, &extracts)
}

/// The field, assertion and target a probe compares.
fn expected(probe: &Probe) -> Option<(TaskField, Assertion, &crate::ir::Data)> {
    let (expect, http) = match probe {
        Probe::Exec { expect, .. } => (expect, false),
        Probe::Http { expect, .. } => (expect, true),
        Probe::Listening(_) => return None,
    };
    let (assertion, target) = match expect {
        Expect::Code { assertion, target }
        | Expect::Output { assertion, target }
        | Expect::Extract {
            assertion, target, ..
        } => (*assertion, target),
        Expect::Unknown(_) => (Assertion::Eq, &crate::ir::Data::Null),
    };
    Some((expect.field(http), assertion, target))
}

/// Polls a ready condition of the shared model until it holds or its time is up.
pub fn wait_probe(
    engine: &Engine,
    plan: &Plan,
    model: &Model,
    target: &Target,
    check: &Check,
    values: &Values,
) -> Result<TaskResult> {
    let (compared, assertion, target_value) =
        expected(&check.probe).ok_or_else(|| anyhow!("internal error: not a recipe check"))?;
    let tv = values
        .resolve_json(plan, target_value)
        .map_err(|w| anyhow!(w))?;
    poll(
        || probe_once(engine, plan, model, target, &check.probe, values),
        &compared,
        assertion,
        &tv,
        check.interval.as_std(),
        check.total.as_std(),
    )
}

/// Retries `recipe` until `field assertion target` holds or `timeout` passes.
#[allow(
    clippy::too_many_arguments,
    reason = "a wait's fields (Kurtosis's wait signature) with the engine and plan"
)]
pub fn wait_for(
    engine: &Engine,
    plan: &Plan,
    sid: Option<ServiceId>,
    target: &Target,
    recipe: &Recipe,
    field: &TaskField,
    assertion: Assertion,
    target_value: &serde_json::Value,
    interval: Duration,
    timeout: Duration,
    values: &Values,
) -> Result<TaskResult> {
    poll(
        || recipe_once(engine, plan, sid, target, recipe, values),
        field,
        assertion,
        target_value,
        interval,
        timeout,
    )
}

/// Runs `once` until `field assertion target` holds on its result or `timeout`
/// passes, `interval` apart (at least 100 ms, at most 5 s).
fn poll(
    mut once: impl FnMut() -> Result<TaskResult>,
    compared: &TaskField,
    assertion: Assertion,
    target_value: &serde_json::Value,
    interval: Duration,
    timeout: Duration,
) -> Result<TaskResult> {
    let start = Instant::now();
    let mut last;
    loop {
        match once() {
            Ok(res) => match field(&res, compared) {
                Some(v) if assert_holds(&v, assertion, target_value) => return Ok(res),
                Some(v) => {
                    last = format!(
                        "{} was {v:?}, wanted {} {}",
                        compared.name(),
                        assertion.as_str(),
                        json_text(target_value)
                    );
                }
                None => last = format!("the result has no field '{}'", compared.name()),
            },
            Err(e) => last = e.to_string(),
        }
        if start.elapsed() >= timeout {
            bail!("gave up after {timeout:?}: {last}");
        }
        std::thread::sleep(
            interval
                .min(Duration::from_secs(5))
                .max(Duration::from_millis(100)),
        );
    }
}
