//! `kplan plan PKG`: what `apply` would change on Docker; changes nothing.

use super::enclave::{self, EnclaveArgs};
use super::pipeline::{self, PackageArgs};
use super::OutputFormat;
use crate::console::{errln, out, Palette, Stream};
use crate::executor::{diff, observe, render, state::EnclaveState};
use crate::frontend::ClusterType;
use clap::Args;

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub package: PackageArgs,
    #[command(flatten)]
    pub enclave: EnclaveArgs,
    /// Show services no longer in the package as destroyed (what `apply --prune` does).
    #[arg(long)]
    pub prune: bool,
    /// How to print the result: text for people, json for scripts.
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
    /// Exit 2 when there are changes (0 none, 1 error).
    #[arg(long)]
    pub detailed_exitcode: bool,
}

pub fn run(args: &PlanArgs) -> i32 {
    match plan(args) {
        Ok(code) | Err(code) => code,
    }
}

fn plan(args: &PlanArgs) -> Result<i32, i32> {
    let loaded = pipeline::load(&args.package, ClusterType::Docker)?;
    let name = args.enclave.for_package(&loaded)?;
    let engine = enclave::connect()?;
    enclave::preflight_warnings(&engine, &loaded)?;
    let st = EnclaveState::new(&args.enclave.state_root(), &name);
    enclave::note_lock(&engine, &name);
    let observed = observe::observe(&engine, &name).map_err(|e| {
        errln!("error: {e:#}");
        1
    })?;
    let recorded = st.load().map_err(|e| {
        errln!("error: {e:#}");
        1
    })?;
    let cs = diff::diff(&loaded.plan, &loaded.info, &observed, &recorded, args.prune);
    match args.output {
        OutputFormat::Text => out!("{}", render::text(&cs, Palette::of(Stream::Out))),
        OutputFormat::Json => super::json::print(&render::json(&cs)),
    }
    Ok(if args.detailed_exitcode && cs.has_changes() {
        2
    } else {
        0
    })
}
