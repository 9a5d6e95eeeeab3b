//! Readiness as typed probes: a service's declared TCP ports (`wait`), its
//! `ready_conditions` and every `plan.wait` on it, as data each target renders in its
//! own form (a Docker healthcheck, a Kubernetes readinessProbe, ...). The Docker form,
//! a POSIX-sh test run inside the container, is here too ([`shell_check`],
//! [`docker_healthcheck`]), shared by the Docker-based targets.
//!
//! Shell checks assume `/bin/sh` in the image; a port check reads
//! `/proc/net/tcp{,6}` with `grep` (no network tool needed); HTTP checks use `wget`
//! (busybox's or GNU's): `-S` prints the response headers, `sed` and `tail` take the
//! last status code, which is compared exactly.

use super::program::HttpCall;
use super::script;
use super::text::Text;
use super::Vocabulary;
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Assertion, Data, GoDuration, ServiceField, ServiceId, Span, TaskField};

/// What is checked.
#[derive(Debug, Clone)]
pub enum Probe {
    /// These TCP ports accept connections (all of them), each within its own `wait`.
    Listening(Vec<(u16, GoDuration)>),
    /// A command run inside the service's container.
    Exec { argv: Vec<Text>, expect: Expect },
    /// An HTTP request to the service's own port (from inside its container).
    Http { call: HttpCall, expect: Expect },
}

/// Which field of the result is compared, and how.
#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    /// The exit code or HTTP status.
    Code { assertion: Assertion, target: Data },
    /// The command's output or the response body.
    Output { assertion: Assertion, target: Data },
    /// A jq extract of the output/body.
    Extract {
        key: String,
        filter: String,
        assertion: Assertion,
        target: Data,
    },
    /// A field the recipe has no value for (the probe can only check success).
    Unknown(TaskField),
}

impl Expect {
    /// The field of the result compared; `http` says whether the probe is an HTTP
    /// request (whose output is its `body`).
    pub fn field(&self, http: bool) -> TaskField {
        match self {
            Expect::Code { .. } => TaskField::Code,
            Expect::Output { .. } if http => TaskField::Body,
            Expect::Output { .. } => TaskField::Output,
            Expect::Extract { key, .. } => TaskField::Extract(key.clone()),
            Expect::Unknown(field) => field.clone(),
        }
    }
}

/// Where a check comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The service's TCP ports with a `wait`.
    Ports,
    /// Its `ready_conditions`.
    ReadyCondition,
    /// A `plan.wait` on it (a task of its own for a runner that runs tasks).
    Wait(crate::ir::TaskId),
}

/// One probe with its timing: polled every `interval` until it passes, for at most
/// `total`.
#[derive(Debug, Clone)]
pub struct Check {
    pub origin: Origin,
    pub probe: Probe,
    pub interval: GoDuration,
    pub total: GoDuration,
    pub at: Span,
    /// Where it comes from, for messages ("the ready condition of service 'web'").
    pub place: String,
}

/// Everything that must hold before a service counts as ready, in order: its ports,
/// its ready condition, then each `plan.wait` on it.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    pub checks: Vec<Check>,
}

/// A check as a shell condition (and as an argv when it needs no shell).
#[derive(Debug, Clone)]
pub struct ShellCheck {
    pub shell: String,
    pub argv: Option<Vec<String>>,
    pub interval: GoDuration,
    pub total: GoDuration,
}

/// The Docker healthcheck of all checks of a service: `CMD` when there is exactly one
/// argv check, else `CMD-SHELL` with `&&`; the smallest interval (at least 100 ms),
/// retries covering the longest total, each probe timing out after
/// `max(interval, 1s)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerHealthcheck {
    pub test: Vec<String>,
    pub interval: GoDuration,
    pub timeout: GoDuration,
    pub retries: u64,
}

/// Renders one check as shell, reporting approximations (KP211). `name` writes a
/// service reference (probe texts hold no run-time values).
pub fn shell_check(
    c: &Check,
    words: &Vocabulary,
    name: &dyn Fn(ServiceId, ServiceField) -> String,
    diags: &mut Vec<Diagnostic>,
) -> ShellCheck {
    let lowered = match &c.probe {
        Probe::Listening(ports) => Lowered::exact(listening(ports), None),
        Probe::Exec { argv, expect } => exec_check(
            argv.iter()
                .map(|t| t.render_static(name).unwrap_or_default())
                .collect(),
            expect,
        ),
        Probe::Http { call, expect } => http_check(call, expect, name),
    };
    if let Some(why) = lowered.approximated {
        diags.push(
            Diagnostic::warning(
                Code::KP211,
                format!("{} is approximated in {}: {why}", c.place, words.target),
                Some(c.at.clone()),
            )
            .with_hint(
                "check field \"code\" with == (exec: 0, HTTP: a 2xx code) to lower it exactly",
            ),
        );
    }
    ShellCheck {
        shell: lowered.shell,
        argv: lowered.argv,
        interval: c.interval,
        total: c.total,
    }
}

/// One check as shell (and as an argv when it is one command), and why it is only
/// approximated, when it is.
struct Lowered {
    shell: String,
    argv: Option<Vec<String>>,
    approximated: Option<String>,
}

impl Lowered {
    fn exact(shell: String, argv: Option<Vec<String>>) -> Lowered {
        Lowered {
            shell,
            argv,
            approximated: None,
        }
    }

    /// The command `argv` on its own (it must succeed), because of `why`.
    fn approx(argv: Vec<String>, why: impl Into<String>) -> Lowered {
        Lowered {
            shell: script::join(&argv),
            argv: Some(argv),
            approximated: Some(why.into()),
        }
    }
}

/// Whether every port listens, read from `/proc/net/tcp{,6}` (no tool needed).
fn listening(ports: &[(u16, GoDuration)]) -> String {
    ports
        .iter()
        .map(|(n, _)| {
            format!("grep -sqE ':{n:04X} [0-9A-F]+:[0-9A-F]+ 0A' /proc/net/tcp /proc/net/tcp6")
        })
        .collect::<Vec<_>>()
        .join(" && ")
}

/// An exec check: the command run in the container, its code or output compared.
fn exec_check(argv: Vec<String>, expect: &Expect) -> Lowered {
    const NO_TEST: &str =
        "the comparison cannot be written as a shell test; the command must succeed instead";
    let line = script::join(&argv);
    match expect {
        Expect::Code { assertion, target } => {
            if *assertion == Assertion::Eq && script::data_text(target).as_deref() == Some("0") {
                return Lowered::exact(line, Some(argv));
            }
            match script::test("\"$rc\"", *assertion, target) {
                Some(t) => Lowered::exact(format!("{{ {line}; rc=$?; {t}; }}"), None),
                None => Lowered::approx(argv, NO_TEST),
            }
        }
        Expect::Output { assertion, target } => {
            match script::test("\"$out\"", *assertion, target) {
                Some(t) => Lowered::exact(script::capture(&line, &t), None),
                None => Lowered::approx(argv, NO_TEST),
            }
        }
        Expect::Extract { .. } | Expect::Unknown(_) => {
            let field = expect.field(false).name();
            Lowered::approx(argv, format!("field '{field}' (a jq extract) cannot be computed by a healthcheck; the command must succeed instead"))
        }
    }
}

/// An HTTP check: a `wget` from inside the container, its status or body compared.
fn http_check(
    call: &HttpCall,
    expect: &Expect,
    name: &dyn Fn(ServiceId, ServiceField) -> String,
) -> Lowered {
    const NO_TEST: &str =
        "the comparison cannot be written as a shell test; the request must answer 2xx instead";
    let body = call
        .body
        .as_ref()
        .map(|b| b.render_static(name).unwrap_or_default());
    let argv = script::wget_argv(call, &format!("localhost:{}", call.port), body.as_deref());
    let line = script::join(&argv);
    let quiet = |mut a: Vec<String>| {
        // wget -q -O - URL -> wget -q -O /dev/null URL
        if let Some(i) = a.iter().position(|x| x == "-O") {
            a[i + 1] = "/dev/null".into();
        }
        a
    };
    match expect {
        Expect::Code { assertion, target } => {
            // The status of the last response (after redirects, as Go's
            // client), from the headers `wget -S` prints, compared exactly.
            match script::test("\"$code\"", *assertion, target) {
                Some(t) => Lowered::exact(
                    format!(
                        "{{ code=$({}); [ -n \"$code\" ] && {t}; }}",
                        script::status_code_pipeline(&argv)
                    ),
                    None,
                ),
                None => Lowered::approx(quiet(argv), NO_TEST),
            }
        }
        Expect::Output { assertion, target } => {
            match script::test("\"$out\"", *assertion, target) {
                Some(t) => Lowered::exact(script::capture(&line, &t), None),
                None => Lowered::approx(quiet(argv), NO_TEST),
            }
        }
        Expect::Extract { .. } | Expect::Unknown(_) => {
            let field = expect.field(true).name();
            Lowered::approx(quiet(argv), format!("field '{field}' (a jq extract) cannot be computed by a healthcheck; the request must answer 2xx instead"))
        }
    }
}

/// All of a service's checks as one Docker healthcheck; `None` without checks.
pub fn docker_healthcheck(list: &[ShellCheck]) -> Option<DockerHealthcheck> {
    if list.is_empty() {
        return None;
    }
    let test = match list {
        [ShellCheck {
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
    Some(DockerHealthcheck {
        test,
        interval: GoDuration(interval),
        timeout: GoDuration(interval.max(1_000_000_000)),
        retries: total.div_ceil(interval).max(1),
    })
}
