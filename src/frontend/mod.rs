//! The frontend: interprets a Kurtosis package (Starlark) and records every `plan.*`
//! call into an [`ir::Plan`]. This is the only module that imports `starlark`; builtins
//! convert their arguments into owned IR data during the call, and future references
//! are parsed back from placeholder strings here, once.

#![allow(
    clippy::wildcard_enum_match_arm,
    reason = "the frontend type-checks Starlark values (`Owned`, JSON, tokens): a wildcard is \"any other type\""
)]

mod ahead;
mod ahead_thread;
mod cache;
mod check;
mod context;
mod convert;
mod dialect;
mod fields;
mod globals;
mod guard;
mod instruction;
mod locator;
mod nesting;
mod nesting_bound;
mod package;
mod plan_artifacts;
mod plan_object;
mod plan_services;
mod plan_tasks;
mod positions;
mod privileges;
mod reads;
mod recorder;
mod refs;
mod root;
mod run;
mod sources;
mod syntax;
mod task_args;
mod templates;
mod type_checks;
mod types;
mod upload;
mod value;

pub use cache::cache_dir;
/// The Starlark dialect packages are parsed with; public for the compile benchmark's
/// bare-evaluation floor (benches/compile/bare.rs), which must parse the same language.
pub use dialect::dialect;
pub use globals::prepare;
pub use reads::Reads;
pub use run::{interpret, interpret_recording, with_stack, EVAL_STACK_BYTES};
pub use sources::Sources;

use crate::diagnostic::Diagnostic;
use crate::ir;
use std::path::PathBuf;

/// What `get_cluster_type()` answers, chosen by the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterType {
    Docker,
    Kubernetes,
}

/// Inputs of one interpretation.
#[derive(Debug, Clone)]
pub struct Options {
    /// Package directory, `.star` file, or `github.com/...` locator.
    pub package: String,
    /// `--args`: a JSON or YAML object.
    pub args: Option<String>,
    /// `--args-file`.
    pub args_file: Option<PathBuf>,
    pub main_file: String,
    pub main_function: String,
    pub package_cache: PathBuf,
    pub offline: bool,
    pub cluster_type: ClusterType,
    /// `--privileged`: allow privileged services, host PID, docker.sock mounts, devices
    /// and capabilities beyond the unprivileged set.
    pub allow_privileged: bool,
    /// `--max-eval-memory`: bytes the evaluation may allocate (see `crate::memory`).
    pub max_eval_memory: usize,
    /// `--max-template-output`: bytes one rendered template may hold.
    pub max_template_output: usize,
    /// The process exits soon after this interpretation (a one-shot command): what
    /// the evaluation built is left for the exit to free instead of freed one value at
    /// a time. Never for a process that interprets again (`apply --watch`, tests).
    pub exits_after: bool,
}

/// A successful interpretation.
pub struct Interpreted {
    pub plan: ir::Plan,
    pub sources: Sources,
    pub warnings: Vec<Diagnostic>,
}

/// A failed interpretation: every diagnostic, and the sources for snippets.
pub struct Failure {
    pub diagnostics: Vec<Diagnostic>,
    pub sources: Sources,
}
