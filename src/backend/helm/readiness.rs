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
//! accepts a TCP connection on its first TCP port (`nc -z`), i.e. until a ready pod
//! backs it. An `exec` on a service becomes its container's `postStart` handler
//! (which first waits for the service's checks). One-shot tasks are in
//! [`super::jobs`].

use super::tree::{Map, Node, Piece};
use super::{Ctx, WORDS};
use crate::backend::lower::probe::{docker_healthcheck, shell_check, Check, Expect, Probe};
use crate::backend::lower::script::{self, hook_command};
use crate::backend::lower::store::{Word, Writes};
use crate::backend::lower::NodeId;
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
    for (who, targets) in &model.edges {
        let NodeId::Service(id) = who else { continue };
        let mut init = Vec::new();
        for on in targets.keys() {
            let NodeId::Service(dep) = on else { continue };
            let w = cx.plan.service(*id);
            let who = format!("service '{}'", w.name);
            if let Some(c) = wait_container(cx, &who, &w.at, *dep) {
                init.push(c);
            }
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
    if s.hooks.is_empty() {
        return None;
    }
    let ready = cx
        .health
        .get(&s.id)
        .and_then(|h| script::ready_wait(&h.test, h.interval, h.retries));
    let mut commands = Vec::new();
    for (i, e) in s.hooks.iter().enumerate() {
        let words: Vec<Word> = e
            .argv
            .iter()
            .map(|t| Word::lit(t.render_static(|id, _| cx.marker(id)).unwrap_or_default()))
            .collect();
        let wait = if i == 0 { ready.clone() } else { None };
        commands.push(hook_command(
            words,
            &e.codes,
            &e.verify,
            wait,
            &Writes::default(),
        ));
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
    let script = vec![
        Piece::Lit("until nc -z -w 2 ".into()),
        Piece::Action(host),
        Piece::Lit(format!(
            " {port}; do echo waiting for {comp}; sleep 1; done"
        )),
    ];
    Some(
        Map::new()
            .put(
                "name",
                Node::str(format!("wait-{comp}").chars().take(63).collect::<String>()),
            )
            .put("image", Node::expr("{{ .Values.tools.image | toJson }}"))
            .put(
                "command",
                Node::Seq(vec![
                    Node::str("/bin/sh"),
                    Node::str("-c"),
                    Node::text(script),
                ]),
            )
            .node(),
    )
}
