//! Readiness and start order. A service's typed checks (its TCP ports with `wait`,
//! its `ready_conditions`, every `plan.wait` on it) become one `readinessProbe`:
//! `tcpSocket` for a single port, `httpGet` for a single GET whose code must be 200
//! (Kubernetes counts 200-399 as ready), else `exec` of the shared POSIX-sh checks
//! ([`crate::backend::lower::probe`], joined with `&&`). The Service then routes only
//! to a ready pod, so "ready" is visible from other pods.
//!
//! Start order: Kubernetes starts every pod at once, and Helm never orders them;
//! a service that the plan starts after others gets one init container per service
//! it depends on, in the tools image, that waits until that service's Service
//! accepts a TCP connection on its first TCP port (`nc`), i.e. until a ready pod
//! backs it. An `exec` on a service becomes its container's `postStart` handler
//! (which first waits for the service's checks). One-shot tasks are in
//! [`super::jobs`].

use super::store::{
    awaited_jobs, copies_of, copy_command, prepare_container, tools_container, wait_job_container,
    STORE_VOLUME,
};
use super::tree::{Map, Node, Piece};
use super::{Ctx, WORDS};
use crate::backend::lower::probe::{docker_healthcheck, shell_check, Check, Expect, Probe};
use crate::backend::lower::script::{self, hook_command};
use crate::backend::lower::store::{Word, Writes, VALUES_DIR};
use crate::backend::lower::{Access, NodeId};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Assertion, HttpMethod, ServiceId, Span, Transport};

/// Builds the readiness probe of every final service with checks, and the wait
/// init containers of every service that depends on another.
pub fn collect(cx: &mut Ctx) {
    let model = cx.model;
    for s in model.services.values() {
        if let Some(p) = probe(cx, s.id, &s.readiness.checks) {
            cx.probes.insert(s.id, p);
        }
        if let Some(h) = post_start(cx, s) {
            cx.post_start.insert(s.id, h);
        }
    }
    for id in model.services.keys() {
        let node = NodeId::Service(*id);
        let mut init = Vec::new();
        // A service whose execs publish results, or that copies files out of
        // itself, writes into the value store (and the copies' claims).
        let copies = copies_of(cx, *id);
        if model.store_access(node) == Some(Access::Write) || !copies.is_empty() {
            let mut writes = vec![(STORE_VOLUME.to_owned(), VALUES_DIR.to_owned())];
            writes.extend(copies.iter().map(|c| (c.volume.clone(), c.dir.clone())));
            init.push(prepare_container(cx, &writes));
        }
        let deps: Vec<ServiceId> = model
            .edges
            .get(&node)
            .map(|on| {
                on.keys()
                    .filter_map(|n| match n {
                        NodeId::Service(s) => Some(*s),
                        NodeId::Job(_) => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        for dep in deps {
            let w = cx.plan.service(*id);
            let who = format!("service '{}'", w.name);
            if let Some(c) = wait_container(cx, &who, &w.at, dep) {
                init.push(c);
            }
        }
        for j in awaited_jobs(cx, node) {
            init.push(wait_job_container(cx, j));
        }
        if !init.is_empty() {
            cx.uses_tools = true;
            cx.init_containers.insert(*id, init);
        }
    }
}

/// Seconds, at least 1.
fn secs(nanos: u64) -> i64 {
    i64::try_from(nanos.div_ceil(1_000_000_000).max(1)).unwrap_or(i64::MAX)
}

fn probe(cx: &mut Ctx, id: ServiceId, checks: &[Check]) -> Option<Node> {
    let first = checks.first()?;
    let native = match (checks, &first.probe) {
        ([_], Probe::Listening(ports)) if ports.len() == 1 => Some(
            Map::new()
                .put(
                    "tcpSocket",
                    Map::new()
                        .put("port", Node::Int(i64::from(ports[0].0)))
                        .node(),
                )
                .node(),
        ),
        ([_], Probe::Http { call, expect }) if http_native(call, expect) => {
            let mut get = Map::new()
                .put("path", Node::str(&call.endpoint))
                .put("port", Node::Int(i64::from(call.port)));
            if !call.headers.is_empty() {
                let h = call
                    .headers
                    .iter()
                    .map(|(k, v)| {
                        Map::new()
                            .put("name", Node::str(k))
                            .put("value", Node::str(v))
                            .node()
                    })
                    .collect();
                get.set("httpHeaders", Node::Seq(h));
            }
            Some(Map::new().put("httpGet", get.node()).node())
        }
        _ => None,
    };
    let mut list = Vec::new();
    let mut diags = Vec::new();
    for c in checks {
        let name = |id: ServiceId, _f| cx.marker(id);
        list.push(shell_check(c, &WORDS, &name, &mut diags));
    }
    let h = docker_healthcheck(&list)?;
    cx.health.insert(id, h.clone());
    let mut out = match native {
        Some(Node::Map(entries)) => Map(entries),
        Some(_) | None => {
            cx.diags.extend(diags);
            let argv: Vec<String> = match h.test.split_first() {
                Some((kind, rest)) if kind == "CMD" => rest.to_vec(),
                Some((_, rest)) => {
                    let mut a = vec!["/bin/sh".to_owned(), "-c".to_owned()];
                    a.extend(rest.iter().cloned());
                    a
                }
                None => Vec::new(),
            };
            Map::new().put("exec", exec(cx, &argv))
        }
    };
    out.set("periodSeconds", Node::Int(secs(h.interval.0)));
    out.set("timeoutSeconds", Node::Int(secs(h.timeout.0)));
    Some(out.node())
}

/// An `exec:` handler (probe or lifecycle hook) running `argv`: service markers
/// become name actions, and `$` is doubled, as the kubelet expands `$(VAR)` and
/// reduces `$$` in these commands too.
fn exec(cx: &Ctx, argv: &[String]) -> Node {
    Map::new().put("command", exec_argv(cx, argv)).node()
}

/// The words of a command the kubelet expands (see [`exec`]) as a sequence.
pub fn exec_argv(cx: &Ctx, argv: &[String]) -> Node {
    let command = argv
        .iter()
        .map(|s| {
            Node::text(
                cx.unmark(s)
                    .into_iter()
                    .map(|p| match p {
                        Piece::Lit(l) => Piece::Lit(l.replace('$', "$$")),
                        a @ Piece::Action(_) => a,
                    })
                    .collect(),
            )
        })
        .collect();
    Node::Seq(command)
}

/// The `exec`s on a service as its container's `postStart` handler: like Compose's
/// `post_start` hook, it first polls the service's readiness checks (Kurtosis runs
/// an exec once the service is ready), then runs each exec in plan order, checking
/// its codes and folded `verify`s ([`hook_command`], shared with Compose).
fn post_start(cx: &mut Ctx, s: &crate::backend::lower::ServiceModel) -> Option<Node> {
    let copies = copies_of(cx, s.id);
    if s.hooks.is_empty() && copies.is_empty() {
        return None;
    }
    let ready = cx
        .health
        .get(&s.id)
        .and_then(|h| script::ready_wait(&h.test, h.interval, h.retries));
    let mut commands = Vec::new();
    for (i, e) in s.hooks.iter().enumerate() {
        let words: Vec<Word> = e.argv.iter().map(|t| cx.word(t)).collect();
        let wait = if i == 0 { ready.clone() } else { None };
        commands.push(hook_command(
            words,
            &e.codes,
            &e.verify,
            wait,
            &Writes::under(&e.results, VALUES_DIR),
        ));
    }
    // `store_service_files` after the execs: the files they wrote are there.
    for c in &copies {
        let wait = if commands.is_empty() {
            ready.clone()
        } else {
            None
        };
        commands.push(copy_command(cx, c, wait));
    }
    let argv = match commands.as_slice() {
        [one] => one.clone(),
        many => {
            let script = many
                .iter()
                .map(|c| format!("{{ {}; }}", script::join(c)))
                .collect::<Vec<_>>()
                .join(" && ");
            vec!["/bin/sh".to_owned(), "-c".to_owned(), script]
        }
    };
    Some(
        Map::new()
            .put("postStart", Map::new().put("exec", exec(cx, &argv)).node())
            .node(),
    )
}

/// Whether an HTTP check is a plain GET whose status must be 200.
fn http_native(call: &crate::backend::lower::program::HttpCall, expect: &Expect) -> bool {
    let Expect::Code { assertion, target } = expect else {
        return false;
    };
    call.method == HttpMethod::Get
        && call.body.is_none()
        && *assertion == Assertion::Eq
        && script::data_text(target).as_deref() == Some("200")
}

/// The init container of `who` (a service or task, for messages, added at `at`)
/// that waits for service `dep`.
pub fn wait_container(cx: &mut Ctx, who: &str, at: &Span, dep: ServiceId) -> Option<Node> {
    let c = &cx.plan.service(dep).config;
    let port = c
        .ports
        .values()
        .find(|p| p.transport_protocol == Transport::Tcp)
        .map(|p| p.number);
    let Some(port) = port else {
        if !cx.model.services[&dep].readiness.checks.is_empty() {
            let d = cx.plan.service(dep);
            cx.diags.push(
                Diagnostic::warning(
                    Code::KP311,
                    format!(
                        "{who} starts after service '{}' is ready, but '{}' has no TCP port another pod could check; in the chart both start at once",
                        d.name, d.name
                    ),
                    Some(at.clone()),
                )
                .with_related(d.at.clone(), "the service it waits for")
                .with_hint("give the service a TCP port, or make the program retry until it is ready"),
            );
        }
        return None;
    };
    let comp = cx.name(NodeId::Service(dep)).to_owned();
    let host = cx.object_name(&comp);
    // Not `nc -z`: Debian's busybox nc has no `-z`; a connect with stdin closed
    // works with busybox's small and full nc alike (exit 0 once connected).
    let script = vec![
        Piece::Lit("until nc -w 2 ".into()),
        Piece::Action(host),
        Piece::Lit(format!(
            " {port} </dev/null >/dev/null 2>&1; do echo waiting for {comp}; sleep 1; done"
        )),
    ];
    Some(tools_container(
        cx,
        &format!("wait-{comp}"),
        Node::text(script),
        Vec::new(),
    ))
}
