//! The file watcher of `apply --watch`: notify's recommended watcher (inotify on Linux,
//! FSEvents on macOS) under notify's debouncer, watching the package directory
//! recursively, so files that appear later and files that editors replace by renaming a
//! new file over the old one (vim, IntelliJ's safe write) are seen like any other
//! change. Everything it sees, and the signals diverted to the watch loop, arrive on
//! one channel as [`Wake`]s, in the order they happened.

use notify_debouncer_full::notify::event::{AccessKind, AccessMode, MetadataKind, ModifyKind};
use notify_debouncer_full::notify::{self, EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{new_debouncer, DebounceEventResult, Debouncer, RecommendedCache};
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;
use std::time::Duration;

/// How long the debouncer collects a file's events before handing them on: an editor's
/// save (write a temporary file, rename it over, set its mode) is one change.
pub const DEBOUNCE: Duration = Duration::from_millis(300);

/// What wakes the watch loop.
#[derive(Debug)]
pub enum Wake {
    /// Paths that changed. `rescan`: the watcher lost events (its queue overflowed), so
    /// anything may have changed.
    Changed { paths: Vec<PathBuf>, rescan: bool },
    /// The watcher failed (it goes on watching).
    Failed(String),
    /// SIGINT, SIGTERM or SIGHUP arrived while the loop waited.
    Signal(i32),
}

/// The running watcher; it stops when dropped.
pub struct FileWatcher {
    _debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
}

/// Watches `root` recursively and each of `also` (directories) on its own, sending
/// what changes to `wake`.
pub fn watch(root: &Path, also: &[PathBuf], wake: Sender<Wake>) -> Result<FileWatcher, String> {
    let mut debouncer = new_debouncer(DEBOUNCE, None, move |result: DebounceEventResult| {
        if let Some(w) = woken_by(result) {
            let _ = wake.send(w);
        }
    })
    .map_err(|e| format!("cannot start watching files: {}", describe(&e)))?;
    let dirs = std::iter::once((root, RecursiveMode::Recursive)).chain(
        also.iter()
            .map(|d| (d.as_path(), RecursiveMode::NonRecursive)),
    );
    for (dir, mode) in dirs {
        debouncer
            .watch(dir, mode)
            .map_err(|e| format!("cannot watch {}: {}", dir.display(), describe(&e)))?;
    }
    Ok(FileWatcher {
        _debouncer: debouncer,
    })
}

/// What a batch of events says; nothing when none of them counts.
fn woken_by(result: DebounceEventResult) -> Option<Wake> {
    let wake = match result {
        Ok(events) => {
            let rescan = events.iter().any(|e| e.need_rescan());
            let mut paths: Vec<PathBuf> = events
                .into_iter()
                .filter(|e| counts(&e.kind))
                .flat_map(|e| e.event.paths)
                .collect();
            paths.sort();
            paths.dedup();
            if paths.is_empty() && !rescan {
                return None;
            }
            Wake::Changed { paths, rescan }
        }
        Err(errors) => Wake::Failed(errors.iter().map(describe).collect::<Vec<_>>().join("; ")),
    };
    Some(wake)
}

/// Whether an event can change what a file holds. inotify reports every open and
/// close, kplan's own reads of the package among them; those change nothing, and
/// counting them would re-plan forever.
fn counts(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)) => false,
        EventKind::Any | EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) => true,
        EventKind::Other => false,
    }
}

#[expect(
    clippy::wildcard_enum_match_arm,
    reason = "notify's error kinds: only one gets a hint"
)]
fn describe(e: &notify::Error) -> String {
    match &e.kind {
        notify::ErrorKind::MaxFilesWatch => format!(
            "{e}; the package directory holds more directories than the system lets one user watch (on Linux, raise fs.inotify.max_user_watches)"
        ),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, DataChange, RemoveKind, RenameMode};

    #[test]
    fn opens_and_reads_do_not_count_writes_renames_and_removals_do() {
        assert!(!counts(&EventKind::Access(AccessKind::Open(
            AccessMode::Any
        ))));
        assert!(!counts(&EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
        assert!(!counts(&EventKind::Modify(ModifyKind::Metadata(
            MetadataKind::AccessTime
        ))));
        assert!(counts(&EventKind::Access(AccessKind::Close(
            AccessMode::Write
        ))));
        assert!(counts(&EventKind::Create(CreateKind::File)));
        assert!(counts(&EventKind::Modify(ModifyKind::Data(
            DataChange::Content
        ))));
        assert!(counts(&EventKind::Modify(ModifyKind::Name(
            RenameMode::Both
        ))));
        assert!(counts(&EventKind::Modify(ModifyKind::Metadata(
            MetadataKind::Permissions
        ))));
        assert!(counts(&EventKind::Remove(RemoveKind::File)));
    }

    /// The real watcher on a temporary directory: a file written in place, one replaced
    /// by a rename (as vim and IntelliJ save), a new directory and a file in it are all
    /// reported; reading a file is not.
    #[test]
    fn sees_writes_renames_and_new_files_but_not_reads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().canonicalize().expect("canonical");
        std::fs::write(root.join("main.star"), "a").expect("write");
        std::fs::write(root.join("t.tmpl"), "a").expect("write");
        let (tx, rx) = std::sync::mpsc::channel();
        let _w = watch(&root, &[], tx).expect("watch");
        // Every path reported until `want` is.
        let seen_until = |want: &Path| {
            let limit = std::time::Instant::now() + Duration::from_secs(60);
            let mut seen = Vec::new();
            while !seen.iter().any(|p: &PathBuf| p == want) {
                let left = limit.saturating_duration_since(std::time::Instant::now());
                match rx.recv_timeout(left) {
                    Ok(Wake::Changed { paths, .. }) => seen.extend(paths),
                    Ok(other) => panic!("unexpected {other:?}"),
                    Err(e) => panic!("no change of {} reported: {e}", want.display()),
                }
            }
            seen
        };
        let _ = std::fs::read_to_string(root.join("t.tmpl")).expect("read");
        std::fs::write(root.join("main.star"), "b").expect("write");
        let seen = seen_until(&root.join("main.star"));
        assert!(
            !seen.contains(&root.join("t.tmpl")),
            "a read counted: {seen:?}"
        );
        std::fs::write(root.join(".t.tmpl.new"), "b").expect("write");
        std::fs::rename(root.join(".t.tmpl.new"), root.join("t.tmpl")).expect("rename");
        seen_until(&root.join("t.tmpl"));
        // A new directory is watched as soon as it is reported.
        std::fs::create_dir(root.join("lib")).expect("mkdir");
        seen_until(&root.join("lib"));
        std::fs::write(root.join("lib/x.star"), "x").expect("write");
        seen_until(&root.join("lib/x.star"));
    }
}
