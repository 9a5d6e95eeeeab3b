//! `kplan destroy`: remove everything kplan created for an enclave (containers,
//! network, state); persistent volumes only with `--volumes`.

use super::enclave::{self, EnclaveArgs};
use crate::executor::{network_name, observe, render, state::EnclaveState, LABEL_ENCLAVE};
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
    let fail = |e: anyhow::Error| {
        eprintln!("error: {e:#}");
        1
    };
    let engine = enclave::connect()?;
    let name = args.enclave.existing(&engine)?;
    let st = EnclaveState::new(&args.enclave.state_root(), &name);
    let lock = st.lock().map_err(fail)?;
    let observed = observe::observe(&engine, &name).map_err(fail)?;
    for c in &observed.containers {
        engine.container_remove(&c.id).map_err(fail)?;
    }
    engine.network_remove(&network_name(&name)).map_err(fail)?;
    let mut vols = 0;
    if args.volumes {
        for v in engine
            .volumes_by_label(&[(LABEL_ENCLAVE, name.as_str())])
            .map_err(fail)?
        {
            engine.volume_remove(&v.name).map_err(fail)?;
            vols += 1;
        }
    }
    drop(lock);
    st.remove().map_err(fail)?;
    println!(
        "Destroyed enclave \"{name}\": {}, network, {}.",
        render::count(observed.containers.len(), "container"),
        if args.volumes {
            render::count(vols, "volume")
        } else if observed.volumes.is_empty() {
            "no volumes".to_string()
        } else {
            format!(
                "{} kept (use --volumes to delete them)",
                render::count(observed.volumes.len(), "volume")
            )
        }
    );
    Ok(())
}
