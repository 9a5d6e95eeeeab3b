//! The package cache: where it is, and fetching a missing repository into it with
//! `git`. A fetch leaves no trace unless it succeeds: the clone goes into a temporary
//! directory at the top of the cache and is renamed into place only when complete;
//! on failure the temporary directory, and any directory made for it, is removed.

use super::locator::GithubLocator;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The package cache: `--package-cache` > `$KPLAN_PACKAGE_CACHE` > the user's cache dir.
pub fn cache_dir(flag: Option<&Path>) -> PathBuf {
    if let Some(p) = flag {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("KPLAN_PACKAGE_CACHE").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    if let Some(p) = std::env::var_os("XDG_CACHE_HOME").filter(|p| !p.is_empty()) {
        return PathBuf::from(p).join("kplan/packages");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".cache/kplan/packages"),
        None => PathBuf::from(".kplan-cache/packages"),
    }
}

/// The directory a repository is cached in: `<cache>/github.com/OWNER/REPO[@REF]`.
/// The locator's components are checked names, so this is always inside the cache.
pub fn entry(cache: &Path, loc: &GithubLocator) -> PathBuf {
    cache
        .join("github.com")
        .join(&loc.owner)
        .join(loc.cache_dir_name())
}

/// Creates `dir` and its missing ancestors; returns the ones it created, outermost first.
fn create_dirs(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    let mut d = Some(dir);
    while let Some(p) = d {
        if p.as_os_str().is_empty() || p.is_dir() {
            break;
        }
        missing.push(p.to_path_buf());
        d = p.parent();
    }
    missing.reverse();
    let mut created = Vec::new();
    for p in missing {
        match std::fs::create_dir(&p) {
            Ok(()) => created.push(p),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                remove_empty(&created);
                return Err(e);
            }
        }
    }
    Ok(created)
}

/// Removes directories this run created, innermost first, if they are still empty.
fn remove_empty(created: &[PathBuf]) {
    for d in created.iter().rev() {
        let _ = std::fs::remove_dir(d);
    }
}

/// What a fetch made so far, undone unless [`Staging::keep`] is called.
struct Staging {
    tmp: PathBuf,
    created: Vec<PathBuf>,
    keep: bool,
}

impl Staging {
    fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.tmp);
            remove_empty(&self.created);
        }
    }
}

/// Clones the repository of `loc` into `dest` (its [`entry`]), checking out its ref.
pub fn fetch(cache: &Path, loc: &GithubLocator, dest: &Path, offline: bool) -> Result<(), String> {
    let key = loc.cache_key();
    if offline {
        return Err(format!(
            "package {key} is not in the package cache ({}) and --offline is set; run once without --offline, or put a copy at {}",
            cache.display(),
            dest.display()
        ));
    }
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let created = create_dirs(cache)
        .map_err(|e| format!("cannot create the package cache {}: {e}", cache.display()))?;
    let mut staging = Staging {
        tmp: cache.join(format!(
            ".clone-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        )),
        created,
        keep: false,
    };
    // KPLAN_GITHUB_URL points clones at a mirror (or, in tests, a local directory).
    let base = std::env::var("KPLAN_GITHUB_URL").unwrap_or_else(|_| "https://github.com".into());
    let url = format!(
        "{}/{}/{}.git",
        base.trim_end_matches('/'),
        loc.owner,
        loc.repo
    );
    let mut clone = Command::new("git");
    clone.args(["clone", "--quiet"]);
    if loc.reference.is_none() {
        clone.args(["--depth", "1"]);
    }
    let out = clone
        .arg("--")
        .arg(&url)
        .arg(&staging.tmp)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .map_err(|e| {
            format!(
                "cannot run git to fetch {key}: {e}; put a copy at {}",
                dest.display()
            )
        })?;
    if !out.status.success() {
        return Err(format!(
            "cloning {url} into the package cache failed: {}; put a copy at {} or use --package-cache",
            String::from_utf8_lossy(&out.stderr).trim(),
            dest.display()
        ));
    }
    if let Some(r) = &loc.reference {
        let o = Command::new("git")
            .args(["-c", "advice.detachedHead=false", "checkout", "--quiet"])
            .args(["--end-of-options", r, "--"])
            .current_dir(&staging.tmp)
            .output();
        if !matches!(&o, Ok(o) if o.status.success()) {
            return Err(format!("{url} has no ref '{r}'"));
        }
    }
    let parent = dest.parent().unwrap_or(cache);
    let more = create_dirs(parent).map_err(|e| {
        format!(
            "cannot create {} in the package cache: {e}",
            parent.display()
        )
    })?;
    staging.created.extend(more);
    match std::fs::rename(&staging.tmp, dest) {
        Ok(()) => {
            staging.keep();
            Ok(())
        }
        // Another kplan cached it meanwhile: use that one.
        Err(_) if dest.is_dir() => Ok(()),
        Err(e) => Err(format!(
            "cannot move the clone of {key} into the cache at {}: {e}",
            dest.display()
        )),
    }
}
