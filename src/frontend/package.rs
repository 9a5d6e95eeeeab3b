//! Packages and locators: the root package, `kurtosis.yml`, the package cache, `replace`,
//! and resolving `import_module`/`read_file`/`upload_files` locators to files, never
//! outside the package or the cache.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

/// `kurtosis.yml`. Unknown keys are errors, as in Kurtosis.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KurtosisYml {
    #[serde(default)]
    pub name: Option<String>,
    /// Free text for people; kplan does not use it.
    #[serde(default)]
    #[allow(dead_code)]
    pub description: Option<String>,
    #[serde(default)]
    pub replace: BTreeMap<String, String>,
}

/// A directory tree that locators resolve in: the root package's repository, a cached
/// clone, or a local `replace` target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    /// Absolute, canonical directory that `/` locators start from.
    pub dir: PathBuf,
    /// How files in it are shown: `""` for the root package (paths relative to it),
    /// `github.com/OWNER/REPO` for others.
    pub display_prefix: String,
}

/// A file a locator resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedFile {
    pub path: PathBuf,
    /// Stable display path (no absolute paths), used in spans.
    pub display: String,
    pub repo: Repo,
}

/// Everything needed to resolve locators for one run.
#[derive(Debug, Clone)]
pub struct Packages {
    pub root: Repo,
    /// The root package's `name` (`github.com/...`), or a name derived from the path.
    pub root_name: String,
    pub root_yml: KurtosisYml,
    /// The directory holding the root package's `kurtosis.yml` (or the script).
    pub root_package_dir: PathBuf,
    pub cache: PathBuf,
    pub offline: bool,
}

/// A parsed `github.com/OWNER/REPO[@REF]/PATH[@REF]` locator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubLocator {
    pub owner: String,
    pub repo: String,
    pub reference: Option<String>,
    pub path: String,
}

impl GithubLocator {
    pub fn parse(loc: &str) -> Result<GithubLocator, String> {
        let rest = loc
            .strip_prefix("github.com/")
            .ok_or_else(|| format!("'{loc}' is not a github.com/OWNER/REPO/PATH locator"))?;
        let (rest, trailing_ref) = match rest.rsplit_once('@') {
            Some((a, r)) if !r.contains('/') && a.matches('/').count() >= 2 => {
                (a.to_owned(), Some(r.to_owned()))
            }
            _ => (rest.to_owned(), None),
        };
        let mut parts = rest.splitn(3, '/');
        let owner = parts.next().unwrap_or_default().to_owned();
        let repo_part = parts.next().unwrap_or_default();
        let path = parts.next().unwrap_or_default().to_owned();
        let (repo, reference) = match repo_part.split_once('@') {
            Some((r, reference)) => (r.to_owned(), Some(reference.to_owned())),
            None => (repo_part.to_owned(), trailing_ref),
        };
        if owner.is_empty() || repo.is_empty() {
            return Err(format!(
                "'{loc}' must look like github.com/OWNER/REPO[@REF]/PATH"
            ));
        }
        Ok(GithubLocator {
            owner,
            repo,
            reference,
            path,
        })
    }

    /// `github.com/OWNER/REPO` (without the ref).
    pub fn repo_locator(&self) -> String {
        format!("github.com/{}/{}", self.owner, self.repo)
    }

    /// The cache directory name: `github.com/OWNER/REPO[@REF]`.
    pub fn cache_key(&self) -> String {
        match &self.reference {
            Some(r) => format!("github.com/{}/{}@{}", self.owner, self.repo, r),
            None => self.repo_locator(),
        }
    }
}

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

/// Joins `rel` onto `base` lexically, refusing to climb above `base`'s `floor`.
fn join_within(floor: &Path, base: &Path, rel: &str) -> Result<PathBuf, String> {
    let mut out = base.to_path_buf();
    for c in Path::new(rel).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                if out == floor || !out.pop() || !out.starts_with(floor) {
                    return Err(format!(
                        "'{rel}' points outside its package; a file may only use files of its own package or of packages in the cache"
                    ));
                }
            }
            Component::RootDir | Component::Prefix(_) => {}
        }
    }
    if !out.starts_with(floor) {
        return Err(format!("'{rel}' points outside its package"));
    }
    Ok(out)
}

impl Packages {
    /// The repository a display path belongs to.
    fn display_for(repo: &Repo, path: &Path) -> String {
        let rel = path.strip_prefix(&repo.dir).unwrap_or(path);
        let rel = rel.to_string_lossy().replace('\\', "/");
        if repo.display_prefix.is_empty() {
            rel
        } else if rel.is_empty() {
            repo.display_prefix.clone()
        } else {
            format!("{}/{}", repo.display_prefix, rel)
        }
    }

    pub fn file_in(&self, repo: &Repo, path: PathBuf) -> ResolvedFile {
        ResolvedFile {
            display: Self::display_for(repo, &path),
            path,
            repo: repo.clone(),
        }
    }

    /// Resolves a locator used in `from` (a file of `from_repo`).
    pub fn resolve(&self, locator: &str, from: &ResolvedFile) -> Result<ResolvedFile, String> {
        if locator.is_empty() {
            return Err("the locator is empty".into());
        }
        if locator.starts_with("http://") || locator.starts_with("https://") {
            return Err(format!(
                "'{locator}' is a URL; kplan needs every input in the package or the package cache (download the file into the package and use a relative path)"
            ));
        }
        if locator.starts_with("github.com/") {
            return self.resolve_github(locator);
        }
        let repo = &from.repo;
        if let Some(abs) = locator.strip_prefix('/') {
            let path = join_within(&repo.dir, &repo.dir, abs)?;
            return Ok(self.file_in(repo, path));
        }
        if locator.starts_with('.') {
            let base = from.path.parent().unwrap_or(&repo.dir);
            let path = join_within(&repo.dir, base, locator)?;
            return Ok(self.file_in(repo, path));
        }
        Err(format!(
            "'{locator}' is not a locator: use a path relative to this file ('./x.star', '../x.star'), to the repository root ('/src/x.star'), or github.com/OWNER/REPO/PATH"
        ))
    }

    fn resolve_github(&self, locator: &str) -> Result<ResolvedFile, String> {
        let loc = GithubLocator::parse(locator)?;
        let repo_loc = loc.repo_locator();
        // `replace` from the root kurtosis.yml: the longest matching prefix wins.
        let full = if loc.path.is_empty() {
            repo_loc.clone()
        } else {
            format!("{repo_loc}/{}", loc.path)
        };
        if !self.root_name.is_empty()
            && (full == self.root_name || full.starts_with(&format!("{}/", self.root_name)))
        {
            return Err(format!(
                "'{locator}' points into this package ({}); only relative locators ('./x', '/x') are allowed within a package",
                self.root_name
            ));
        }
        let mut best: Option<(&String, &String)> = None;
        for (from, to) in &self.root_yml.replace {
            let from_trim = from.trim_end_matches('/');
            if (full == *from_trim || full.starts_with(&format!("{from_trim}/")))
                && best.is_none_or(|(b, _)| from_trim.len() > b.len())
            {
                best = Some((from, to));
            }
        }
        if let Some((from, to)) = best {
            let from_trim = from.trim_end_matches('/');
            let suffix = full[from_trim.len()..].trim_start_matches('/').to_owned();
            if to.starts_with('.') || to.starts_with('/') {
                // Local replacement: a directory relative to the root package.
                let dir = join_local(&self.root_package_dir, to);
                let dir = dir.canonicalize().map_err(|e| {
                    format!("replace target '{to}' for '{from}' in kurtosis.yml: {e}")
                })?;
                if !dir.join("kurtosis.yml").is_file() {
                    return Err(format!(
                        "replace target '{to}' for '{from}' has no kurtosis.yml"
                    ));
                }
                let repo = Repo {
                    dir: dir.clone(),
                    display_prefix: from_trim.to_owned(),
                };
                let path = join_within(&dir, &dir, &suffix)?;
                return Ok(self.file_in(&repo, path));
            }
            let target = GithubLocator::parse(to)
                .map_err(|e| format!("replace target for '{from}' in kurtosis.yml: {e}"))?;
            let new_loc = GithubLocator {
                path: [target.path.as_str(), suffix.as_str()]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("/"),
                ..target
            };
            return self.cached(&new_loc);
        }
        self.cached(&loc)
    }

    fn cached(&self, loc: &GithubLocator) -> Result<ResolvedFile, String> {
        let key = loc.cache_key();
        let dir = self.cache.join(&key);
        if !dir.is_dir() {
            self.clone_into(loc, &dir)?;
        }
        let dir = dir
            .canonicalize()
            .map_err(|e| format!("package cache entry {}: {e}", dir.display()))?;
        let repo = Repo {
            dir: dir.clone(),
            display_prefix: key,
        };
        let path = join_within(&dir, &dir, &loc.path)?;
        Ok(self.file_in(&repo, path))
    }

    fn clone_into(&self, loc: &GithubLocator, dir: &Path) -> Result<(), String> {
        let key = loc.cache_key();
        if self.offline {
            return Err(format!(
                "package {key} is not in the package cache ({}) and --offline is set; run once without --offline, or put a copy at {}",
                self.cache.display(),
                dir.display()
            ));
        }
        let parent = dir.parent().unwrap_or(&self.cache);
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create the package cache {}: {e}", parent.display()))?;
        let tmp = parent.join(format!(".{}.tmp-{}", loc.repo, std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        // KPLAN_GITHUB_URL points clones at a mirror (or, in tests, a local directory).
        let base =
            std::env::var("KPLAN_GITHUB_URL").unwrap_or_else(|_| "https://github.com".into());
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
        let status = clone
            .arg(&url)
            .arg(&tmp)
            .env("GIT_TERMINAL_PROMPT", "0")
            .output();
        let ok = match status {
            Ok(o) if o.status.success() => true,
            Ok(o) => {
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(format!(
                    "cloning {url} into the package cache failed: {}; put a copy at {} or use --package-cache",
                    String::from_utf8_lossy(&o.stderr).trim(),
                    dir.display()
                ));
            }
            Err(e) => {
                return Err(format!(
                    "cannot run git to fetch {key}: {e}; put a copy at {}",
                    dir.display()
                ))
            }
        };
        if ok {
            if let Some(r) = &loc.reference {
                let o = Command::new("git")
                    .args(["-c", "advice.detachedHead=false", "checkout", "--quiet", r])
                    .current_dir(&tmp)
                    .output();
                if !matches!(&o, Ok(o) if o.status.success()) {
                    let _ = std::fs::remove_dir_all(&tmp);
                    return Err(format!("{url} has no ref '{r}'"));
                }
            }
            std::fs::rename(&tmp, dir)
                .map_err(|e| format!("cannot move the clone into the cache: {e}"))?;
        }
        Ok(())
    }
}

fn join_local(base: &Path, rel: &str) -> PathBuf {
    if let Some(abs) = rel.strip_prefix('/') {
        // In kurtosis.yml a local replace path starting with '/' is absolute.
        PathBuf::from("/").join(abs)
    } else {
        base.join(rel)
    }
}

/// Reads and parses a `kurtosis.yml`.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_locators() {
        let l = GithubLocator::parse("github.com/o/r@v1/src/x.star").unwrap();
        assert_eq!(
            (
                l.owner.as_str(),
                l.repo.as_str(),
                l.reference.as_deref(),
                l.path.as_str()
            ),
            ("o", "r", Some("v1"), "src/x.star")
        );
        let l = GithubLocator::parse("github.com/o/r/src/x.star@v2").unwrap();
        assert_eq!(
            (l.reference.as_deref(), l.path.as_str()),
            (Some("v2"), "src/x.star")
        );
        let l = GithubLocator::parse("github.com/o/r").unwrap();
        assert_eq!((l.reference, l.path.as_str()), (None, ""));
        assert!(GithubLocator::parse("github.com/o").is_err());
    }

    #[test]
    fn refuses_to_climb_out() {
        let floor = Path::new("/pkg");
        assert!(join_within(floor, Path::new("/pkg/src"), "../../etc/passwd").is_err());
        assert_eq!(
            join_within(floor, Path::new("/pkg/src"), "../a.star").unwrap(),
            PathBuf::from("/pkg/a.star")
        );
    }
}
