//! The pre-commit hooks in `.pre-commit-hooks.yaml`, run by the real `pre-commit` (pinned
//! in `scripts/requirements-oracles.txt`) as a user's git hook, with the
//! `.pre-commit-config.yaml` README.md shows.
//!
//! pre-commit clones this repository's hook manifest from a git repository, as it does
//! for users; only two things differ from README.md's config: `repo`/`rev` name a local
//! copy of the manifest, and the hook is `kplan-compile-check-system` (kplan from PATH,
//! here the test build) instead of `kplan-compile-check`, which would first build kplan
//! in release mode with `cargo install` (minutes). The two hooks are checked to differ
//! only in where kplan comes from, so the command line under test is the published one.
//! `pre-commit try-repo` cannot be used: it runs a hook without `args:`, and this hook
//! needs the package, target and output directory there.

use crate::support;

use serde_yaml::{Mapping, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const HOOK: &str = "kplan-compile-check";
const SYSTEM_HOOK: &str = "kplan-compile-check-system";

fn manifest() -> Vec<Mapping> {
    let text = std::fs::read_to_string(support::repo_root().join(".pre-commit-hooks.yaml"))
        .expect("read .pre-commit-hooks.yaml");
    serde_yaml::from_str(&text).expect(".pre-commit-hooks.yaml is a YAML list of hooks")
}

fn hook<'a>(hooks: &'a [Mapping], id: &str) -> &'a Mapping {
    hooks
        .iter()
        .find(|h| h.get("id").and_then(Value::as_str) == Some(id))
        .unwrap_or_else(|| panic!(".pre-commit-hooks.yaml has no hook {id}"))
}

/// The ```yaml block of README.md that starts with `# .pre-commit-config.yaml`.
fn readme_config() -> String {
    let readme =
        std::fs::read_to_string(support::repo_root().join("README.md")).expect("read README.md");
    readme
        .split("```yaml\n")
        .skip(1)
        .filter_map(|block| block.split_once("```").map(|(yaml, _)| yaml))
        .find(|yaml| yaml.starts_with("# .pre-commit-config.yaml\n"))
        .expect("README.md shows a ```yaml block starting with `# .pre-commit-config.yaml`")
        .to_owned()
}

/// The hook entries of README.md's config (there is one repository in it).
fn readme_hooks(config: &Value) -> &Vec<Value> {
    config["repos"][0]["hooks"]
        .as_sequence()
        .expect("README.md's config has repos[0].hooks")
}

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().expect("run a command")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn the_published_hooks_differ_only_in_where_kplan_comes_from() {
    let hooks = manifest();
    let strip = |id: &str| {
        let mut h = hook(&hooks, id).clone();
        for key in ["id", "description", "language"] {
            h.remove(key);
        }
        h
    };
    assert_eq!(strip(HOOK), strip(SYSTEM_HOOK));
    let lang = |id: &str| hook(&hooks, id)["language"].as_str().map(str::to_owned);
    assert_eq!(lang(HOOK).as_deref(), Some("rust"));
    assert_eq!(lang(SYSTEM_HOOK).as_deref(), Some("system"));
    let h = hook(&hooks, HOOK);
    assert_eq!(h["entry"].as_str(), Some("kplan compile --check"));
    assert_eq!(
        h["pass_filenames"].as_bool(),
        Some(false),
        "kplan takes the package, not the changed files"
    );

    let Some(pre_commit) = support::pre_commit_bin() else {
        return;
    };
    let o = run(Command::new(pre_commit)
        .arg("validate-manifest")
        .arg(support::repo_root().join(".pre-commit-hooks.yaml")));
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn the_readme_config_is_valid_and_uses_the_published_hook() {
    let config: Value = serde_yaml::from_str(&readme_config()).expect("README config is YAML");
    let hooks = manifest();
    for h in readme_hooks(&config) {
        let id = h["id"].as_str().expect("hook id");
        hook(&hooks, id);
        let args = h["args"].as_sequence().expect("args: [...]");
        assert!(args.iter().any(|a| a.as_str() == Some("--target")), "{h:?}");
        assert!(args.iter().any(|a| a.as_str() == Some("-o")), "{h:?}");
    }
    let Some(pre_commit) = support::pre_commit_bin() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(".pre-commit-config.yaml");
    std::fs::write(&path, readme_config()).expect("write");
    let o = run(Command::new(pre_commit).arg("validate-config").arg(&path));
    assert!(o.status.success(), "{}", text(&o));
}

/// A git repository in `dir` whose git and pre-commit see nothing of the user's
/// configuration, with the test build's kplan first on PATH.
struct Repo {
    dir: PathBuf,
    home: PathBuf,
}

impl Repo {
    fn new(dir: PathBuf, home: &Path) -> Repo {
        std::fs::create_dir_all(&dir).expect("mkdir");
        let repo = Repo {
            dir,
            home: home.to_owned(),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    fn command(&self, program: &Path) -> Command {
        let kplan_dir = support::kplan_bin()
            .parent()
            .expect("kplan's directory")
            .to_path_buf();
        let path = std::env::var_os("PATH").unwrap_or_default();
        let path =
            std::env::join_paths(std::iter::once(kplan_dir).chain(std::env::split_paths(&path)))
                .expect("PATH");
        let mut cmd = Command::new(program);
        cmd.current_dir(&self.dir)
            .env_clear()
            .env("PATH", path)
            .env("HOME", &self.home)
            .env("PRE_COMMIT_HOME", self.home.join("pre-commit-cache"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "kplan test")
            .env("GIT_AUTHOR_EMAIL", "test@kplan.invalid")
            .env("GIT_COMMITTER_NAME", "kplan test")
            .env("GIT_COMMITTER_EMAIL", "test@kplan.invalid")
            .env("LC_ALL", "C.UTF-8");
        cmd
    }

    fn git(&self, args: &[&str]) -> String {
        let o = run(self.command(Path::new("git")).args(args));
        assert!(o.status.success(), "git {args:?}: {}", text(&o));
        String::from_utf8_lossy(&o.stdout).trim().to_owned()
    }

    /// `git commit` with the installed pre-commit hook: (committed, what it printed).
    fn commit(&self, message: &str) -> (bool, String) {
        let o = run(self
            .command(Path::new("git"))
            .args(["commit", "-q", "-m", message]));
        (o.status.success(), text(&o))
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    fn edit(&self, rel: &str, from: &str, to: &str) {
        let path = self.path(rel);
        let old = std::fs::read_to_string(&path).expect("read");
        assert!(old.contains(from), "{rel} has no {from:?}");
        std::fs::write(&path, old.replacen(from, to, 1)).expect("write");
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[test]
fn the_hook_refuses_commits_whose_manifests_are_stale() {
    let Some(pre_commit) = support::pre_commit_bin() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");

    // The hook repository: this repository's manifest, committed.
    let hooks = Repo::new(tmp.path().join("kplan"), tmp.path());
    std::fs::copy(
        support::repo_root().join(".pre-commit-hooks.yaml"),
        hooks.path(".pre-commit-hooks.yaml"),
    )
    .expect("copy the manifest");
    hooks.git(&["add", "-A"]);
    hooks.git(&["commit", "-q", "-m", "hooks"]);
    let rev = hooks.git(&["rev-parse", "HEAD"]);

    // The user's repository, laid out as README.md's config expects: the package in
    // my-package/, the manifests in deploy/.
    let mut config: Value = serde_yaml::from_str(&readme_config()).expect("README config");
    config["repos"][0]["repo"] = Value::from(hooks.dir.to_str().expect("UTF-8 path"));
    config["repos"][0]["rev"] = Value::from(rev);
    let hook_config = config["repos"][0]["hooks"][0].clone();
    assert_eq!(hook_config["id"].as_str(), Some(HOOK));
    config["repos"][0]["hooks"][0]["id"] = Value::from(SYSTEM_HOOK);
    let args: Vec<String> = hook_config["args"]
        .as_sequence()
        .expect("args")
        .iter()
        .map(|a| a.as_str().expect("string arg").to_owned())
        .collect();
    assert_eq!(
        args[0], "my-package",
        "README.md's config compiles my-package"
    );

    let user = Repo::new(tmp.path().join("user"), tmp.path());
    copy_dir(
        &support::repo_root().join("fixtures/valid/web-db"),
        &user.path("my-package"),
    );
    std::fs::write(
        user.path(".pre-commit-config.yaml"),
        serde_yaml::to_string(&config).expect("YAML"),
    )
    .expect("write the config");
    let o = run(user.command(&pre_commit).arg("install"));
    assert!(o.status.success(), "pre-commit install: {}", text(&o));
    // What the user runs to (re)generate: the hook's command without --check.
    let regenerate = || {
        let o = run(user
            .command(&support::kplan_bin())
            .arg("compile")
            .args(&args));
        assert!(o.status.success(), "kplan compile {args:?}: {}", text(&o));
    };

    // Current manifests: the commit goes through.
    regenerate();
    user.git(&["add", "-A"]);
    let (ok, out) = user.commit("package and manifests");
    assert!(ok && out.contains("Passed"), "{out}");

    // A hand edit to a generated file: refused, with the diff back to kplan's output.
    user.edit("deploy/compose.yaml", "\"8080\"", "\"8081\"");
    user.git(&["add", "-A"]);
    let (ok, out) = user.commit("hand edit");
    assert!(!ok, "a stale compose.yaml was committed:\n{out}");
    assert!(
        out.contains("Failed") && out.contains("exit code: 2"),
        "{out}"
    );
    assert!(
        out.contains("--- a/compose.yaml") && out.contains("-      - \"8081\""),
        "{out}"
    );
    assert!(out.contains("+      - \"8080\""), "{out}");
    user.git(&["reset", "-q", "--hard"]);

    // A package change committed without regenerating: refused, with the diff.
    user.edit("my-package/main.star", "\"bob\"", "\"carol\"");
    user.git(&["add", "my-package"]);
    let (ok, out) = user.commit("package only");
    assert!(
        !ok,
        "a package change without its manifests was committed:\n{out}"
    );
    assert!(
        out.contains("-user1=bob") && out.contains("+user1=carol"),
        "{out}"
    );

    // Regenerated: the commit goes through.
    regenerate();
    user.git(&["add", "-A"]);
    let (ok, out) = user.commit("package and manifests");
    assert!(ok && out.contains("Passed"), "{out}");

    // A change outside `files:` does not run the hook.
    std::fs::write(user.path("notes.txt"), "notes\n").expect("write");
    user.git(&["add", "notes.txt"]);
    let (ok, out) = user.commit("notes");
    assert!(ok && out.contains("(no files to check)Skipped"), "{out}");
    assert_eq!(user.git(&["rev-list", "--count", "HEAD"]), "3");
}
