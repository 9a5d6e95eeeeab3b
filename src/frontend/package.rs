//! Packages and locators: the one checked resolver that every path a package controls
//! goes through (`import_module`, `read_file`, `upload_files` and the entries of the
//! directories it uploads, build contexts and the files in them, `replace` targets, the
//! main file and `kurtosis.yml`).
//!
//! Resolution is in two steps, and nothing touches the filesystem before the first:
//!
//! 1. Lexical: the locator is parsed and every component checked ([`super::locator`]);
//!    relative paths are normalised and may not climb above their repository. The
//!    result is a repository ([`Repo`]: the root package, a cached clone, or a local
//!    `replace` target) and a path below its directory.
//! 2. Real: [`Repo::contain`] resolves the path through every symbolic link and checks
//!    that the real path is still inside that repository's directory, and that it is
//!    a regular file or a directory as the caller needs (never a FIFO, socket or
//!    device, which would block or make no sense as package content).
//!
//! The root package is the directory that holds `kurtosis.yml`, whatever its `name`
//! says. The name only says where the package sits in its GitHub repository: `/x`
//! and `../x` that leave the package, and `github.com/...` locators naming it, are
//! mapped through it (into the package, or to the cached repository), never to a
//! directory above the package.
//!
//! Every refusal is a [`Refused`] error, reported as KP004 at the call that gave the
//! locator.

use super::cache;
use super::locator::{join_relative, GithubLocator};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// `kurtosis.yml`. Unknown keys are errors, as in Kurtosis.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KurtosisYml {
    #[serde(default)]
    pub name: Option<String>,
    /// Free text for people; kplan does not use it.
    #[serde(default)]
    #[allow(dead_code, reason = "kurtosis.yml's free text: parsed, never read")]
    pub description: Option<String>,
    #[serde(default)]
    pub replace: BTreeMap<String, String>,
}

/// A locator or path that kplan refuses or cannot resolve (KP004).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub message: String,
    pub hint: Option<String>,
}

impl Refused {
    pub fn new(message: impl Into<String>) -> Self {
        Refused {
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl From<String> for Refused {
    fn from(message: String) -> Self {
        Refused::new(message)
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Refused {}

const OUTSIDE_HINT: &str = "a package may only use its own files and packages from the package cache; copy what it needs into the package";

/// What a resolved path must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    /// A file or a directory (`upload_files`).
    FileOrDir,
}

/// A directory tree that locators resolve in: the root package, a cached clone, or a
/// local `replace` target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    /// Absolute, canonical directory that `/` locators start from; nothing outside it
    /// is ever read through this repository.
    pub dir: PathBuf,
    /// How files in it are shown: `""` for the root package (paths relative to it),
    /// `github.com/OWNER/REPO[@REF]` for others.
    pub display_prefix: String,
    /// Paths already resolved to real paths in this run.
    pub real_paths: RealPaths,
}

/// What [`Repo::contain`] has learnt in one run, shared by the run's repositories and
/// threads:
///
/// - the real path of every directory it resolved. Resolving each file's whole path
///   through links (`canonicalize`, one `readlink` per component) cost 4,965 system
///   calls for the 441 lookups of ethereum-package; a file or directory that is not
///   itself a link is its directory's real path joined with its name, so each
///   directory is looked at once (586 `readlink`s -> 0);
/// - every path it looked up, with its real path and metadata: ethereum-package's
///   modules import the same few modules over and over, and each lookup was an
///   `lstat` and 6,000 instructions (653 lookups of 200 paths; 3.9M of 278M
///   instructions).
///
/// Keys are the paths' bytes (see [`ResolvedFile::key`]); the lexical paths asked
/// about are built from plain components, so equal paths have equal bytes.
#[derive(Clone, Default)]
pub struct RealPaths(Arc<Mutex<Known>>);

#[derive(Default)]
struct Known {
    dirs: HashMap<OsString, PathBuf>,
    paths: HashMap<OsString, (PathBuf, std::fs::Metadata)>,
}

impl RealPaths {
    fn lock(&self) -> std::sync::MutexGuard<'_, Known> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `lexical` resolved through every link, and what it is.
    fn path(&self, lexical: &Path) -> std::io::Result<(PathBuf, std::fs::Metadata)> {
        if let Some(known) = self.lock().paths.get(lexical.as_os_str()) {
            return Ok(known.clone());
        }
        let meta = std::fs::symlink_metadata(lexical)?;
        let known = match (lexical.parent(), lexical.file_name()) {
            (Some(dir), Some(name)) if !meta.file_type().is_symlink() => {
                (self.dir(dir)?.join(name), meta)
            }
            _ => {
                let real = lexical.canonicalize()?;
                let meta = std::fs::metadata(&real)?;
                (real, meta)
            }
        };
        self.lock()
            .paths
            .insert(lexical.as_os_str().to_owned(), known.clone());
        Ok(known)
    }

    /// The real path of the directory `dir`.
    fn dir(&self, dir: &Path) -> std::io::Result<PathBuf> {
        if let Some(real) = self.lock().dirs.get(dir.as_os_str()) {
            return Ok(real.clone());
        }
        // A directory that is not a link is its parent's real path joined with its
        // name: one `lstat` instead of a `readlink` per component.
        let real = match (dir.parent(), dir.file_name()) {
            (Some(parent), Some(name))
                if !std::fs::symlink_metadata(dir)?.file_type().is_symlink() =>
            {
                self.dir(parent)?.join(name)
            }
            _ => dir.canonicalize()?,
        };
        self.lock()
            .dirs
            .insert(dir.as_os_str().to_owned(), real.clone());
        Ok(real)
    }
}

/// A cache: not part of what a repository is.
impl PartialEq for RealPaths {
    fn eq(&self, _: &RealPaths) -> bool {
        true
    }
}

impl Eq for RealPaths {}

impl fmt::Debug for RealPaths {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RealPaths")
    }
}

impl Repo {
    /// The file at `parts` below this repository, checked by [`Repo::contain`].
    pub fn file(&self, parts: &[String], kind: Kind) -> Result<ResolvedFile, Refused> {
        let path = parts.iter().fold(self.dir.clone(), |p, c| p.join(c));
        let rel = parts.join("/");
        let display = if self.display_prefix.is_empty() {
            rel
        } else if rel.is_empty() {
            self.display_prefix.clone()
        } else {
            format!("{}/{rel}", self.display_prefix)
        };
        let shown = if display.is_empty() { "/" } else { &display };
        let real = self.contain(&path, shown, kind)?;
        Ok(ResolvedFile {
            path,
            real,
            display,
            repo: self.clone(),
        })
    }

    /// The one real-path check: `lexical` (a path below `self.dir`) resolved through
    /// every symbolic link must stay inside `self.dir` and be what `kind` asks for.
    /// Returns the real path; `shown` names the path in messages.
    /// Every path asked about is noted ([`super::reads`]), found or not.
    pub fn contain(&self, lexical: &Path, shown: &str, kind: Kind) -> Result<PathBuf, Refused> {
        super::reads::file(lexical);
        let (real, meta) = self.real_paths.path(lexical).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Refused::new(format!("'{shown}' does not exist"))
            } else {
                Refused::new(format!("cannot open '{shown}': {e}"))
            }
        })?;
        if !real.starts_with(&self.dir) {
            return Err(Refused::new(format!(
                "'{shown}' resolves outside its package (through a symbolic link)"
            ))
            .with_hint(OUTSIDE_HINT));
        }
        super::reads::file(&real);
        let t = meta.file_type();
        match kind {
            Kind::File | Kind::FileOrDir if t.is_file() => Ok(real),
            Kind::Dir | Kind::FileOrDir if t.is_dir() => Ok(real),
            Kind::File if t.is_dir() => Err(Refused::new(format!(
                "'{shown}' is a directory, not a file"
            ))),
            Kind::Dir if t.is_file() => Err(Refused::new(format!(
                "'{shown}' is a file, not a directory"
            ))),
            _ => Err(Refused::new(format!(
                "'{shown}' is {}, not a regular file or directory",
                special_kind(&t)
            ))
            .with_hint(
                "a package holds only regular files and directories; remove it from the package",
            )),
        }
    }

    /// Like [`Repo::contain`] for a path that need not exist yet (a build file): if it
    /// does not, its nearest existing ancestor must be inside the repository.
    pub fn contain_if_present(
        &self,
        lexical: &Path,
        shown: &str,
        kind: Kind,
    ) -> Result<(), Refused> {
        super::reads::file(lexical);
        if lexical.symlink_metadata().is_ok() {
            return self.contain(lexical, shown, kind).map(|_| ());
        }
        let mut dir = lexical.parent();
        while let Some(d) = dir {
            if d.symlink_metadata().is_ok() {
                return self.contain(d, shown, Kind::Dir).map(|_| ());
            }
            dir = d.parent();
        }
        Ok(())
    }
}

/// Names a file type that is neither a regular file nor a directory.
#[cfg(unix)]
fn special_kind(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_fifo() {
        "a named pipe (FIFO)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::FileType) -> &'static str {
    "a special file"
}

/// A file a locator resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedFile {
    /// The path as the locator names it (below `repo.dir`, no `..`): relative locators
    /// in this file start from its directory.
    pub path: PathBuf,
    /// The checked real path (symbolic links resolved, inside `repo.dir`): what is read.
    pub real: PathBuf,
    /// Stable display path (no absolute paths), used in spans.
    pub display: String,
    pub repo: Repo,
}

impl ResolvedFile {
    /// The real path as a map key. `Path`'s own `Hash` walks the path's components
    /// (it must agree with its component-wise `==`): 1,500 instructions a lookup, 5M
    /// of the 278M instructions of ethereum-package -> compose. Real paths are
    /// normalized, so their bytes are as good a key and hash in a tenth of that.
    pub fn key(&self) -> &OsStr {
        self.real.as_os_str()
    }
}

/// Everything needed to resolve locators for one run.
#[derive(Debug, Clone)]
pub struct Packages {
    pub root: Repo,
    /// The root package's `name` (`github.com/...`), or a name derived from the path.
    pub root_name: String,
    /// Where the root package sits in its GitHub repository, when its name is a
    /// `github.com/OWNER/REPO[/PATH]` locator.
    pub root_home: Option<GithubLocator>,
    pub root_yml: KurtosisYml,
    /// The root is a standalone `.star` script (no kurtosis.yml): it has no package, so
    /// relative locators in it are refused, as in Kurtosis.
    pub standalone: bool,
    pub cache: PathBuf,
    pub offline: bool,
}

impl Packages {
    /// A copy that never fetches: a repository missing from the package cache is
    /// refused as with `--offline` (for parsing ahead, which must not fetch).
    pub fn without_fetching(&self) -> Packages {
        Packages {
            offline: true,
            ..self.clone()
        }
    }

    /// Where `from` lies below its repository's directory, as components.
    fn components_of(from: &ResolvedFile) -> Vec<String> {
        from.path
            .strip_prefix(&from.repo.dir)
            .map(|rel| {
                rel.components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Checks a path given relative to a resolved directory (a build file or flake
    /// directory inside its build context): it must be relative and stay inside the
    /// directory's package, but need not exist yet.
    pub fn inside(&self, dir: &ResolvedFile, rel: &str) -> Result<(), Refused> {
        let shown = format!("{}/{rel}", dir.display.trim_end_matches('/'));
        if rel.starts_with('/') {
            return Err(Refused::new(format!(
                "'{rel}' is an absolute path; it must be relative to the build context '{}'",
                dir.display
            ))
            .with_hint(OUTSIDE_HINT));
        }
        let parts = join_relative(&Self::components_of(dir), rel)
            .map_err(|e| Refused::new(e).with_hint(OUTSIDE_HINT))?;
        let path = parts.iter().fold(dir.repo.dir.clone(), |p, c| p.join(c));
        dir.repo.contain_if_present(&path, &shown, Kind::FileOrDir)
    }

    /// The root package's path inside its GitHub repository (from its name).
    fn root_subpath(&self) -> &[String] {
        self.root_home
            .as_ref()
            .map(|h| h.path.as_slice())
            .unwrap_or(&[])
    }

    /// Resolves a locator used in `from`: the one entry point for package-controlled paths.
    pub fn resolve(
        &self,
        locator: &str,
        from: &ResolvedFile,
        kind: Kind,
    ) -> Result<ResolvedFile, Refused> {
        if locator.is_empty() {
            return Err(Refused::new("the locator is empty"));
        }
        if locator.starts_with("http://") || locator.starts_with("https://") {
            return Err(Refused::new(format!(
                "'{locator}' is a URL; kplan needs every input in the package or the package cache"
            ))
            .with_hint("download the file into the package and use a relative path"));
        }
        if locator.starts_with("github.com/") {
            let loc = GithubLocator::parse(locator).map_err(|e| {
                Refused::new(e).with_hint("write it as github.com/OWNER/REPO[@REF]/PATH: plain names, no '..', nothing starting with '-'")
            })?;
            return self.resolve_github(&loc, kind, from.repo == self.root);
        }
        let is_root = from.repo == self.root;
        if is_root && self.standalone {
            return Err(Refused::new(format!(
                "'{locator}' is a relative locator, but a standalone script has no package to resolve it in"
            ))
            .with_hint("make the script a package: put a kurtosis.yml (`name: github.com/OWNER/REPO`) next to it"));
        }
        let home: &[String] = if is_root { self.root_subpath() } else { &[] };
        let (base, rel) = if let Some(rel) = locator.strip_prefix('/') {
            (Vec::new(), rel)
        } else if locator.starts_with('.') {
            let mut base = home.to_vec();
            base.extend(Self::components_of(from));
            base.pop(); // the file itself
            (base, locator)
        } else {
            return Err(Refused::new(format!(
                "'{locator}' is not a locator"
            ))
            .with_hint("use a path relative to this file ('./x.star', '../x.star'), to the repository root ('/src/x.star'), or github.com/OWNER/REPO/PATH"));
        };
        // Relative to the repository: for the root package that is the repository its
        // name places it in, of which it may be a subdirectory.
        let parts =
            join_relative(&base, rel).map_err(|e| Refused::new(e).with_hint(OUTSIDE_HINT))?;
        match parts.strip_prefix(home) {
            Some(inside) => from.repo.file(inside, kind),
            None => {
                // Outside the root package but inside its repository: another package
                // of that repository, from the cache, as Kurtosis fetches it.
                let home_loc = self.root_home.clone().ok_or_else(|| {
                    Refused::new(format!("'{locator}' points outside its package"))
                })?;
                let loc = GithubLocator {
                    path: parts,
                    ..home_loc
                };
                self.resolve_github(&loc, kind, false)
            }
        }
    }

    /// A `github.com/...` locator: the root package (by its name), a `replace` target,
    /// or the cache.
    fn resolve_github(
        &self,
        loc: &GithubLocator,
        kind: Kind,
        from_root: bool,
    ) -> Result<ResolvedFile, Refused> {
        if let Some(home) = &self.root_home {
            let same_repo = home.owner == loc.owner
                && home.repo == loc.repo
                && (loc.reference.is_none() || loc.reference == home.reference);
            if let Some(rest) = loc
                .path
                .strip_prefix(home.path.as_slice())
                .filter(|_| same_repo)
            {
                if from_root {
                    return Err(Refused::new(format!(
                        "'{loc}' points into this package ({}); Kurtosis allows only relative locators within a package",
                        self.root_name
                    ))
                    .with_hint(format!("write it relative to the package: '/{}'", rest.join("/"))));
                }
                return self.root.file(rest, kind);
            }
        }
        if let Some(r) = self.replacement(loc)? {
            return r.resolve(self, kind);
        }
        let repo = self.cached(loc)?;
        repo.file(&loc.path, kind)
    }

    /// The `replace` entry of the root kurtosis.yml for `loc`: the longest matching
    /// prefix wins.
    fn replacement(&self, loc: &GithubLocator) -> Result<Option<Replacement>, Refused> {
        let full = loc.full();
        let mut best: Option<(&str, &String)> = None;
        for (from, to) in &self.root_yml.replace {
            let from_trim = from.trim_end_matches('/');
            if (full == from_trim || full.starts_with(&format!("{from_trim}/")))
                && best.is_none_or(|(b, _)| from_trim.len() > b.len())
            {
                best = Some((from_trim, to));
            }
        }
        let Some((from, to)) = best else {
            return Ok(None);
        };
        let suffix: Vec<String> = full[from.len()..]
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let entry = format!("replace target '{to}' for '{from}' in kurtosis.yml");
        if to.starts_with('.') || to.starts_with('/') {
            return Ok(Some(Replacement::Local {
                to: to.clone(),
                from: from.to_owned(),
                entry,
                suffix,
            }));
        }
        let target = GithubLocator::parse(to).map_err(|e| format!("{entry}: {e}"))?;
        let mut path = target.path.clone();
        path.extend(suffix);
        Ok(Some(Replacement::Remote(GithubLocator { path, ..target })))
    }

    /// A local `replace` target: a directory with a kurtosis.yml inside the root package.
    fn local_replacement(&self, to: &str, from: &str, entry: &str) -> Result<Repo, Refused> {
        let hint = "a local replacement must be a directory inside the package (e.g. ./vendor/NAME); for a checkout elsewhere, link it into the package cache as github.com/OWNER/REPO";
        if !to.starts_with('.') {
            return Err(Refused::new(format!("{entry} is an absolute path")).with_hint(hint));
        }
        let parts = join_relative(&[], to)
            .map_err(|_| Refused::new(format!("{entry} leaves the package")).with_hint(hint))?;
        let path = parts.iter().fold(self.root.dir.clone(), |p, c| p.join(c));
        let dir = self
            .root
            .contain(&path, to, Kind::Dir)
            .map_err(|e| Refused::new(format!("{entry}: {}", e.message)).with_hint(hint))?;
        let repo = Repo {
            dir,
            display_prefix: from.to_owned(),
            real_paths: self.root.real_paths.clone(),
        };
        repo.file(&["kurtosis.yml".to_owned()], Kind::File)
            .map_err(|_| Refused::new(format!("{entry} has no kurtosis.yml")))?;
        Ok(repo)
    }

    /// The cached clone of `loc`'s repository, fetched when missing.
    fn cached(&self, loc: &GithubLocator) -> Result<Repo, Refused> {
        let dir = cache::entry(&self.cache, loc);
        if !dir.is_dir() {
            cache::fetch(&self.cache, loc, &dir, self.offline)?;
        }
        // The cache itself is the user's: an entry may be a link to a checkout.
        let dir = self
            .root
            .real_paths
            .dir(&dir)
            .map_err(|e| format!("package cache entry {}: {e}", dir.display()))?;
        Ok(Repo {
            dir,
            display_prefix: loc.cache_key(),
            real_paths: self.root.real_paths.clone(),
        })
    }
}

/// Where a `replace` entry sends a locator.
enum Replacement {
    Local {
        to: String,
        from: String,
        entry: String,
        suffix: Vec<String>,
    },
    Remote(GithubLocator),
}

impl Replacement {
    fn resolve(self, packages: &Packages, kind: Kind) -> Result<ResolvedFile, Refused> {
        match self {
            Replacement::Local {
                to,
                from,
                entry,
                suffix,
            } => {
                let repo = packages.local_replacement(&to, &from, &entry)?;
                repo.file(&suffix, kind)
            }
            Replacement::Remote(loc) => {
                let repo = packages.cached(&loc)?;
                repo.file(&loc.path, kind)
            }
        }
    }
}

/// Reads and parses a `kurtosis.yml` (already checked to be a regular file of the package).
pub fn read_kurtosis_yml(path: &Path) -> Result<KurtosisYml, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if text.trim().is_empty() {
        return Ok(KurtosisYml::default());
    }
    serde_yaml::from_str(&text).map_err(|e| {
        format!("kurtosis.yml is not valid: {e} (allowed keys: name, description, replace)")
    })
}
