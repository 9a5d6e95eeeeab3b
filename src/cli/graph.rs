//! `kplan graph`: the plan as a picture (Mermaid or DOT), on stdout or into `-o DIR`,
//! or a check that `-o DIR` is current (`--check`), as `compile` does for manifests.

use super::pipeline::{self, PackageArgs};
use crate::backend::{self, graph};
use crate::frontend::ClusterType;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// A Mermaid flowchart (renders in Markdown on GitHub and GitLab): graph.mmd.
    #[default]
    Mermaid,
    /// Graphviz DOT (`dot -Tpng graph.dot -o graph.png`): graph.dot.
    Dot,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    #[command(flatten)]
    pub package: PackageArgs,
    /// The picture's language.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Write graph.mmd or graph.dot into this directory instead of stdout.
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Do not write: compare with the file in -o DIR, print a diff, exit 2 if stale.
    #[arg(long, requires = "out")]
    pub check: bool,
}

pub fn run(args: &GraphArgs) -> i32 {
    let loaded = match pipeline::load(&args.package, ClusterType::Docker) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let format = match args.format {
        Format::Mermaid => graph::Format::Mermaid,
        Format::Dot => graph::Format::Dot,
    };
    let opts = backend::Options::default();
    match backend::compile(
        backend::Target::Graph(format),
        &loaded.plan,
        &loaded.info,
        &opts,
    ) {
        Ok(c) => {
            pipeline::print_diagnostics(&c.warnings, &loaded.sources);
            super::compile::emit(&c.output, args.out.as_deref(), args.check)
        }
        Err(diags) => {
            pipeline::print_diagnostics(&diags, &loaded.sources);
            1
        }
    }
}
