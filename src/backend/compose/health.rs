//! Readiness in Compose: a service's ports with `wait`, its `ready_conditions` and
//! every `plan.wait` on it become one `healthcheck`; services and tasks that come
//! after it then wait for `service_healthy`.
//!
//! Assumptions (documented in targets/compose/README.md): checks run inside the
//! service's container, so `CMD-SHELL` checks need `/bin/sh` in the image; a port
//! check reads `/proc/net/tcp{,6}` with `grep` (no network tool needed); HTTP checks
//! use `wget` (busybox's or GNU's): `-S` prints the response headers, `sed` and `tail`
//! take the last status code, which is compared exactly.

use super::model::Healthcheck;
use super::{shell, Ctx};
use crate::diagnostic::Diagnostic;
use crate::ir::{
    Assertion, Data, GoDuration, HttpMethod, HttpRecipe, Recipe, Service, ServiceId, Span,
    TaskKind, Transport,
};
use std::collections::BTreeMap;

/// One condition of a healthcheck.
struct Check {
    /// The check as a shell condition.
    shell: String,
    /// The same check as an argv, when it needs no shell.
    argv: Option<Vec<String>>,
    interval: GoDuration,
    /// How long readiness may take in total.
    total: GoDuration,
}

/// Builds the healthcheck of every final service from its ports, ready condition and
/// the `wait`s on it, in that order.
pub fn collect(cx: &mut Ctx) {
    let mut checks: BTreeMap<ServiceId, Vec<Check>> = BTreeMap::new();
    let ids: Vec<ServiceId> = cx.svc_names.keys().copied().collect();
    for id in &ids {
        let svc = cx.plan.service(*id);
        let mut list = Vec::new();
        let mut tcp: Vec<(u16, GoDuration)> = Vec::new();
        for p in svc.config.ports.values() {
            match (p.transport_protocol, p.wait) {
                (Transport::Tcp, Some(w)) if w.0 > 0 => tcp.push((p.number, w)),
                (Transport::Tcp | Transport::Udp | Transport::Sctp, _) => {}
            }
        }
        if !tcp.is_empty() {
            let total = GoDuration(tcp.iter().map(|(_, w)| w.0).max().unwrap_or(0));
            let cond = tcp
                .iter()
                .map(|(n, _)| {
                    format!(
                        "grep -sqE ':{n:04X} [0-9A-F]+:[0-9A-F]+ 0A' /proc/net/tcp /proc/net/tcp6"
                    )
                })
                .collect::<Vec<_>>()
                .join(" && ");
            list.push(Check {
                shell: cond,
                argv: None,
                interval: GoDuration::from_secs(1),
                total,
            });
        }
        if let Some(rc) = &svc.config.ready_conditions {
            if let Some(c) = recipe_check(
                cx,
                svc,
                &rc.recipe,
                &rc.field,
                rc.assertion,
                &rc.target_value,
                &rc.at,
                "the ready condition",
            ) {
                list.push(Check {
                    interval: rc.interval,
                    total: rc.timeout,
                    ..c
                });
            }
        }
        checks.insert(*id, list);
    }
    for t in cx.plan.task_ids() {
        let task = cx.plan.task(t);
        let TaskKind::Wait {
            service_name,
            recipe,
            field,
            assertion,
            target_value,
            interval,
            timeout,
        } = &task.kind
        else {
            continue;
        };
        let Some(&id) = cx.info.final_service(service_name).as_ref() else {
            cx.diags.push(Diagnostic::error(
                "KP202",
                format!("plan.wait checks service '{service_name}', which the package removes later; a Compose project holds only the services that exist at the end"),
                Some(task.at.clone()),
            ));
            continue;
        };
        let svc = cx.plan.service(id);
        if let Some(c) = recipe_check(
            cx,
            svc,
            recipe,
            field,
            *assertion,
            target_value,
            &task.at,
            "plan.wait",
        ) {
            checks.entry(id).or_default().push(Check {
                interval: *interval,
                total: *timeout,
                ..c
            });
        }
    }
    for (id, list) in checks {
        if list.is_empty() {
            continue;
        }
        let test = match list.as_slice() {
            [Check {
                argv: Some(argv), ..
            }] => {
                let mut t = vec!["CMD".to_owned()];
                t.extend(argv.iter().cloned());
                t
            }
            _ => vec![
                "CMD-SHELL".to_owned(),
                list.iter()
                    .map(|c| c.shell.clone())
                    .collect::<Vec<_>>()
                    .join(" && "),
            ],
        };
        let interval = list
            .iter()
            .map(|c| c.interval.0)
            .filter(|i| *i > 0)
            .min()
            .unwrap_or(1_000_000_000)
            .max(100_000_000);
        let total = list.iter().map(|c| c.total.0).max().unwrap_or(0);
        let retries = total.div_ceil(interval).max(1);
        let per_probe = GoDuration(interval.max(1_000_000_000));
        cx.healthchecks.insert(
            id,
            Healthcheck {
                test,
                interval: GoDuration(interval).to_string(),
                timeout: per_probe.to_string(),
                retries,
            },
        );
    }
}

#[allow(clippy::too_many_arguments)]
fn recipe_check(
    cx: &mut Ctx,
    svc: &Service,
    recipe: &Recipe,
    field: &str,
    assertion: Assertion,
    target: &Data,
    at: &Span,
    what: &str,
) -> Option<Check> {
    let place = format!("{what} of service '{}'", svc.name);
    let approx = |cx: &mut Ctx, why: &str| {
        cx.diags.push(
            Diagnostic::warning(
                "KP211",
                format!("{place} is approximated in Compose: {why}"),
                Some(at.clone()),
            )
            .with_hint(
                "check field \"code\" with == (exec: 0, HTTP: a 2xx code) to lower it exactly",
            ),
        );
    };
    let make = |shell: String, argv: Option<Vec<String>>| Check {
        shell,
        argv,
        interval: GoDuration(0),
        total: GoDuration(0),
    };
    match recipe {
        Recipe::Exec(r) => {
            let argv = cx.texts(&r.command, at, &place)?;
            let line = shell::join(&argv);
            match field {
                "code" => {
                    if assertion == Assertion::Eq
                        && shell::data_text(target).as_deref() == Some("0")
                    {
                        return Some(make(line, Some(argv)));
                    }
                    match shell::test("\"$rc\"", assertion, target) {
                        Some(t) => Some(make(format!("{{ {line}; rc=$?; {t}; }}"), None)),
                        None => {
                            approx(cx, "the comparison cannot be written as a shell test; the command must succeed instead");
                            Some(make(line, Some(argv)))
                        }
                    }
                }
                "output" => match shell::test("\"$out\"", assertion, target) {
                    Some(t) => Some(make(capture(&line, &t), None)),
                    None => {
                        approx(cx, "the comparison cannot be written as a shell test; the command must succeed instead");
                        Some(make(line, Some(argv)))
                    }
                },
                _ => {
                    approx(cx, &format!("field '{field}' (a jq extract) cannot be computed by a healthcheck; the command must succeed instead"));
                    Some(make(line, Some(argv)))
                }
            }
        }
        Recipe::Http(r) => {
            let port = svc.config.ports.get(&r.port_id).map(|p| p.number)?;
            let argv = wget_argv(cx, r, &format!("localhost:{port}"), at, &place)?;
            let line = shell::join(&argv);
            let quiet = |mut a: Vec<String>| {
                // wget -q -O - URL -> wget -q -O /dev/null URL
                if let Some(i) = a.iter().position(|x| x == "-O") {
                    a[i + 1] = "/dev/null".into();
                }
                a
            };
            match field {
                "code" => {
                    // The status of the last response (after redirects, as Go's client),
                    // from the headers `wget -S` prints, compared exactly.
                    match shell::test("\"$code\"", assertion, target) {
                        Some(t) => Some(make(
                            format!(
                                "{{ code=$({}); [ -n \"$code\" ] && {t}; }}",
                                status_code_pipeline(&argv)
                            ),
                            None,
                        )),
                        None => {
                            approx(cx, "the comparison cannot be written as a shell test; the request must answer 2xx instead");
                            let argv = quiet(argv);
                            Some(make(shell::join(&argv), Some(argv)))
                        }
                    }
                }
                "body" => match shell::test("\"$out\"", assertion, target) {
                    Some(t) => Some(make(capture(&line, &t), None)),
                    None => {
                        approx(cx, "the comparison cannot be written as a shell test; the request must answer 2xx instead");
                        let argv = quiet(argv);
                        Some(make(shell::join(&argv), Some(argv)))
                    }
                },
                _ => {
                    approx(cx, &format!("field '{field}' (a jq extract) cannot be computed by a healthcheck; the request must answer 2xx instead"));
                    let argv = quiet(argv);
                    Some(make(shell::join(&argv), Some(argv)))
                }
            }
        }
    }
}

/// `{ out=$(CMD; echo x); out=${out%x}; TEST; }`: the output with its trailing
/// newlines kept (a bare `$(...)` strips them, Kurtosis compares them).
fn capture(line: &str, test: &str) -> String {
    format!("{{ out=$({line}; echo x); out=${{out%x}}; {test}; }}")
}

/// A pipeline printing the status code of the last response of a `wget` argv (as
/// [`wget_argv`] makes it): `wget -S` prints the response headers to stderr.
pub fn status_code_pipeline(argv: &[String]) -> String {
    let mut headers = argv.to_vec();
    if let Some(i) = headers.iter().position(|x| x == "-O") {
        headers[i + 1] = "/dev/null".into();
    }
    headers.insert(1, "-S".into());
    format!(
        "{} 2>&1 | sed -n 's/^ *HTTP\\/[0-9.]* \\([0-9][0-9]*\\).*/\\1/p' | tail -n 1",
        shell::join(&headers)
    )
}

/// `wget` arguments for an HTTP recipe against `host:port`, printing the body.
pub fn wget_argv(
    cx: &mut Ctx,
    r: &HttpRecipe,
    authority: &str,
    at: &Span,
    place: &str,
) -> Option<Vec<String>> {
    let mut argv: Vec<String> = ["wget", "-q", "-O", "-"].map(String::from).to_vec();
    for (k, v) in &r.headers {
        argv.push("--header".into());
        argv.push(format!("{k}: {v}"));
    }
    match r.method {
        HttpMethod::Get => {}
        HttpMethod::Post => {
            if let Some(ct) = &r.content_type {
                argv.push("--header".into());
                argv.push(format!("Content-Type: {ct}"));
            }
            let body = match &r.body {
                Some(b) => cx.text(b, at, place)?,
                None => String::new(),
            };
            argv.push(format!("--post-data={body}"));
        }
    }
    let endpoint = if r.endpoint.starts_with('/') {
        r.endpoint.clone()
    } else {
        format!("/{}", r.endpoint)
    };
    argv.push(format!("http://{authority}{endpoint}"));
    Some(argv)
}
