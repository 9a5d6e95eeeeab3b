//! The command line: argument parsing (clap) and one function per command. Each command
//! runs the pipeline (`pipeline::load`), prints diagnostics, and returns an exit code:
//! 0 success and nothing to change, 1 error, 2 changes found (`--check`,
//! `--detailed-exitcode`); 141 when output was lost to a closed pipe (see
//! [`crate::console`], through which every command prints). `completions` and `man`
//! load no package: they print what clap knows of [`command`] (completion scripts, man
//! pages); nor does `explain`, which prints the registry of diagnostic codes.

mod apply;
mod compile;
mod completions;
mod destroy;
mod enclave;
mod explain;
mod graph;
mod images;
mod json;
mod man;
mod pipeline;
mod plan;
mod status;
mod unlock;
mod validate;
mod watch;

pub use pipeline::{load, load_quiet, Loaded, PackageArgs};

use crate::console::{self, Stream};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use std::ffi::OsString;

/// The command line; its description is set by [`command`] from the targets that exist.
#[derive(Debug, Parser)]
#[command(name = "kplan", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// When to colour output: auto (only a stream that is a terminal, and not when
    /// NO_COLOR is set; CLICOLOR_FORCE forces it), always or never.
    #[arg(long, global = true, value_name = "WHEN", default_value_t = clap::ColorChoice::Auto)]
    pub color: clap::ColorChoice,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write manifests for a target (plan and compose go to stdout without -o).
    Compile(compile::CompileArgs),
    /// Interpret and validate a package; report every problem at once.
    Validate(validate::ValidateArgs),
    /// Draw the plan: services, tasks, files artifacts and what connects them
    /// (Mermaid or Graphviz DOT; stdout without -o).
    Graph(graph::GraphArgs),
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
    /// Explain a diagnostic code (e.g. `kplan explain KP201`): what it means, an example
    /// and the fix; without a code, list every code.
    Explain(explain::ExplainArgs),
}

/// The whole command-line definition. The description names the `--target`s that
/// `compile` accepts, taken from [`compile::Target`], so it stays true as targets land.
pub fn command() -> clap::Command {
    let targets: Vec<&str> = compile::Target::value_variants()
        .iter()
        .map(|t| t.describe())
        .collect();
    let targets = match targets.split_last() {
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    };
    Cli::command().about(format!(
        "Compile Kurtosis-compatible Starlark packages to {targets}, or apply them to Docker"
    ))
}

/// The `--color` choice, read before clap parses the command line so that clap's own
/// help and usage errors follow it too (clap reads `NO_COLOR` and `CLICOLOR_FORCE` by
/// itself under `auto`). The last `--color` before a `--` wins, as in clap; a value clap
/// will reject counts as `auto` here and is reported by the parse.
fn color_before_parsing(args: &[OsString]) -> clap::ColorChoice {
    let mut choice = clap::ColorChoice::Auto;
    let mut words = args.iter().skip(1).map(|a| a.to_str().unwrap_or(""));
    while let Some(word) = words.next() {
        let value = match word {
            "--" => break,
            "--color" => words.next().unwrap_or(""),
            _ => match word.strip_prefix("--color=") {
                Some(v) => v,
                None => continue,
            },
        };
        choice = clap::ColorChoice::from_str(value, false).unwrap_or(clap::ColorChoice::Auto);
    }
    choice
}

/// `--output text|json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

/// Whether the command line names a command that interprets a package (before it is
/// parsed: a guess, which costs a little time on the other core when wrong).
fn interprets(args: &[OsString]) -> bool {
    let command = args
        .iter()
        .skip(1)
        .find(|a| !a.to_string_lossy().starts_with('-'));
    command.is_some_and(|c| {
        matches!(
            c.to_str(),
            Some("compile" | "validate" | "graph" | "plan" | "apply" | "images")
        )
    })
}

/// Runs kplan with the given arguments and returns the process exit code (see
/// [`console::exit_code`] for output that could not be written).
pub fn run(args: impl IntoIterator<Item = OsString>) -> i32 {
    console::exit_code(dispatch(args))
}

/// [`run`] on a thread whose stack is `stack_bytes` large: with enough stack, the
/// evaluation runs on this thread instead of a thread of its own (see
/// [`crate::frontend::with_stack`]).
pub fn run_with_stack(args: impl IntoIterator<Item = OsString>, stack_bytes: usize) -> i32 {
    crate::frontend::with_stack(stack_bytes, || run(args))
}

fn dispatch(args: impl IntoIterator<Item = OsString>) -> i32 {
    let args: Vec<OsString> = args.into_iter().collect();
    if interprets(&args) {
        crate::frontend::prepare();
    }
    let parsed = command()
        .color(color_before_parsing(&args))
        .try_get_matches_from(args)
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
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
    console::set_color(cli.color);
    match cli.command {
        Command::Compile(a) => compile::run(&a),
        Command::Validate(a) => validate::run(&a),
        Command::Graph(a) => graph::run(&a),
        Command::Plan(a) => plan::run(&a),
        Command::Apply(a) => apply::run(&a),
        Command::Destroy(a) => destroy::run(&a),
        Command::Status(a) => status::run(&a),
        Command::Images(a) => images::run(&a),
        Command::Unlock(a) => unlock::run(&a),
        Command::Completions(a) => completions::run(&a),
        Command::Man(a) => man::run(&a),
        Command::Explain(a) => explain::run(&a),
    }
}
