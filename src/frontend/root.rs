//! Finding the root package and its main file from the command line: a directory with
//! `kurtosis.yml`, a `.star` file (a package's main file, or a standalone script), or a
//! `github.com/...` locator fetched into the package cache.
//!
//! The root is always the directory that holds `kurtosis.yml` (or the script), whatever
//! the package's `name` says; the name only places the package in its GitHub repository
//! (see [`super::package`]). `kurtosis.yml` and the main file are package files like any
//! other: read only through [`Repo::contain`].

use super::cache;
use super::locator::GithubLocator;
use super::package::{
    read_kurtosis_yml, Kind, KurtosisYml, Packages, RealPaths, Repo, ResolvedFile,
};
use super::{Failure, Options, Sources};
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::Span;
use std::path::{Path, PathBuf};

fn fail(code: Code, msg: impl Into<String>, at: Option<Span>) -> Failure {
    Failure {
        diagnostics: vec![Diagnostic::error(code, msg, at)],
        sources: Sources::default(),
    }
}

fn with_hint(mut failure: Failure, hint: impl Into<String>) -> Failure {
    let hint = hint.into();
    for d in &mut failure.diagnostics {
        d.hint = Some(hint.clone());
    }
    failure
}

/// What the command line names: a package directory, or a `.star` file in it.
struct Target {
    dir: PathBuf,
    script: Option<PathBuf>,
    /// The name a `github.com/...` package directory has when its kurtosis.yml has none.
    name: Option<String>,
    /// The locator it was fetched by, if any.
    locator: Option<GithubLocator>,
}

/// Fetches a `github.com/...` package named on the command line.
fn remote_target(opts: &Options, cache: &Path) -> Result<Target, Failure> {
    let loc = GithubLocator::parse(&opts.package).map_err(|e| fail(Code::KP001, e, None))?;
    let entry = cache::entry(cache, &loc);
    if !entry.is_dir() {
        cache::fetch(cache, &loc, &entry, opts.offline).map_err(|e| fail(Code::KP001, e, None))?;
    }
    let dir = entry.canonicalize().map_err(|e| {
        fail(
            Code::KP001,
            format!("package cache entry {}: {e}", entry.display()),
            None,
        )
    })?;
    let repo = Repo {
        dir,
        display_prefix: loc.cache_key(),
        real_paths: RealPaths::default(),
    };
    let file = repo
        .file(&loc.path, Kind::FileOrDir)
        .map_err(|e| fail(Code::KP001, e.message, None))?;
    if file.real.is_dir() {
        Ok(Target {
            dir: file.real,
            script: None,
            name: Some(loc.full()),
            locator: Some(loc),
        })
    } else {
        Ok(Target {
            dir: file
                .real
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
            script: Some(file.real),
            name: Some(loc.repo_locator()),
            locator: Some(loc),
        })
    }
}

/// A package directory or `.star` file on this machine (the user's choice).
fn local_target(opts: &Options) -> Result<Target, Failure> {
    let p = PathBuf::from(&opts.package);
    let cannot = |e: std::io::Error| {
        fail(
            Code::KP001,
            format!("cannot open package '{}': {e}", opts.package),
            None,
        )
    };
    let meta = std::fs::metadata(&p).map_err(cannot)?;
    if meta.is_dir() {
        return Ok(Target {
            dir: p.canonicalize().map_err(cannot)?,
            script: None,
            name: None,
            locator: None,
        });
    }
    let script = p.canonicalize().map_err(cannot)?;
    Ok(Target {
        dir: script.parent().map(Path::to_path_buf).unwrap_or_default(),
        script: Some(script),
        name: None,
        locator: None,
    })
}

/// Reads the root `kurtosis.yml`, a package file like any other.
fn root_yml(root: &Repo) -> Result<KurtosisYml, Failure> {
    let at = Some(Span::new("kurtosis.yml", 1, 1));
    let real = root
        .contain(&root.dir.join("kurtosis.yml"), "kurtosis.yml", Kind::File)
        .map_err(|e| {
            let mut f = fail(Code::KP002, e.message, at.clone());
            f.diagnostics[0].hint = e.hint;
            f
        })?;
    read_kurtosis_yml(&real).map_err(|e| fail(Code::KP002, e, at))
}

/// Where the package sits in its GitHub repository, from its name: a name that is not
/// a `github.com/...` locator places it nowhere; one that is must be a valid locator.
fn home(name: &str, fetched_by: Option<&GithubLocator>) -> Result<Option<GithubLocator>, Failure> {
    if !name.starts_with("github.com/") {
        return Ok(None);
    }
    let mut home = GithubLocator::parse(name).map_err(|e| {
        with_hint(
            fail(
                Code::KP002,
                format!("the name in kurtosis.yml is not a valid package locator: {e}"),
                Some(Span::new("kurtosis.yml", 1, 1)),
            ),
            "name the package where it is published: github.com/OWNER/REPO[/PATH]",
        )
    })?;
    if home.reference.is_some() {
        return Err(fail(
            Code::KP002,
            format!(
                "the name in kurtosis.yml ('{name}') holds a ref ('@...'); a package name has none"
            ),
            Some(Span::new("kurtosis.yml", 1, 1)),
        ));
    }
    // A package fetched at a ref finds the rest of its repository at the same ref.
    if let Some(f) = fetched_by.filter(|f| f.owner == home.owner && f.repo == home.repo) {
        home.reference = f.reference.clone();
    }
    Ok(Some(home))
}

/// Finds the root package and its main file.
pub fn locate(opts: &Options) -> Result<(Packages, ResolvedFile), Failure> {
    let mut cache = opts.package_cache.clone();
    if cache.is_relative() {
        if let Ok(cwd) = std::env::current_dir() {
            cache = cwd.join(cache);
        }
    }
    let target = if opts.package.starts_with("github.com/") {
        remote_target(opts, &cache)?
    } else {
        local_target(opts)?
    };
    let root = Repo {
        dir: target.dir.clone(),
        display_prefix: String::new(),
        real_paths: RealPaths::default(),
    };
    let yml_path = root.dir.join("kurtosis.yml");
    // Looked at, so creating it (a script becomes a package) is a change to watch.
    super::reads::file(&yml_path);
    let has_yml = yml_path.symlink_metadata().is_ok();
    // A .star file next to a kurtosis.yml runs as that package's main file, so its
    // relative imports and `replace` work.
    let (script, main_file) = match target.script {
        Some(s) if has_yml => {
            let name = s
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| opts.main_file.clone());
            (None, name)
        }
        other => (other, opts.main_file.clone()),
    };
    let (yml, root_name) = match &script {
        None => {
            if !has_yml {
                return Err(with_hint(
                    fail(
                        Code::KP001,
                        format!("'{}' is not a Kurtosis package: it has no kurtosis.yml", opts.package),
                        None,
                    ),
                    "add a kurtosis.yml with `name: github.com/OWNER/REPO`, or pass a single .star file",
                ));
            }
            let yml = root_yml(&root)?;
            let name = yml.name.clone().or(target.name).unwrap_or_else(|| {
                root.dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "package".into())
            });
            (yml, name)
        }
        Some(_) => (KurtosisYml::default(), String::new()),
    };
    let packages = Packages {
        root: root.clone(),
        root_home: home(&root_name, target.locator.as_ref())?,
        root_name,
        root_yml: yml,
        standalone: script.is_some(),
        cache,
        offline: opts.offline,
    };
    let main_name = match &script {
        Some(s) => s
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        None => main_file,
    };
    let main_parts: Vec<String> = main_name
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .map(str::to_owned)
        .collect();
    let main_at = Span::new(main_name.clone(), 1, 1);
    if main_parts.iter().any(|c| c == "..") {
        return Err(fail(
            Code::KP001,
            format!("--main-file '{}' is outside the package", opts.main_file),
            None,
        ));
    }
    let main = root
        .file(&main_parts, Kind::File)
        .map_err(|e| {
            if root.dir.join(&main_name).symlink_metadata().is_err() {
                with_hint(
                    fail(
                        Code::KP001,
                        format!("package '{}' has no main file '{main_name}'", opts.package),
                        None,
                    ),
                    "create main.star with `def run(plan, args = {}):`, or name the file with --main-file",
                )
            } else {
                let mut f = fail(Code::KP004, e.message, Some(main_at.clone()));
                f.diagnostics[0].hint = e.hint;
                f
            }
        })?;
    Ok((packages, main))
}
