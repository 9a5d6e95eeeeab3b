//! What Docker cannot hold, kept per enclave in the state directory: task results
//! (keyed by the hash of each task's resolved inputs, not its position) and the
//! contents of artifacts produced during apply (tar files named by digest). Every write
//! goes to a temporary file that is renamed into place, so a crash leaves the old or
//! the new state, never half of one. The local half of the enclave lock (see
//! [`super::lock`]) is an OS file lock (flock) on a file in the enclave's directory,
//! which the kernel releases when the holder dies, even by SIGKILL; it keeps two
//! kplans that share one state directory (applying same-named enclaves on two
//! engines) from writing it at once. The file, and the directories made for it, are
//! removed again on release, so an apply that changed nothing leaves nothing behind.

use super::results::{FileEntry, TaskResult};
use anyhow::{anyhow, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The state directory: `--state-dir` > `$KPLAN_STATE_DIR` > `$XDG_STATE_HOME/kplan` >
/// `~/.local/state/kplan`.
pub fn state_root(flag: Option<&Path>) -> PathBuf {
    if let Some(p) = flag {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("KPLAN_STATE_DIR").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if let Some(p) = std::env::var_os("XDG_STATE_HOME").filter(|p| !p.is_empty()) {
        return PathBuf::from(p).join("kplan");
    }
    match std::env::var_os("HOME").filter(|p| !p.is_empty()) {
        Some(h) => PathBuf::from(h).join(".local/state/kplan"),
        None => std::env::temp_dir().join("kplan-state"),
    }
}

/// What was recorded by earlier applies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Recorded {
    /// Task key -> result.
    #[serde(default)]
    pub tasks: BTreeMap<String, TaskResult>,
    /// `store_service_files` key (container + path) -> digest.
    #[serde(default)]
    pub service_files: BTreeMap<String, String>,
    /// Containers whose ports or ready condition failed: replaced by the next apply.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub unready: BTreeSet<String>,
    /// Container id -> how often kplan started it again after it had stopped (part of
    /// its version, see [`super::upstream`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub restarts: BTreeMap<String, u32>,
    /// Service -> the static address kplan gave it for its IP placeholder.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ips: BTreeMap<String, String>,
    /// Digests whose content is stored (filled when loading, not saved).
    #[serde(skip)]
    pub blobs: BTreeSet<String>,
}

impl Recorded {
    /// The version of a service's container (see [`super::upstream`]).
    pub fn container_version(&self, id: &str) -> String {
        super::upstream::container_version(id, self.restarts.get(id).copied().unwrap_or(0))
    }
}

/// One enclave's state directory.
#[derive(Debug, Clone)]
pub struct EnclaveState {
    pub dir: PathBuf,
}

/// Holds the local lock while alive; removes its file (and the directories made for
/// it, when empty) on release.
#[derive(Debug)]
pub struct Lock {
    _file: File,
    path: PathBuf,
    /// Directories made for it, innermost first.
    created: Vec<PathBuf>,
}

impl Lock {
    /// The lock file, for a signal handler that must remove it before exiting.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Still holding the flock: a waiter that opened this file re-checks that the
        // path names the file it locked, and starts over when it does not.
        let _ = fs::remove_file(&self.path);
        for d in &self.created {
            let _ = fs::remove_dir(d);
        }
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("state"),
        std::process::id()
    ));
    {
        let mut f =
            File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(bytes)
            .and_then(|_| f.sync_all())
            .with_context(|| format!("cannot write {}", tmp.display()))?;
    }
    fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

impl EnclaveState {
    pub fn new(root: &Path, enclave: &str) -> EnclaveState {
        EnclaveState {
            dir: root.join(enclave),
        }
    }

    fn file(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    fn blob(&self, digest: &str) -> PathBuf {
        self.dir.join("artifacts").join(format!("{digest}.tar"))
    }

    /// Takes the local lock, or fails at once naming the process that holds it.
    pub fn lock(&self) -> Result<Lock> {
        use std::os::unix::fs::MetadataExt;
        // The directories made here (innermost first), to remove again on release.
        let first_existing = self.dir.ancestors().find(|a| a.exists());
        let created: Vec<PathBuf> = self
            .dir
            .ancestors()
            .take_while(|a| Some(*a) != first_existing)
            .map(Path::to_path_buf)
            .collect();
        fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create state directory {}", self.dir.display()))?;
        let path = self.dir.join("lock");
        let give_up = |e: anyhow::Error| {
            for d in &created {
                let _ = fs::remove_dir(d);
            }
            e
        };
        loop {
            let mut f = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .with_context(|| format!("cannot open lock file {}", path.display()))
                .map_err(give_up)?;
            // std's try_lock is flock(LOCK_EX | LOCK_NB) on Unix.
            if f.try_lock().is_err() {
                let mut holder = String::new();
                let _ = f.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(anyhow!(
                    "the state directory {} is in use by another kplan (pid {}): wait for it to finish, or stop it",
                    self.dir.display(),
                    if holder.is_empty() { "unknown" } else { holder },
                ));
            }
            // The previous holder removes the file when it releases the lock: if the
            // path no longer names the file locked here, take the lock again.
            let same = match (fs::metadata(&path), f.metadata()) {
                (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
                _ => false,
            };
            if !same {
                continue;
            }
            let _ = f.set_len(0);
            let _ = f.rewind();
            let _ = writeln!(f, "{}", std::process::id());
            let _ = f.sync_all();
            return Ok(Lock {
                _file: f,
                path,
                created,
            });
        }
    }

    /// The recorded state (empty when there is none yet).
    pub fn load(&self) -> Result<Recorded> {
        let mut rec = match fs::read(self.file()) {
            Ok(bytes) => serde_json::from_slice::<Recorded>(&bytes).map_err(|e| {
                anyhow!(
                    "state file {} is corrupt ({e}); delete it to start over (tasks will run again)",
                    self.file().display()
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Recorded::default(),
            Err(e) => return Err(anyhow!("cannot read {}: {e}", self.file().display())),
        };
        if let Ok(rd) = fs::read_dir(self.dir.join("artifacts")) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if let Some(d) = name.strip_suffix(".tar") {
                    rec.blobs.insert(d.to_string());
                }
            }
        }
        Ok(rec)
    }

    pub fn save(&self, rec: &Recorded) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(rec)?;
        write_atomic(&self.file(), &bytes)
    }

    pub fn save_blob(&self, digest: &str, files: &[FileEntry]) -> Result<()> {
        let tar = super::tar::write(files).map_err(|e| anyhow!(e))?;
        write_atomic(&self.blob(digest), &tar)
    }

    /// Whether the content with this digest is stored.
    pub fn has_blob(&self, digest: &str) -> bool {
        self.blob(digest).is_file()
    }

    pub fn load_blob(&self, digest: &str) -> Result<Vec<FileEntry>> {
        let bytes = fs::read(self.blob(digest))
            .with_context(|| format!("cannot read artifact {}", self.blob(digest).display()))?;
        super::tar::read(&bytes).map_err(|e| anyhow!(e))
    }

    /// Removes blobs no recorded entry refers to.
    pub fn gc_blobs(&self, keep: &BTreeSet<String>) {
        if let Ok(rd) = fs::read_dir(self.dir.join("artifacts")) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if let Some(d) = name.strip_suffix(".tar") {
                    if !keep.contains(d) {
                        let _ = fs::remove_file(e.path());
                    }
                }
            }
        }
    }

    /// Deletes the enclave's state (for destroy).
    pub fn remove(&self) -> Result<()> {
        match fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(anyhow!("cannot remove {}: {e}", self.dir.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_fails_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let st = EnclaveState::new(dir.path(), "e");
        let _held = st.lock().unwrap();
        let err = st.lock().unwrap_err().to_string();
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
    }

    #[test]
    fn a_released_lock_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("new/state");
        let st = EnclaveState::new(&root, "e");
        let held = st.lock().unwrap();
        assert!(held.path().is_file());
        drop(held);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        // With state written, only the lock file goes.
        let held = st.lock().unwrap();
        st.save(&Recorded::default()).unwrap();
        drop(held);
        let left: Vec<_> = fs::read_dir(&st.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(left, vec!["state.json".to_string()]);
        // And it can be taken again.
        drop(st.lock().unwrap());
    }

    #[test]
    fn state_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let st = EnclaveState::new(dir.path(), "e");
        let mut rec = Recorded::default();
        rec.tasks.insert("k".into(), TaskResult::default());
        st.save(&rec).unwrap();
        assert_eq!(st.load().unwrap(), rec);
    }
}
