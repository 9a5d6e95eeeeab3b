//! `kplan apply PKG`: validate (images included), show the plan, confirm, then make
//! Docker match the package; a second apply of the same package changes nothing.
//!
//! With `--output json` (which needs `--yes`: there is no one to ask), stdout holds one
//! document once apply ends (schemas/apply.schema.json): the plan, what was done, the
//! `plan.print` messages and the error, if any. A failure before there is a plan (an
//! invalid package, a missing image, a held lock) prints nothing on stdout.
//!
//! `--watch` keeps applying as the package changes ([`super::watch`]); one apply of it
//! is [`converge`], the same as this command's.

use super::enclave::{self, EnclaveArgs};
use super::pipeline::{self, Loaded, PackageArgs};
use super::OutputFormat;
use crate::console::{err, errln, out, outln, Palette, Stream};
use crate::executor::apply::{self, Options};
use crate::executor::diff::ChangeSet;
use crate::executor::engine::Engine;
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
    /// How to print the result: text for people, json for scripts (needs --yes).
    #[arg(long, value_enum, default_value_t, requires_if("json", "yes"))]
    pub output: OutputFormat,
    /// Exit 2 when changes were made (0 none, 1 error).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// After applying, watch the package's files and plan and apply again on every
    /// change (needs --yes); Ctrl-C stops.
    ///
    /// Watched are the files the package's interpretation read from the package
    /// directory (its own files, local imports, templates, uploaded directories),
    /// never the package cache; a file it looked for and did not find counts too, so
    /// creating it is a change. Changes are collected for 300 ms, then the plan is
    /// printed and applied. A change that does not interpret or validate prints every
    /// error and changes nothing; the next change tries again. The enclave is locked
    /// for the whole session (`kplan apply --watch` to other kplans). Ctrl-C
    /// (SIGINT, SIGTERM, SIGHUP) stops and releases the lock, also in the middle of an
    /// apply (whose finished steps are kept); the exit status is 128 + the signal's
    /// number (130 for Ctrl-C). With --output json, every plan and apply prints one
    /// document on one line (JSON Lines).
    #[arg(long, requires = "yes", conflicts_with = "detailed_exitcode")]
    pub watch: bool,
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
    if args.watch {
        return super::watch::run(args);
    }
    let loaded = pipeline::load(&args.package, ClusterType::Docker)?;
    let name = args.enclave.for_package(&loaded)?;
    let engine = enclave::connect()?;
    enclave::preflight(&engine, &loaded)?;
    let st = EnclaveState::new(&args.enclave.state_root(), &name);
    // Held until apply_cmd returns: also when the apply is refused or fails.
    let _lock = take_lock(&engine, &st, &name, "apply")?;
    converge(args, &engine, &st, &name, &loaded)
}

/// Takes the enclave's lock for `operation`, saying so when a stale one was removed.
pub(super) fn take_lock(
    engine: &Engine,
    st: &EnclaveState,
    name: &str,
    operation: &str,
) -> Result<lock::EnclaveLock, i32> {
    let lock = lock::acquire(engine, st, name, operation).map_err(fail)?;
    if let Some((h, why)) = &lock.broke_stale {
        errln!(
            "note: removed a stale lock on enclave \"{name}\" held by {} ({why})",
            h.describe()
        );
    }
    Ok(lock)
}

/// Makes enclave `name` (whose lock the caller holds) match `loaded`: observes it,
/// shows the plan, asks unless `--yes`, applies, and prints the result. `Ok(2)` when
/// changes were made and `--detailed-exitcode` asks for it.
pub(super) fn converge(
    args: &ApplyArgs,
    engine: &Engine,
    st: &EnclaveState,
    name: &str,
    loaded: &Loaded,
) -> Result<i32, i32> {
    let observed = observe::observe(engine, name).map_err(fail)?;
    let recorded = st.load().map_err(fail)?;
    // An enclave network made by an older kplan cannot give services their own address.
    ipam::network_subnet(&loaded.plan, &loaded.info, &observed)
        .map_err(|e| fail(anyhow::anyhow!(e)))?;
    let cs = diff::diff(&loaded.plan, &loaded.info, &observed, &recorded, args.prune);
    let json = args.output == OutputFormat::Json;
    if !json {
        out!("{}", render::text(&cs, Palette::of(Stream::Out)));
    }
    if !cs.has_changes() {
        if json {
            print_json(args, &cs, None, &[], None);
        }
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
        engine,
        &loaded.plan,
        &loaded.info,
        name,
        st,
        &observed,
        recorded,
        opts,
        &progress,
    )
    .map_err(|e| {
        if json {
            print_json(
                args,
                &cs,
                None,
                &progress.messages(),
                Some(&format!("{e:#}")),
            );
        }
        fail(e)
    })?;
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
        print_json(args, &cs, Some(&outcome), &progress.messages(), None);
        errln!("{msg}");
    } else {
        outln!("{msg}");
    }
    Ok(if args.detailed_exitcode { 2 } else { 0 })
}

/// The `--output json` document: the plan's fields, then what apply did. With
/// `--watch`, one document per apply, each on one line (JSON Lines).
fn print_json(
    args: &ApplyArgs,
    cs: &ChangeSet,
    outcome: Option<&apply::Outcome>,
    messages: &[String],
    error: Option<&str>,
) {
    let mut doc = render::json(cs);
    let result = outcome.map(|o| {
        serde_json::json!({
            "created": o.created,
            "replaced": o.replaced,
            "updated": o.updated,
            "removed": o.removed,
            "unchanged": o.kept,
            "tasks_run": o.tasks_run,
            "tasks_reused": o.tasks_reused,
        })
    });
    if let Some(m) = doc.as_object_mut() {
        m.insert("applied".into(), outcome.is_some().into());
        m.insert("result".into(), result.into());
        m.insert("messages".into(), messages.into());
        m.insert("error".into(), error.into());
    }
    if args.watch {
        super::json::print_line(&doc);
    } else {
        super::json::print(&doc);
    }
}
