//! `kplan apply PKG`: validate (images included), show the plan, confirm, then make
//! Docker match the package; a second apply of the same package changes nothing.

use super::enclave::{self, EnclaveArgs};
use super::pipeline::{self, PackageArgs};
use super::OutputFormat;
use crate::console::{err, errln, out, outln};
use crate::executor::apply::{self, Options};
use crate::executor::progress::Progress;
use crate::executor::{diff, ipam, lock, observe, render, state::EnclaveState};
use crate::frontend::ClusterType;
use clap::Args;
use std::io::{BufRead, IsTerminal};

#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub package: PackageArgs,
    #[command(flatten)]
    pub enclave: EnclaveArgs,
    /// Remove services that are no longer in the package.
    #[arg(long)]
    pub prune: bool,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// How many steps run at once (at least 1).
    #[arg(long, default_value_t = 8, value_parser = at_least_one)]
    pub parallelism: usize,
    /// How to print the result: text for people, json for scripts.
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
    /// Exit 2 when changes were made (0 none, 1 error).
    #[arg(long)]
    pub detailed_exitcode: bool,
}

pub fn run(args: &ApplyArgs) -> i32 {
    match apply_cmd(args) {
        Ok(code) | Err(code) => code,
    }
}

fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("{s:?} is not a number of steps at least 1")),
    }
}

fn fail(e: anyhow::Error) -> i32 {
    errln!("error: {e:#}");
    1
}

fn apply_cmd(args: &ApplyArgs) -> Result<i32, i32> {
    let loaded = pipeline::load(&args.package, ClusterType::Docker)?;
    let name = args.enclave.for_package(&loaded)?;
    let engine = enclave::connect()?;
    enclave::preflight(&engine, &loaded)?;
    let st = EnclaveState::new(&args.enclave.state_root(), &name);
    // Held until apply_cmd returns: also when the apply is refused or fails.
    let lock = lock::acquire(&engine, &st, &name, "apply").map_err(fail)?;
    if let Some((h, why)) = &lock.broke_stale {
        errln!(
            "note: removed a stale lock on enclave \"{name}\" held by {} ({why})",
            h.describe()
        );
    }
    let observed = observe::observe(&engine, &name).map_err(fail)?;
    let recorded = st.load().map_err(fail)?;
    // An enclave network made by an older kplan cannot give services their own address.
    ipam::network_subnet(&loaded.plan, &loaded.info, &observed)
        .map_err(|e| fail(anyhow::anyhow!(e)))?;
    let cs = diff::diff(&loaded.plan, &loaded.info, &observed, &recorded, args.prune);
    let json = args.output == OutputFormat::Json;
    if json {
        outln!("{}", render::json(&cs));
    } else {
        out!("{}", render::text(&cs));
    }
    if !cs.has_changes() {
        return Ok(0);
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            errln!("error: refusing to apply without confirmation: standard input is not a terminal; pass --yes to apply");
            return Err(1);
        }
        err!("\nApply these changes to enclave \"{name}\"? Only 'yes' is accepted: ");
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if answer.trim() != "yes" {
            errln!("Apply cancelled; nothing was changed.");
            return Err(1);
        }
    }
    let progress = Progress::new(json);
    let opts = Options {
        parallelism: args.parallelism,
        prune: args.prune,
    };
    let outcome = apply::apply(
        &engine,
        &loaded.plan,
        &loaded.info,
        &name,
        &st,
        &observed,
        recorded,
        opts,
        &progress,
    )
    .map_err(fail)?;
    let msg = format!(
        "Apply complete: {} created, {} replaced, {} updated, {} removed, {} unchanged; {} tasks run, {} reused.",
        outcome.created,
        outcome.replaced,
        outcome.updated,
        outcome.removed,
        outcome.kept,
        outcome.tasks_run,
        outcome.tasks_reused
    );
    if json {
        errln!("{msg}");
    } else {
        outln!("{msg}");
    }
    Ok(if args.detailed_exitcode { 2 } else { 0 })
}
