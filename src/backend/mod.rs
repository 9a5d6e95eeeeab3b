//! Backends: pure lowerings of a validated plan into files.
//!
//! [`compile`] is the one entry: `(Target, &Plan, &PlanInfo, &Options)` -> the files
//! and warnings, or every error. It never touches the file system or the engine:
//! the output depends only on the plan and the options; [`output`] writes (or
//! checks) the result. Static targets render the shared deployment model of
//! [`lower`] in their own form ([`compose`], [`helm`], [`terraform`]); [`graph`]
//! draws the plan and the model's dependency edges as a picture.

pub mod compose;
pub mod graph;
pub mod helm;
pub mod lower;
pub mod output;
pub mod plan;
pub mod terraform;
pub mod yaml;

use crate::diagnostic::Diagnostic;
use crate::ir::{Plan, PlanInfo};
pub use lower::ImageConfig;
pub use output::Output;
use std::collections::BTreeMap;

/// The image kplan's own one-shots run in by default (run-time values: preparing the
/// value store, jq extracts, rendering files that hold run-time values, polling a
/// `wait` whose result is read, `verify`). Kurtosis's own default image for `run_sh`;
/// needs `sh`, `cat`, `cp`, `mkdir`, `mv`, `rm`, `chmod`, `sed`, `tail`, `wget` and `jq`.
pub const DEFAULT_TOOLS_IMAGE: &str = "badouralix/curl-jq";

/// What to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The canonical plan, in this format.
    Plan(plan::Format),
    /// A Docker Compose project.
    Compose,
    /// A Helm chart directory.
    Helm,
    /// A Terraform configuration for the kreuzwerker/docker provider.
    Terraform,
    /// The plan as a picture, in this format.
    Graph(graph::Format),
}

/// How the files are going to be written, and what the package does not say.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The files go to stdout (no `-o DIR`).
    pub to_stdout: bool,
    /// The root package's directory relative to the output directory (`/`-separated),
    /// when the package is a local directory (for build contexts).
    pub package_dir: Option<String>,
    /// The image of kplan's own one-shots (`--tools-image`; empty: the default).
    pub tools_image: String,
    /// Image reference -> its entrypoint and cmd (`--image-config FILE`), for
    /// services that start through the value wrapper.
    pub images: BTreeMap<String, ImageConfig>,
    /// The chart's `version` (`--chart-version`; `None`: 0.1.0).
    pub chart_version: Option<String>,
    /// The chart's `appVersion` (`--app-version`; `None`: the chart version).
    pub app_version: Option<String>,
}

impl Options {
    /// The tools image in effect.
    pub fn tools_image(&self) -> &str {
        if self.tools_image.is_empty() {
            DEFAULT_TOOLS_IMAGE
        } else {
            &self.tools_image
        }
    }
}

/// A target's files and the warnings found on the way.
#[derive(Debug)]
pub struct Compiled {
    pub output: Output,
    pub warnings: Vec<Diagnostic>,
}

impl Compiled {
    /// A backend's result from what it wrote and every diagnostic it found: sorted by
    /// position (then code) and deduplicated; `Err` with all of them when any is an
    /// error, else the output with the warnings.
    pub fn finish(output: Output, mut diags: Vec<Diagnostic>) -> Result<Self, Vec<Diagnostic>> {
        diags.sort_by(|a, b| a.at.cmp(&b.at).then(a.code.cmp(&b.code)));
        diags.dedup();
        if diags.iter().any(Diagnostic::is_error) {
            return Err(diags);
        }
        Ok(Compiled {
            output,
            warnings: diags,
        })
    }
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
            output: self::plan::compile(plan, info, format),
            warnings: Vec::new(),
        }),
        Target::Compose => compose::compile(plan, info, opts),
        Target::Helm => helm::compile(plan, info, opts),
        Target::Terraform => terraform::compile(plan, info, opts),
        Target::Graph(format) => Ok(Compiled {
            output: graph::compile(plan, info, format),
            warnings: Vec::new(),
        }),
    }
}
