//! Backends: pure lowerings of a validated plan into files.
//!
//! [`compile`] is the one entry: `(Target, &Plan, &PlanInfo, &Options)` -> the files
//! and warnings, or every error. It never touches the file system or the engine:
//! the output depends only on the plan and the options; [`output`] writes (or
//! checks) the result. Static targets render the shared deployment model of
//! [`lower`] in their own form ([`compose`] today).

pub mod compose;
pub mod lower;
pub mod output;
pub mod plan;

use crate::diagnostic::Diagnostic;
use crate::ir::{Plan, PlanInfo};
pub use output::Output;

/// What to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The canonical plan, in this format.
    Plan(plan::Format),
    /// A Docker Compose project.
    Compose,
}

/// How the files are going to be written, and what the package does not say.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The files go to stdout (no `-o DIR`).
    pub to_stdout: bool,
    /// The root package's directory relative to the output directory (`/`-separated),
    /// when the package is a local directory (for build contexts).
    pub package_dir: Option<String>,
}

/// A target's files and the warnings found on the way.
#[derive(Debug)]
pub struct Compiled {
    pub output: Output,
    pub warnings: Vec<Diagnostic>,
}

/// Lowers the plan to `target`; `Err` holds every error (and the warnings), sorted
/// by position.
pub fn compile(
    target: Target,
    plan: &Plan,
    info: &PlanInfo,
    opts: &Options,
) -> Result<Compiled, Vec<Diagnostic>> {
    match target {
        Target::Plan(format) => Ok(Compiled {
            output: self::plan::compile(plan, format),
            warnings: Vec::new(),
        }),
        Target::Compose => compose::compile(plan, info, opts),
    }
}
