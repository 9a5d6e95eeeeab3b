//! Locator syntax, checked before any filesystem access: `github.com/OWNER/REPO[@REF]/PATH`
//! with every component validated (no `..`, nothing option-like, nothing that is not a
//! name GitHub or git would accept), and the lexical normalisation of relative paths
//! (`./x`, `../x`, `/x`) that refuses to climb above where they start.
//!
//! A component that passes here is a plain directory name: joined onto the package
//! cache it can only name a directory inside it, and given to `git` it cannot be read as
//! an option.

use std::fmt;

/// A parsed and checked `github.com/OWNER/REPO[@REF]/PATH[@REF]` locator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubLocator {
    pub owner: String,
    pub repo: String,
    pub reference: Option<String>,
    /// Normalised path components inside the repository (no `.`, `..` or empty ones).
    pub path: Vec<String>,
}

impl GithubLocator {
    pub fn parse(loc: &str) -> Result<GithubLocator, String> {
        let rest = loc
            .strip_prefix("github.com/")
            .ok_or_else(|| format!("'{loc}' is not a github.com/OWNER/REPO/PATH locator"))?;
        let (rest, trailing_ref) = match rest.rsplit_once('@') {
            Some((a, r)) if !r.contains('/') && a.matches('/').count() >= 2 => (a, Some(r)),
            _ => (rest, None),
        };
        let mut parts = rest.splitn(3, '/');
        let owner = parts.next().unwrap_or_default();
        let repo_part = parts.next().unwrap_or_default();
        let path = parts.next().unwrap_or_default();
        let (repo, reference) = match repo_part.split_once('@') {
            Some((r, reference)) => (r, Some(reference)),
            None => (repo_part, trailing_ref),
        };
        if owner.is_empty() || repo.is_empty() {
            return Err(format!(
                "'{loc}' must look like github.com/OWNER/REPO[@REF]/PATH"
            ));
        }
        check_owner(owner).map_err(|e| format!("'{loc}': {e}"))?;
        check_repo(repo).map_err(|e| format!("'{loc}': {e}"))?;
        if let Some(r) = reference {
            check_ref(r).map_err(|e| format!("'{loc}': {e}"))?;
        }
        let path = path_components(path).map_err(|e| format!("'{loc}': {e}"))?;
        Ok(GithubLocator {
            owner: owner.to_owned(),
            repo: repo.to_owned(),
            reference: reference.map(str::to_owned),
            path,
        })
    }

    /// `github.com/OWNER/REPO` (without the ref).
    pub fn repo_locator(&self) -> String {
        format!("github.com/{}/{}", self.owner, self.repo)
    }

    /// `github.com/OWNER/REPO/PATH` (without the ref).
    pub fn full(&self) -> String {
        let mut s = self.repo_locator();
        for p in &self.path {
            s.push('/');
            s.push_str(p);
        }
        s
    }

    /// The cache directory name of the repository: `REPO` or `REPO@REF`.
    pub fn cache_dir_name(&self) -> String {
        match &self.reference {
            Some(r) => format!("{}@{r}", self.repo),
            None => self.repo.clone(),
        }
    }

    /// `github.com/OWNER/REPO[@REF]`, how files of the cached repository are shown.
    pub fn cache_key(&self) -> String {
        format!("github.com/{}/{}", self.owner, self.cache_dir_name())
    }
}

impl fmt::Display for GithubLocator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.cache_key())?;
        for p in &self.path {
            write!(f, "/{p}")?;
        }
        Ok(())
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// A GitHub user or organisation: letters, digits, '-', '_' and '.', starting with a
/// letter or digit.
fn check_owner(owner: &str) -> Result<(), String> {
    let ok = owner.len() <= 100
        && owner.starts_with(|c: char| c.is_ascii_alphanumeric())
        && owner.chars().all(is_name_char);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "owner '{}' is not a GitHub user or organisation name (letters, digits, '-', '_' and '.', starting with a letter or digit)",
            owner.escape_debug()
        ))
    }
}

/// A GitHub repository: letters, digits, '-', '_' and '.', not `.` or `..`, not
/// starting with '-'.
fn check_repo(repo: &str) -> Result<(), String> {
    let ok = repo.len() <= 100
        && repo != "."
        && repo != ".."
        && !repo.starts_with('-')
        && repo.chars().all(is_name_char);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "repository '{}' is not a GitHub repository name (letters, digits, '-', '_' and '.', not '.' or '..', not starting with '-')",
            repo.escape_debug()
        ))
    }
}

/// A tag, branch or commit: what `git check-ref-format` accepts for one path
/// component, restricted to letters, digits and `-_.+`, never starting with '-' or '.'.
fn check_ref(r: &str) -> Result<(), String> {
    let ok = !r.is_empty()
        && r.len() <= 255
        && !r.starts_with(['-', '.'])
        && !r.ends_with('.')
        && !r.ends_with(".lock")
        && !r.contains("..")
        && r.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "ref '{}' is not a tag, branch or commit name (letters, digits and '-_.+', not starting with '-' or '.', no '..')",
            r.escape_debug()
        ))
    }
}

/// Splits the path of an absolute locator into components, refusing `..` and control
/// characters; `.` and empty components are dropped.
fn path_components(path: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                return Err(
                    "'..' is not allowed in a github.com locator; write the path from the repository root".into(),
                )
            }
            c => {
                check_component(c)?;
                out.push(c.to_owned());
            }
        }
    }
    Ok(out)
}

fn check_component(c: &str) -> Result<(), String> {
    if c.chars().any(char::is_control) {
        return Err(format!(
            "path component '{}' holds a control character",
            c.escape_debug()
        ));
    }
    Ok(())
}

/// Applies a relative path (`./x`, `../x`, `x/y`) to `base` (components from the top
/// of what may be reached), refusing to climb above the top.
pub fn join_relative(base: &[String], rel: &str) -> Result<Vec<String>, String> {
    let mut out = base.to_vec();
    for c in rel.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if out.pop().is_none() {
                    return Err(format!(
                        "'{}' points outside its package",
                        rel.escape_debug()
                    ));
                }
            }
            c => {
                check_component(c).map_err(|e| format!("'{}': {e}", rel.escape_debug()))?;
                out.push(c.to_owned());
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(l: &GithubLocator) -> (&str, &str, Option<&str>, String) {
        (
            l.owner.as_str(),
            l.repo.as_str(),
            l.reference.as_deref(),
            l.path.join("/"),
        )
    }

    #[test]
    fn parses_locators() {
        let l = GithubLocator::parse("github.com/o/r@v1/src/x.star").unwrap();
        assert_eq!(parts(&l), ("o", "r", Some("v1"), "src/x.star".into()));
        let l = GithubLocator::parse("github.com/o/r/src/x.star@v2").unwrap();
        assert_eq!(parts(&l), ("o", "r", Some("v2"), "src/x.star".into()));
        let l = GithubLocator::parse("github.com/o/r").unwrap();
        assert_eq!(parts(&l), ("o", "r", None, String::new()));
        let l = GithubLocator::parse("github.com/o/.github/./a//b").unwrap();
        assert_eq!(parts(&l), ("o", ".github", None, "a/b".into()));
        assert_eq!(l.to_string(), "github.com/o/.github/a/b");
        assert!(GithubLocator::parse("github.com/o").is_err());
    }

    #[test]
    fn refuses_components_that_leave_the_cache_or_look_like_options() {
        for bad in [
            "github.com/../../SECRET.txt",
            "github.com/./../x",
            "github.com/o/..",
            "github.com/o/./x",
            "github.com/o/r/../../x",
            "github.com/o/r@../../x",
            "github.com/o/r/x@..",
            "github.com/o/r/x@-detach",
            "github.com/o/r@.hidden/x",
            "github.com/o/r@v1.lock/x",
            "github.com/-o/r/x",
            "github.com/o/-r/x",
            "github.com/%2e%2e/%2e%2e/x",
            "github.com/o\\../r/x",
            "github.com/o/r/a\u{0}b",
        ] {
            assert!(GithubLocator::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn relative_paths_stay_below_their_top() {
        let base = vec!["src".to_owned()];
        assert_eq!(join_relative(&base, "../a.star").unwrap(), vec!["a.star"]);
        assert_eq!(
            join_relative(&base, "./x/./y//z").unwrap(),
            vec!["src", "x", "y", "z"]
        );
        assert!(join_relative(&base, "../../etc/passwd").is_err());
        assert!(join_relative(&[], "..").is_err());
    }
}
