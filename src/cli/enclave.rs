//! What `plan`, `apply`, `destroy` and `status` share: the enclave and state-directory
//! flags, connecting to Docker with a clear error, and the pre-flight checks (images
//! exist locally, nothing unsupported) that run before anything is changed.

use super::pipeline::{print_diagnostics, Loaded};
use crate::console::errln;
use crate::diagnostic::{Diagnostic, Severity};
use crate::executor::engine::Engine;
use crate::executor::{self, images, lock, observe, transient};
use clap::Args;
use std::path::PathBuf;

/// `--enclave` and `--state-dir`.
#[derive(Debug, Clone, Args)]
pub struct EnclaveArgs {
    /// The enclave (a Docker network plus the containers and volumes kplan made in it).
    /// Default for plan/apply: the package's name (last path element, sanitized); for
    /// destroy/status: the only enclave on the engine.
    #[arg(long, value_name = "NAME")]
    pub enclave: Option<String>,
    /// Where kplan keeps what Docker cannot hold (task results, produced files)
    /// [default: $KPLAN_STATE_DIR, then $XDG_STATE_HOME/kplan, then ~/.local/state/kplan].
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

impl EnclaveArgs {
    /// The enclave for a loaded package.
    pub fn for_package(&self, loaded: &Loaded) -> Result<String, i32> {
        let name = match &self.enclave {
            Some(n) => n.clone(),
            None => executor::enclave_from_package(&loaded.plan.package.name),
        };
        check_name(&name)?;
        Ok(name)
    }

    /// The enclave for destroy/status: `--enclave`, which must exist on the engine,
    /// or the only one there. Otherwise says which enclaves exist.
    pub fn existing(&self, engine: &Engine) -> Result<String, i32> {
        if let Some(n) = &self.enclave {
            check_name(n)?;
        }
        let names = observe::enclaves(engine).map_err(|e| {
            errln!("error: {e:#}");
            1
        })?;
        let which = if names.is_empty() {
            "there are none".to_string()
        } else {
            format!("enclaves that do: {}", names.join(", "))
        };
        match (&self.enclave, names.as_slice()) {
            (Some(n), _) if names.contains(n) => Ok(n.clone()),
            (Some(n), _) => {
                errln!("error: enclave \"{n}\" does not exist on this engine; {which}");
                Err(1)
            }
            (None, [one]) => Ok(one.clone()),
            (None, []) => {
                errln!("error: no kplan enclave exists on this engine; pass --enclave NAME");
                Err(1)
            }
            (None, many) => {
                errln!(
                    "error: several enclaves exist on this engine ({}); pass --enclave NAME",
                    many.join(", ")
                );
                Err(1)
            }
        }
    }

    pub fn state_root(&self) -> PathBuf {
        executor::state::state_root(self.state_dir.as_deref())
    }
}

fn check_name(name: &str) -> Result<(), i32> {
    if executor::valid_enclave_name(name) {
        Ok(())
    } else {
        errln!(
            "error: invalid enclave name {name:?}: use 1-48 letters, digits, '-' or '_', starting with a letter or digit"
        );
        Err(1)
    }
}

/// Prints a note (stderr) when another kplan holds the enclave's lock: for `plan` and
/// `status`, which do not take it.
pub fn note_lock(engine: &Engine, enclave: &str) {
    if let Ok(Some(h)) = lock::holder(engine, enclave) {
        let state = match h.liveness() {
            lock::Liveness::Running | lock::Liveness::Unknown => {
                "an apply or destroy now fails until it is released".to_string()
            }
            lock::Liveness::Gone(why) => {
                format!("{why}, so the next apply removes the lock")
            }
        };
        errln!(
            "note: enclave \"{enclave}\" is locked by {}; {state}",
            h.describe()
        );
    }
}

/// Connects to Docker or prints why not.
pub fn connect() -> Result<Engine, i32> {
    Engine::connect().map_err(|e| {
        errln!("error: {e:#}");
        errln!("nothing was changed");
        1
    })
}

/// Every missing image and unsupported feature, printed; `Err(1)` if any.
pub fn preflight(engine: &Engine, loaded: &Loaded) -> Result<(), i32> {
    let diags = preflight_problems(engine, loaded)?;
    if diags.is_empty() {
        Ok(())
    } else {
        print_diagnostics(&diags, &loaded.sources);
        Err(1)
    }
}

/// For `kplan plan`, which changes nothing: the same problems, printed as warnings so the
/// plan is still shown, with a last line saying that `apply` will stop on them.
pub fn preflight_warnings(engine: &Engine, loaded: &Loaded) -> Result<(), i32> {
    let mut diags = preflight_problems(engine, loaded)?;
    if diags.is_empty() {
        return Ok(());
    }
    for d in &mut diags {
        d.severity = Severity::Warning;
    }
    print_diagnostics(&diags, &loaded.sources);
    errln!(
        "warning: `kplan apply` will stop on {} until {} fixed\n",
        if diags.len() == 1 {
            "this problem"
        } else {
            "these problems"
        },
        if diags.len() == 1 {
            "it is"
        } else {
            "they are"
        },
    );
    Ok(())
}

fn preflight_problems(engine: &Engine, loaded: &Loaded) -> Result<Vec<Diagnostic>, i32> {
    let mut diags = images::unsupported(&loaded.plan);
    diags.extend(transient::tasks_on_removed_services(
        &loaded.plan,
        &loaded.info,
    ));
    match images::missing_images(engine, &loaded.plan) {
        Ok(d) => diags.extend(d),
        Err(e) => {
            errln!("error: {e:#}");
            return Err(1);
        }
    }
    Ok(diags)
}
