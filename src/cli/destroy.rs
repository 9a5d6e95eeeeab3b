//! `kplan destroy`: remove everything kplan created for an enclave (containers,
//! network, state); persistent volumes only with `--volumes`.

use super::enclave::{self, EnclaveArgs};
use crate::console::{errln, outln};
use crate::executor::{destroy, render, state::EnclaveState};
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
    outln!(
        "Destroyed enclave \"{name}\": {}, network, {}.",
        render::count(done.containers, "container"),
        if args.volumes {
            render::count(done.volumes_removed, "volume")
        } else if done.volumes_kept == 0 {
            "no volumes".to_string()
        } else {
            format!(
                "{} kept (use --volumes to delete them)",
                render::count(done.volumes_kept, "volume")
            )
        }
    );
    Ok(())
}
