//! The `kplan` binary as users run it: exit codes, stdout/stderr, -o/--check, and bad
//! input that must fail cleanly (no panic, no partial output).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn kplan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kplan"))
        .current_dir(root())
        .env("KPLAN_PACKAGE_CACHE", root().join("fixtures/cache"))
        .args(args)
        .output()
        .expect("run kplan")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

#[test]
fn help_and_version() {
    assert!(kplan(&["--help"]).status.success());
    assert!(kplan(&["--version"]).status.success());
    let o = kplan(&["compile", "--help"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("--target"));
}

#[test]
fn unknown_flag_is_an_error() {
    let o = kplan(&["compile", "fixtures/valid/web-db", "--target", "nope"]);
    assert_eq!(o.status.code(), Some(1));
    let o = kplan(&[
        "compile",
        "fixtures/valid/web-db",
        "--target",
        "plan",
        "--check",
    ]);
    assert_eq!(o.status.code(), Some(1), "--check needs -o");
}

#[test]
fn validate_valid_package() {
    let o = kplan(&["validate", "fixtures/valid/web-db"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("is valid: 2 services"),
        "{}",
        stderr(&o)
    );
    // A .star file next to kurtosis.yml runs as that package's main file.
    let o = kplan(&["validate", "fixtures/valid/web-db/main.star"]);
    assert!(
        stderr(&o).contains("github.com/kplan-fixtures/web-db is valid"),
        "{}",
        stderr(&o)
    );
    let o = kplan(&["validate", "fixtures/valid/web-db", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["valid"], true);
}

#[test]
fn missing_package_and_main_file() {
    let o = kplan(&["validate", "does/not/exist"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("cannot open package 'does/not/exist'"),
        "{}",
        stderr(&o)
    );
    let dir = tempdir();
    let o = kplan(&["validate", dir.path().to_str().unwrap_or_default()]);
    assert!(stderr(&o).contains("has no kurtosis.yml"), "{}", stderr(&o));
    write(dir.path(), "kurtosis.yml", "name: github.com/x/y\n");
    let o = kplan(&["validate", dir.path().to_str().unwrap_or_default()]);
    assert!(
        stderr(&o).contains("has no main file 'main.star'"),
        "{}",
        stderr(&o)
    );
    write(
        dir.path(),
        "kurtosis.yml",
        "name: github.com/x/y\nbogus: 1\n",
    );
    write(dir.path(), "main.star", "def run(plan):\n    pass\n");
    let o = kplan(&["validate", dir.path().to_str().unwrap_or_default()]);
    assert!(
        stderr(&o).contains("kurtosis.yml is not valid"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bad_args_are_reported_with_their_origin() {
    let pkg = "fixtures/valid/args-and-imports";
    for (args, expect) in [
        ("{not json", "--args is not valid JSON"),
        (
            "[1, 2]",
            "--args must be an object of named arguments, got a list",
        ),
        ("42", "must be an object"),
        ("replicas: [unclosed", "--args is not valid JSON or YAML"),
        ("{\"nope\": 1}", "extra named parameter"),
    ] {
        let o = kplan(&["validate", pkg, "--offline", "--args", args]);
        assert_eq!(o.status.code(), Some(1), "{args}");
        assert!(stderr(&o).contains(expect), "{args}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"));
    }
    let o = kplan(&[
        "validate",
        pkg,
        "--offline",
        "--args-file",
        "no/such/file.yaml",
    ]);
    assert!(
        stderr(&o).contains("cannot read --args-file no/such/file.yaml"),
        "{}",
        stderr(&o)
    );
    let o = kplan(&["validate", pkg, "--offline", "--args", "replicas: 3"]);
    assert_eq!(o.status.code(), Some(0), "YAML args: {}", stderr(&o));
}

#[test]
fn main_file_and_function_flags() {
    let dir = tempdir();
    write(dir.path(), "kurtosis.yml", "name: github.com/x/flags\n");
    write(
        dir.path(),
        "other.star",
        "def deploy(plan, who = 'x'):\n    plan.print('hi ' + who)\n",
    );
    let d = dir.path().to_str().unwrap_or_default();
    let o = kplan(&[
        "compile",
        d,
        "--target",
        "plan",
        "--main-file",
        "other.star",
        "--main-function",
        "deploy",
        "--args",
        "{\"who\": \"y\"}",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("hi y"));
    let o = kplan(&[
        "compile",
        d,
        "--target",
        "plan",
        "--main-file",
        "../../etc/passwd",
    ]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn out_dir_check_and_stale_files() {
    let dir = tempdir();
    let out = dir.path().join("deploy");
    let o_s = out.to_str().unwrap_or_default();
    let pkg = "fixtures/valid/web-db";
    let o = kplan(&["compile", pkg, "--target", "plan", "-o", o_s]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(out.join("plan.yaml").is_file());
    let o = kplan(&["compile", pkg, "--target", "plan", "-o", o_s, "--check"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // An edited file: exit 2 and a unified diff on stdout.
    let plan = out.join("plan.yaml");
    let text = std::fs::read_to_string(&plan).expect("read");
    std::fs::write(&plan, text.replace("name: web", "name: webby")).expect("write");
    let o = kplan(&["compile", pkg, "--target", "plan", "-o", o_s, "--check"]);
    assert_eq!(o.status.code(), Some(2));
    let diff = String::from_utf8_lossy(&o.stdout);
    assert!(
        diff.contains("--- a/plan.yaml")
            && diff.contains("-- name: webby")
            && diff.contains("+- name: web"),
        "{diff}"
    );

    // A file kplan generated earlier but no longer produces is stale.
    let o = kplan(&[
        "compile", pkg, "--target", "plan", "--output", "json", "-o", o_s,
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stderr(&o).contains("removed") && !plan.exists(),
        "plan.yaml is removed when plan.json replaces it: {}",
        stderr(&o)
    );
    std::fs::write(&plan, "left behind").expect("write");
    let manifest = out.join(".kplan-files");
    let m = std::fs::read_to_string(&manifest).expect("manifest");
    std::fs::write(&manifest, format!("{m}plan.yaml\n")).expect("write");
    let o = kplan(&[
        "compile", pkg, "--target", "plan", "--output", "json", "-o", o_s, "--check",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("stale:"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );

    // Files kplan did not write are never touched.
    write(&out, "README.md", "mine");
    let o = kplan(&["compile", pkg, "--target", "plan", "-o", o_s]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(out.join("README.md"))
            .ok()
            .as_deref(),
        Some("mine")
    );
}

#[test]
fn out_dir_problems_are_diagnostics_with_a_code() {
    let tmp = tempdir();
    let not_a_dir = write(tmp.path(), "file", "x");
    let not_a_dir = not_a_dir.to_str().expect("utf-8 path");
    let pkg = "fixtures/valid/web-db";
    for check in [false, true] {
        let mut args = vec!["compile", pkg, "--target", "plan", "-o", not_a_dir];
        if check {
            args.push("--check");
        }
        let o = kplan(&args);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(
            stderr(&o).starts_with("error[KP005]: cannot "),
            "{args:?}: {}",
            stderr(&o)
        );
        assert!(stderr(&o).contains("= help: "), "{}", stderr(&o));
    }
    assert_eq!(
        std::fs::read_to_string(not_a_dir).ok().as_deref(),
        Some("x")
    );
}

#[test]
fn failed_compile_leaves_no_output() {
    let dir = tempdir();
    let out = dir.path().join("deploy");
    let o = kplan(&[
        "compile",
        "fixtures/invalid/validation-errors.star",
        "--target",
        "plan",
        "-o",
        out.to_str().unwrap_or_default(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!out.exists(), "nothing is written when validation fails");
    // -o naming an existing file: an error, and the file is untouched.
    let file = write(dir.path(), "not-a-dir", "keep");
    let o = kplan(&[
        "compile",
        "fixtures/valid/web-db",
        "--target",
        "plan",
        "-o",
        file.to_str().unwrap_or_default(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&file).ok().as_deref(), Some("keep"));
}

#[test]
fn hostile_inputs_fail_cleanly() {
    let dir = tempdir();
    let cases: Vec<(&str, String)> = vec![
        ("binary.star", "\u{0}\u{1}\u{2}def run(plan):".into()),
        ("deep.star", format!("def run(plan):\n    x = {}{}\n", "[".repeat(5000), "]".repeat(5000))),
        ("long-sum.star", format!("def run(plan):\n    x = 1{}\n", " + 1".repeat(20000))),
        ("recursion.star", "def f(n):\n    return f(n + 1)\ndef run(plan):\n    f(0)\n".into()),
        ("huge-string.star", format!("def run(plan):\n    plan.print(\"{}\")\n", "x".repeat(4 << 20))),
        ("unterminated.star", "def run(plan):\n    x = '''never closed\n".into()),
        ("bad-types.star", "def run(plan):\n    plan.add_service(1, 2)\n".into()),
        ("none-config.star", "def run(plan):\n    plan.add_service(name = 'a', config = None)\n".into()),
        ("plan-escapes.star", "def run(plan):\n    return plan\n".into()),
        ("lambda-data.star", "def run(plan):\n    plan.render_templates({'a': struct(template = 'x', data = lambda: 1)})\n".into()),
        ("cyclic-list.star", "def run(plan):\n    x = []\n    x.append(x)\n    plan.verify(value = 'a', assertion = 'IN', target_value = x)\n".into()),
    ];
    for (name, text) in cases {
        let f = write(dir.path(), name, &text);
        let o = kplan(&[
            "compile",
            f.to_str().unwrap_or_default(),
            "--target",
            "plan",
        ]);
        let err = stderr(&o);
        assert!(
            !err.contains("panicked") && !err.contains("has overflowed its stack"),
            "{name}: {err}"
        );
        if name == "huge-string.star" {
            assert_eq!(o.status.code(), Some(0), "{name}: {err}");
        } else {
            assert_eq!(o.status.code(), Some(1), "{name}: {err}");
            assert!(err.contains("error["), "{name} names the problem: {err}");
        }
    }
}

fn git(dir: &Path, args: &[&str]) {
    let o = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .output()
        .expect("git");
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn missing_packages_are_cloned_into_the_cache_unless_offline() {
    let dir = tempdir();
    // A "remote" repository github.com/acme/lib, served from a local directory.
    let remote = dir.path().join("remote/acme/lib.git");
    std::fs::create_dir_all(&remote).expect("mkdir");
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).expect("mkdir");
    git(&work, &["init", "-q"]);
    write(&work, "kurtosis.yml", "name: github.com/acme/lib\n");
    write(&work, "lib.star", "def hello():\n    return 'v1'\n");
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "v1"]);
    git(&work, &["tag", "v1"]);
    write(&work, "lib.star", "def hello():\n    return 'v2'\n");
    git(&work, &["commit", "-q", "-am", "v2"]);
    git(
        &work,
        &[
            "clone",
            "-q",
            "--bare",
            work.to_str().unwrap_or_default(),
            remote.to_str().unwrap_or_default(),
        ],
    );

    let pkg = dir.path().join("pkg");
    std::fs::create_dir_all(&pkg).expect("mkdir");
    write(&pkg, "kurtosis.yml", "name: github.com/acme/app\n");
    write(&pkg, "main.star", "lib = import_module('github.com/acme/lib/lib.star')\nold = import_module('github.com/acme/lib@v1/lib.star')\ndef run(plan):\n    plan.print(lib.hello() + ' ' + old.hello())\n");
    let cache = dir.path().join("cache");
    let run = |offline: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kplan"));
        cmd.args([
            "compile",
            pkg.to_str().unwrap_or_default(),
            "--target",
            "plan",
            "--package-cache",
            cache.to_str().unwrap_or_default(),
        ])
        .env(
            "KPLAN_GITHUB_URL",
            format!("file://{}", dir.path().join("remote").display()),
        );
        if offline {
            cmd.arg("--offline");
        }
        cmd.output().expect("run kplan")
    };
    let o = run(true);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("is not in the package cache") && stderr(&o).contains("--offline"),
        "{}",
        stderr(&o)
    );
    let o = run(false);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("message: v2 v1"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(cache.join("github.com/acme/lib/lib.star").is_file());
    assert!(cache.join("github.com/acme/lib@v1/lib.star").is_file());
    // Clones are staged in the cache and renamed into place: no temporary left over.
    let top: Vec<String> = std::fs::read_dir(&cache)
        .expect("cache")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    assert_eq!(top, vec!["github.com".to_owned()]);
    // Now cached: works offline.
    assert_eq!(run(true).status.code(), Some(0));

    // A clone that fails (no such repository, no such ref) leaves no trace: no cache
    // directory when there was none, nothing new in one that exists.
    for (import, cache) in [
        (
            "github.com/acme/missing/lib.star",
            dir.path().join("fresh-cache"),
        ),
        (
            "github.com/acme/lib@v9/lib.star",
            dir.path().join("fresh-cache"),
        ),
        ("github.com/acme/missing/lib.star", cache.clone()),
        ("github.com/acme/lib@v9/lib.star", cache.clone()),
    ] {
        write(
            &pkg,
            "main.star",
            &format!(
                "lib = import_module('{import}')\ndef run(plan):\n    plan.print(lib.hello())\n"
            ),
        );
        let before = tree(&cache);
        let o = Command::new(env!("CARGO_BIN_EXE_kplan"))
            .args([
                "validate",
                pkg.to_str().unwrap_or_default(),
                "--package-cache",
            ])
            .arg(&cache)
            .env(
                "KPLAN_GITHUB_URL",
                format!("file://{}", dir.path().join("remote").display()),
            )
            .output()
            .expect("run kplan");
        assert_eq!(o.status.code(), Some(1), "{import}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("error[KP004]") && stderr(&o).contains("main.star:1:7"),
            "{import}: {}",
            stderr(&o)
        );
        assert_eq!(
            tree(&cache),
            before,
            "{import} left something in {}",
            cache.display()
        );
    }
}

/// Every path under `dir`, relative to it (empty when `dir` does not exist).
fn tree(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            out.push(p.strip_prefix(base).unwrap_or(&p).display().to_string());
            if p.is_dir() {
                walk(base, &p, out);
            }
        }
    }
    let mut out = Vec::new();
    if dir.exists() {
        out.push(".".into());
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn an_unreachable_docker_engine_is_a_clear_error_before_any_change() {
    let state = tempdir();
    let state_dir = state.path().to_string_lossy().into_owned();
    for args in [
        vec![
            "plan",
            "fixtures/valid/apply-web",
            "--state-dir",
            &state_dir,
        ],
        vec![
            "apply",
            "fixtures/valid/apply-web",
            "--yes",
            "--state-dir",
            &state_dir,
        ],
        vec!["status", "--enclave", "x", "--state-dir", &state_dir],
        vec!["destroy", "--enclave", "x", "--state-dir", &state_dir],
        vec!["validate", "fixtures/valid/apply-web", "--check-images"],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_kplan"))
            .current_dir(root())
            .env("DOCKER_HOST", "unix:///nonexistent/kplan-test.sock")
            .args(&args)
            .output()
            .expect("run kplan");
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let err = stderr(&o);
        assert!(
            err.contains("cannot connect to the Docker engine") && err.contains("DOCKER_HOST"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    // Nothing was written to the state directory.
    assert_eq!(std::fs::read_dir(state.path()).expect("read").count(), 0);
}

#[test]
fn apply_needs_a_parallelism_of_at_least_one() {
    let o = kplan(&[
        "apply",
        "fixtures/valid/apply-web",
        "--parallelism",
        "0",
        "--yes",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("at least 1"), "{}", stderr(&o));
}
