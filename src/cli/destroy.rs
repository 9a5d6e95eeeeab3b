//! `kplan destroy`: remove everything kplan created for an enclave (containers,
//! network, state); persistent volumes only with `--volumes`.

use super::enclave::{self, EnclaveArgs};
use crate::console::{errln, outln};
use crate::executor::{self, destroy, render, state::EnclaveState};
use clap::Args;

#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub enclave: EnclaveArgs,
    /// Also delete persistent directories (named volumes): their data is lost.
    #[arg(long)]
    pub volumes: bool,
}

pub fn run(args: &DestroyArgs) -> i32 {
    match destroy(args) {
        Ok(()) => 0,
        Err(code) => code,
    }
}

fn destroy(args: &DestroyArgs) -> Result<(), i32> {
    let engine = enclave::connect()?;
    let name = args.enclave.existing(&engine)?;
    let st = EnclaveState::new(&args.enclave.state_root(), &name);
    let done = destroy::destroy(&engine, &name, &st, args.volumes).map_err(|e| {
        errln!("error: {e:#}");
        1
    })?;
    if let Some(stale) = &done.broke_stale {
        errln!("note: removed a stale lock on enclave \"{name}\" held by {stale}");
    }
    outln!("{}", report(&name, &done, args.volumes));
    Ok(())
}

/// Exactly what was removed and kept: `Destroyed enclave "dev": 3 containers, network
/// kplan-dev; 1 volume kept (use --volumes to delete it).`
fn report(name: &str, done: &destroy::Destroyed, volumes: bool) -> String {
    let mut removed = vec![render::count(done.containers, "container")];
    if done.network {
        removed.push(format!("network {}", executor::network_name(name)));
    }
    if volumes {
        removed.push(render::count(done.volumes_removed, "volume"));
    }
    let mut text = format!(
        "Destroyed enclave \"{name}\": removed {}",
        removed.join(", ")
    );
    if done.volumes_kept > 0 {
        text.push_str(&format!(
            "; kept {} (use --volumes to delete {})",
            render::count(done.volumes_kept, "volume"),
            if done.volumes_kept == 1 { "it" } else { "them" }
        ));
    }
    text.push('.');
    text
}
