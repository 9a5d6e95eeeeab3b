//! `kplan unlock --enclave NAME [--force]`: remove an enclave's lock left by a kplan
//! that no longer runs (as Terraform's `force-unlock`).

use super::enclave;
use crate::console::{errln, outln};
use crate::executor::lock::{self, Liveness, Unlocked};
use crate::executor::valid_enclave_name;
use clap::Args;

#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// The enclave whose lock to remove.
    #[arg(long, value_name = "NAME")]
    pub enclave: String,
    /// Remove the lock even when its holder may still run: it ran on another machine,
    /// or it runs here. Only when you know it no longer changes the enclave.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &UnlockArgs) -> i32 {
    if !valid_enclave_name(&args.enclave) {
        errln!(
            "error: invalid enclave name {:?}: use 1-48 letters, digits, '-' or '_', starting with a letter or digit",
            args.enclave
        );
        return 1;
    }
    let engine = match enclave::connect() {
        Ok(e) => e,
        Err(code) => return code,
    };
    let name = &args.enclave;
    match lock::unlock(&engine, name, args.force) {
        Ok(Unlocked::NotLocked) => {
            outln!("Enclave \"{name}\" is not locked; nothing to do.");
            0
        }
        Ok(Unlocked::Removed(holder, liveness)) => {
            let how = match liveness {
                Liveness::Gone(why) => format!(" ({why})"),
                Liveness::Unknown => " (forced: it ran on another machine)".into(),
                Liveness::Running => {
                    " (forced: that process still runs; its changes may clash with the next apply)"
                        .into()
                }
            };
            outln!(
                "Removed the lock on enclave \"{name}\" held by {}{how}.",
                holder.describe()
            );
            0
        }
        Err(e) => {
            errln!("error: {e:#}");
            let running = e
                .downcast_ref::<lock::Held>()
                .is_some_and(|h| h.liveness == Liveness::Running);
            if running {
                errln!("to remove it anyway: kplan unlock --enclave {name} --force");
            }
            1
        }
    }
}
