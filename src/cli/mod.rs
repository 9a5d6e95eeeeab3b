//! The command line: argument parsing (clap) and one function per command. Each command
//! runs the pipeline (`pipeline::load`), prints diagnostics, and returns an exit code:
//! 0 success and nothing to change, 1 error, 2 changes found (`--check`,
//! `--detailed-exitcode`). `completions` and `man` load no package: they print what
//! clap knows of these definitions (shell completion scripts, man pages).

mod apply;
mod compile;
mod completions;
mod destroy;
mod enclave;
mod images;
mod man;
mod pipeline;
mod plan;
mod status;
mod unlock;
mod validate;

pub use pipeline::{load, load_quiet, Loaded, PackageArgs};

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
    /// Show what `apply` would change on Docker; changes nothing (and notes when another
    /// kplan holds the enclave's lock).
    Plan(plan::PlanArgs),
    /// Make Docker match the package (idempotent: a second apply changes nothing). Holds
    /// the enclave's lock on the engine meanwhile; a second apply fails at once.
    Apply(apply::ApplyArgs),
    /// Remove everything kplan created for an enclave (volumes only with --volumes),
    /// under the enclave's lock.
    Destroy(destroy::DestroyArgs),
    /// List an enclave's services with state, image, address and ports.
    Status(status::StatusArgs),
    /// Read facts about a package's images from the local engine (`images inspect`).
    Images(images::ImagesArgs),
    /// Remove an enclave's lock left by a kplan that no longer runs (--force: whatever
    /// its holder).
    Unlock(unlock::UnlockArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) on stdout.
    Completions(completions::CompletionsArgs),
    /// Print the man page kplan(1), or write every page (one per subcommand) with -o DIR.
    Man(man::ManArgs),
}

/// `--output text|json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

/// Runs kplan with the given arguments and returns the process exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
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
        Command::Images(a) => images::run(&a),
        Command::Unlock(a) => unlock::run(&a),
        Command::Completions(a) => completions::run(&a),
        Command::Man(a) => man::run(&a),
    }
}
