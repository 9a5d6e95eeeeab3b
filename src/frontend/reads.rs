//! What one interpretation looked at on the filesystem: every path the checked resolver
//! ([`super::package::Repo::contain`]) was asked about — found or not, as written and
//! as resolved through links — and the directories whose whole content counts (those
//! `upload_files` walks, build contexts). `kplan apply --watch` re-plans when one of
//! them changes, so a path that did not exist is kept too: creating it is a change.
//!
//! Recording is per thread: [`record`] collects what the closure's interpretation
//! touches, on the thread that runs it (interpretations run on a thread of their own,
//! `run::interpret`); outside it [`file()`] and [`tree()`] do nothing. A module
//! evaluated ahead on the second thread is recorded there and [`merge`]d into the
//! evaluation's record when the evaluation takes the module.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The paths one interpretation depended on (absolute; packages from the cache too).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reads {
    /// Files and directories looked up (including ones that did not exist).
    pub files: BTreeSet<PathBuf>,
    /// Directories whose every entry counts: a file added anywhere below one is a change.
    pub trees: BTreeSet<PathBuf>,
}

impl Reads {
    /// Whether a change at `path` can change the interpretation: it is a path that was
    /// looked up, a directory above one (renamed or removed with it), or lies inside a
    /// directory whose whole content was read.
    pub fn depends_on(&self, path: &Path) -> bool {
        self.files.contains(path)
            || self
                .files
                .range(path.to_path_buf()..)
                .next()
                .is_some_and(|f| f.starts_with(path))
            || self.trees.iter().any(|t| path.starts_with(t))
    }

    /// Only what lies below `root` and not below `exclude` (the package cache).
    pub fn within(self, root: &Path, exclude: Option<&Path>) -> Reads {
        let keep = |p: &PathBuf| p.starts_with(root) && !exclude.is_some_and(|x| p.starts_with(x));
        Reads {
            files: self.files.into_iter().filter(keep).collect(),
            trees: self.trees.into_iter().filter(keep).collect(),
        }
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Reads>> = const { RefCell::new(None) };
}

/// Runs `f`, returning its result and every path it looked up on this thread.
pub fn record<T>(f: impl FnOnce() -> T) -> (T, Reads) {
    let outer = CURRENT.with(|c| c.borrow_mut().replace(Reads::default()));
    let result = f();
    let reads = CURRENT.with(|c| std::mem::replace(&mut *c.borrow_mut(), outer));
    (result, reads.unwrap_or_default())
}

/// Whether this thread is recording.
pub fn recording() -> bool {
    CURRENT.with(|c| c.borrow().is_some())
}

/// Adds what another thread recorded (while recording).
pub fn merge(other: &Reads) {
    CURRENT.with(|c| {
        if let Some(r) = c.borrow_mut().as_mut() {
            r.files.extend(other.files.iter().cloned());
            r.trees.extend(other.trees.iter().cloned());
        }
    });
}

/// Notes a path looked up (while recording).
pub fn file(path: &Path) {
    CURRENT.with(|c| {
        if let Some(r) = c.borrow_mut().as_mut() {
            r.files.insert(absolute(path));
        }
    });
}

/// Notes a directory whose whole content was read (while recording).
pub fn tree(path: &Path) {
    CURRENT.with(|c| {
        if let Some(r) = c.borrow_mut().as_mut() {
            r.trees.insert(absolute(path));
        }
    });
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads(files: &[&str], trees: &[&str]) -> Reads {
        Reads {
            files: files.iter().map(PathBuf::from).collect(),
            trees: trees.iter().map(PathBuf::from).collect(),
        }
    }

    #[test]
    fn a_path_counts_when_read_above_one_read_or_inside_a_tree() {
        let r = reads(&["/p/main.star", "/p/lib/x.star"], &["/p/static"]);
        assert!(r.depends_on(Path::new("/p/main.star")));
        assert!(
            r.depends_on(Path::new("/p/lib")),
            "a directory renamed away"
        );
        assert!(r.depends_on(Path::new("/p/static/new/file.txt")));
        assert!(!r.depends_on(Path::new("/p/.main.star.swp")));
        assert!(!r.depends_on(Path::new("/p/lib/x.star~")));
        assert!(!r.depends_on(Path::new("/p/li")));
        assert!(!r.depends_on(Path::new("/p/lib2/x.star")));
    }

    #[test]
    fn within_keeps_the_package_and_drops_the_cache() {
        let r = reads(
            &["/p/main.star", "/p/.cache/x.star", "/elsewhere/a"],
            &["/p/d"],
        );
        let w = r.within(Path::new("/p"), Some(Path::new("/p/.cache")));
        assert_eq!(w, reads(&["/p/main.star"], &["/p/d"]));
    }

    #[test]
    fn nothing_is_kept_outside_record_and_records_nest() {
        file(Path::new("/before"));
        let ((), outer) = record(|| {
            file(Path::new("/a"));
            let ((), inner) = record(|| tree(Path::new("/t")));
            assert_eq!(inner, reads(&[], &["/t"]));
            file(Path::new("/b"));
        });
        assert_eq!(outer, reads(&["/a", "/b"], &[]));
    }
}
