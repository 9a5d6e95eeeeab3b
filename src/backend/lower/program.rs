//! What tasks run, as data every target and the executor share: the one-shot
//! [`Program`] of a `run_sh`/`run_python` (one definition of the command lines,
//! including `pip install` with each package one argument), the [`HttpCall`] of a
//! `request` or an HTTP recipe, and the [`ExecCall`] of an `exec`. Targets render them
//! in their own form (a container's command, a POSIX-sh script: [`super::script`]);
//! the executor runs the argv lists as they are, without a shell.

use super::text::Text;
use crate::ir::{ArtifactId, Assertion, Data, GoDuration, HttpMethod, Image, ServiceId, TaskId};
use std::collections::BTreeMap;

/// Which exit codes (or HTTP statuses) a task accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Codes {
    pub acceptable: Vec<i64>,
    /// `skip_code_check=True`: any code.
    pub skip: bool,
}

/// A `plan.verify(result["code"], ...)` folded into the task that produces the code:
/// the comparison runs right after the command.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeVerify {
    pub assertion: Assertion,
    pub target: Data,
}

/// The results a task writes into the value store (paths relative to it): filled in
/// when some node reads them (see [`super::values`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Results {
    /// The output (a request's body).
    pub output: Option<String>,
    /// The exit code (a request's status).
    pub code: Option<String>,
}

impl Results {
    pub fn is_empty(&self) -> bool {
        self.output.is_none() && self.code.is_none()
    }
}

/// A `run_sh` or `run_python` as a one-shot container runs it.
#[derive(Debug, Clone)]
pub struct Program {
    pub task: TaskId,
    /// `run_sh` or `run_python`, for messages.
    pub instruction: &'static str,
    pub name: String,
    pub image: Image,
    /// Run first; its output is not part of the task's result (`pip install`).
    pub setup: Option<Vec<String>>,
    /// The command whose exit code and output are the task's result:
    /// `["/bin/sh", "-c", SCRIPT]` or `["python", "-u", "-c", RUN, ARGS...]`.
    pub argv: Vec<Text>,
    pub env: BTreeMap<String, Text>,
    /// Mount directory -> the artifact (the version of the name the task mounts).
    pub files: BTreeMap<String, ArtifactId>,
    pub codes: Codes,
    pub verify: Vec<CodeVerify>,
    /// `store` sources, in store order (the i-th fills the task's i-th artifact).
    pub store: Vec<String>,
    pub privileged: bool,
    pub host_pid: bool,
    /// Host path -> container path.
    pub binds: BTreeMap<String, String>,
    /// `wait`: how long the command may run (`None`: no limit).
    pub timeout: Option<GoDuration>,
    pub results: Results,
}

impl Program {
    /// `pip install -q PACKAGE...`, each package one argument.
    pub fn pip_install(packages: &[String]) -> Option<Vec<String>> {
        (!packages.is_empty()).then(|| {
            ["pip", "install", "-q"]
                .iter()
                .map(|s| s.to_string())
                .chain(packages.iter().cloned())
                .collect()
        })
    }

    /// `python -u -c RUN ARGS...` (unbuffered, as Kurtosis runs it).
    pub fn python(run: &str, args: Vec<Text>) -> Vec<Text> {
        let mut argv = vec![
            Text::lit("python"),
            Text::lit("-u"),
            Text::lit("-c"),
            Text::lit(run),
        ];
        argv.extend(args);
        argv
    }

    /// `/bin/sh -c SCRIPT`.
    pub fn shell(script: Text) -> Vec<Text> {
        vec![Text::lit("/bin/sh"), Text::lit("-c"), script]
    }
}

/// An HTTP request of a `request`, `wait` or ready condition.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpCall {
    pub service: ServiceId,
    pub port: u16,
    pub method: HttpMethod,
    /// Starts with `/`.
    pub endpoint: String,
    pub headers: BTreeMap<String, String>,
    /// POST only (default `application/json` is the target's to apply).
    pub content_type: Option<String>,
    /// POST only; may hold run-time values.
    pub body: Option<Text>,
}

/// An `exec` on a service.
#[derive(Debug, Clone)]
pub struct ExecCall {
    pub task: TaskId,
    pub service: ServiceId,
    pub argv: Vec<Text>,
    pub codes: Codes,
    pub verify: Vec<CodeVerify>,
    pub results: Results,
}

/// An HTTP `request` task.
#[derive(Debug, Clone)]
pub struct RequestCall {
    pub task: TaskId,
    pub call: HttpCall,
    pub codes: Codes,
    pub verify: Vec<CodeVerify>,
    pub results: Results,
}

/// The endpoint as Kurtosis sends it: with a leading `/`.
pub fn endpoint(e: &str) -> String {
    if e.starts_with('/') {
        e.to_owned()
    } else {
        format!("/{e}")
    }
}
