//! The command line: argument parsing (clap) and one function per command. Each command
//! runs the pipeline (`pipeline::load`), prints diagnostics, and returns an exit code:
//! 0 success and nothing to change, 1 error, 2 changes found (`--check`,
//! `--detailed-exitcode`); 141 when output was lost to a closed pipe (see
//! [`crate::console`], through which every command prints).

mod apply;
mod compile;
mod destroy;
mod enclave;
mod pipeline;
mod plan;
mod status;
mod validate;

pub use pipeline::{load, load_quiet, Loaded, PackageArgs};

use crate::console::{self, Stream};
use clap::{Parser, Subcommand, ValueEnum};
use std::ffi::OsString;

#[derive(Debug, Parser)]
#[command(
    name = "kplan",
    version,
    about = "Compile Kurtosis-compatible Starlark packages to a plan, Docker Compose, Helm or Terraform, or apply them to Docker"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write manifests for a target (plan and compose go to stdout without -o).
    Compile(compile::CompileArgs),
    /// Interpret and validate a package; report every problem at once.
    Validate(validate::ValidateArgs),
    /// Show what `apply` would change on Docker; changes nothing.
    Plan(plan::PlanArgs),
    /// Make Docker match the package (idempotent: a second apply changes nothing).
    Apply(apply::ApplyArgs),
    /// Remove everything kplan created for an enclave (volumes only with --volumes).
    Destroy(destroy::DestroyArgs),
    /// List an enclave's services with state, image, address and ports.
    Status(status::StatusArgs),
}

/// `--output text|json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

/// Runs kplan with the given arguments and returns the process exit code (see
/// [`console::exit_code`] for output that could not be written).
pub fn run(args: impl IntoIterator<Item = OsString>) -> i32 {
    console::exit_code(dispatch(args))
}

fn dispatch(args: impl IntoIterator<Item = OsString>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let (code, stream) = if e.use_stderr() {
                (1, Stream::Err)
            } else {
                (0, Stream::Out)
            };
            if let Err(err) = e.print() {
                console::record(stream, &err);
            }
            return code;
        }
    };
    match cli.command {
        Command::Compile(a) => compile::run(&a),
        Command::Validate(a) => validate::run(&a),
        Command::Plan(a) => plan::run(&a),
        Command::Apply(a) => apply::run(&a),
        Command::Destroy(a) => destroy::run(&a),
        Command::Status(a) => status::run(&a),
    }
}
