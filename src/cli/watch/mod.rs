//! `kplan apply --watch`: apply, then apply again whenever the package changes, until
//! a signal stops it.
//!
//! Each cycle is what `kplan apply --yes` does ([`super::apply::converge`]): interpret
//! and validate, check images, print the plan, apply, print the result. A cycle that
//! does not interpret or validate prints every diagnostic and leaves the enclave as it
//! was; one that fails while applying says so, as apply does. Either way the watch goes
//! on, and the next change tries again.
//!
//! What is watched: the paths the last interpretation looked at inside the package
//! directory ([`crate::frontend::Reads`]: its own files, local imports, templates,
//! uploaded directories; a file it looked for and did not find too), never the package
//! cache; and the `--args-file`. The watcher ([`files`]) sees the whole package
//! directory; a change counts when it touches one of those paths (or a directory above
//! one, or anything inside an uploaded directory).
//!
//! The enclave is chosen at the first cycle that loads (`--enclave`, or the package's
//! name) and its lock taken then and held until the watch stops, so no other kplan
//! applies in between. Signals: while waiting for a change, the loop takes SIGINT,
//! SIGTERM and SIGHUP itself ([`lock::divert_signals`]), stops the watcher, releases the
//! lock and exits with 128 + the signal's number; during a cycle the lock's own handler
//! releases the lock and exits the same way, keeping what the apply finished.

mod files;

use super::apply::{self, ApplyArgs};
use super::pipeline;
use crate::console::errln;
use crate::executor::engine::Engine;
use crate::executor::lock::{self, EnclaveLock};
use crate::executor::state::EnclaveState;
use crate::frontend::{self, ClusterType, Reads};
use files::Wake;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};

/// The enclave a watch applies to, and its lock.
struct Target {
    name: String,
    st: EnclaveState,
    _lock: EnclaveLock,
}

/// A watch session.
struct Session<'a> {
    args: &'a ApplyArgs,
    engine: Engine,
    /// The package directory (canonical): what the watcher watches.
    root: PathBuf,
    /// The package cache, when it lies inside the package directory.
    cache: Option<PathBuf>,
    /// The `--args-file` (absolute), which counts as a package file.
    args_file: Option<PathBuf>,
    target: Option<Target>,
    /// What the last cycle's interpretation looked at.
    reads: Reads,
}

/// Runs the watch; returns only on a fatal error (`Err(1)`: no engine, the enclave
/// locked by another kplan, nothing to watch) or a signal (`Err(128 + signal)`).
pub fn run(args: &ApplyArgs) -> Result<i32, i32> {
    let root = package_root(&args.package.package)?;
    let engine = super::enclave::connect()?;
    let args_file = args_file(args)?;
    let (tx, rx) = mpsc::channel();
    let also: Vec<PathBuf> = args_file
        .iter()
        .filter(|f| !f.starts_with(&root))
        .filter_map(|f| f.parent().map(Path::to_path_buf))
        .collect();
    let _watcher = files::watch(&root, &also, tx.clone()).map_err(|e| {
        errln!("error: {e}");
        1
    })?;
    let cache = frontend::cache_dir(args.package.package_cache.as_deref())
        .canonicalize()
        .ok();
    let mut session = Session {
        args,
        engine,
        root,
        cache,
        args_file,
        target: None,
        reads: Reads::default(),
    };
    loop {
        session.cycle()?;
        session.wait(&tx, &rx)?;
    }
}

/// The directory of a package on this machine: the package directory, or the one
/// holding a `.star` file.
fn package_root(package: &str) -> Result<PathBuf, i32> {
    if package.starts_with("github.com/") {
        errln!(
            "error: --watch needs a package on this machine (a directory or a .star file); '{package}' comes from the package cache, which kplan does not watch"
        );
        return Err(1);
    }
    let path = Path::new(package).canonicalize().map_err(|e| {
        errln!("error: cannot open package '{package}': {e}");
        1
    })?;
    if path.is_dir() {
        return Ok(path);
    }
    Ok(path.parent().map(Path::to_path_buf).unwrap_or(path))
}

/// The `--args-file`, absolute (it need not exist yet: creating it is a change).
fn args_file(args: &ApplyArgs) -> Result<Option<PathBuf>, i32> {
    let Some(f) = &args.package.args_file else {
        return Ok(None);
    };
    let abs = std::path::absolute(f).map_err(|e| {
        errln!("error: cannot watch --args-file {}: {e}", f.display());
        1
    })?;
    // Named as the watcher names it: through the real directory that holds it.
    Ok(Some(
        match (abs.parent().map(Path::canonicalize), abs.file_name()) {
            (Some(Ok(dir)), Some(name)) => dir.join(name),
            _ => abs,
        },
    ))
}

impl Session<'_> {
    /// One plan and apply. Fails only when the watch cannot go on.
    fn cycle(&mut self) -> Result<(), i32> {
        let (loaded, reads) = pipeline::load_recording(&self.args.package, ClusterType::Docker);
        let mut reads = reads.within(&self.root, self.cache.as_deref());
        reads.files.extend(self.args_file.clone());
        self.reads = reads;
        let Ok(loaded) = loaded else {
            return Ok(());
        };
        if self.target.is_none() {
            let name = self.args.enclave.for_package(&loaded)?;
            let st = EnclaveState::new(&self.args.enclave.state_root(), &name);
            let lock = apply::take_lock(&self.engine, &st, &name, "apply --watch")?;
            self.target = Some(Target {
                name,
                st,
                _lock: lock,
            });
        }
        let Some(target) = &self.target else {
            return Ok(());
        };
        if self.args.enclave.enclave.is_none() {
            let now = crate::executor::enclave_from_package(&loaded.plan.package.name);
            if now != target.name {
                errln!(
                    "note: the package is now named for enclave \"{now}\"; this watch goes on applying to \"{}\" (stop it and apply again to use the new name)",
                    target.name
                );
            }
        }
        if super::enclave::preflight(&self.engine, &loaded).is_err() {
            errln!("nothing was changed");
            return Ok(());
        }
        // Its failures are printed; the next change tries again.
        let _ = apply::converge(self.args, &self.engine, &target.st, &target.name, &loaded);
        Ok(())
    }

    /// Waits for a change to what the last cycle read; `Err(128 + signal)` once it has
    /// stopped on a signal.
    fn wait(&mut self, tx: &Sender<Wake>, rx: &Receiver<Wake>) -> Result<(), i32> {
        errln!(
            "\nWatching the {} the package read in {}; Ctrl-C stops.",
            count(self.reads.files.len() + self.reads.trees.len(), "path"),
            self.root.display()
        );
        let diverted = {
            let tx = tx.clone();
            lock::divert_signals(move |sig| {
                let _ = tx.send(Wake::Signal(sig));
            })
        };
        let mut changed = Vec::new();
        loop {
            match rx.recv() {
                Ok(Wake::Signal(sig)) => return Err(self.stop(sig)),
                Ok(Wake::Failed(e)) => errln!("warning: watching files: {e}"),
                Ok(Wake::Changed { paths, rescan }) => {
                    changed.extend(paths.into_iter().filter(|p| self.reads.depends_on(p)));
                    if rescan && changed.is_empty() {
                        changed.push(self.root.clone());
                    }
                }
                // Never: this loop holds a sender itself.
                Err(_) => return Err(1),
            }
            if !changed.is_empty() {
                break;
            }
        }
        // Back to the lock's own handler for the cycle; a signal that came meanwhile
        // is waiting in the channel.
        drop(diverted);
        while let Ok(w) = rx.try_recv() {
            match w {
                Wake::Signal(sig) => return Err(self.stop(sig)),
                Wake::Changed { paths, .. } => {
                    changed.extend(paths.into_iter().filter(|p| self.reads.depends_on(p)));
                }
                Wake::Failed(e) => errln!("warning: watching files: {e}"),
            }
        }
        errln!("\n{}", self.describe_change(changed));
        Ok(())
    }

    /// "Changed: main.star, templates/site.tmpl; planning again."
    fn describe_change(&self, mut changed: Vec<PathBuf>) -> String {
        changed.sort();
        changed.dedup();
        let shown: Vec<String> = changed
            .iter()
            .map(|p| match p.strip_prefix(&self.root) {
                Ok(rel) if rel.as_os_str().is_empty() => ".".to_string(),
                Ok(rel) => rel.display().to_string(),
                Err(_) => p.display().to_string(),
            })
            .collect();
        let list = match shown.len() {
            0..=5 => shown.join(", "),
            n => format!("{} and {} more", shown[..4].join(", "), n - 4),
        };
        format!("Changed: {list}; planning again.")
    }

    /// Releases the lock and says so; the exit status for `sig`.
    fn stop(&mut self, sig: i32) -> i32 {
        match self.target.take() {
            Some(t) => {
                let name = t.name.clone();
                drop(t);
                errln!("\nStopped watching; released the lock of enclave \"{name}\".");
            }
            None => errln!("\nStopped watching."),
        }
        128 + sig
    }
}

fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}
