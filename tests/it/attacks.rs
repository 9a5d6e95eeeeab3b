//! A package is untrusted input: these packages (tests/attacks/<fixture>) try to make
//! kplan read, run or copy something outside the package or its cached repository.
//!
//! Each case runs in a lab of its own, a temporary directory laid out as
//!
//! ```text
//! LAB/SECRET.txt            a marker that must never show up anywhere
//! LAB/x.star, outside.star  Starlark outside every package (they print the marker)
//! LAB/secret-pkg/           a package outside the attacker's package (has the marker)
//! LAB/cache/                the package cache (github.com/kplan-attacks/lib)
//! LAB/work/<fixture>/       the attacking package, copied from tests/attacks
//! ```
//!
//! so `github.com/../..` seen from the cache is LAB itself. Every case goes through the
//! real `kplan` binary three times (`compile --target plan`, `compile --target compose
//! -o DIR`, `validate`), not offline (so clones are tried, against a remote that does
//! not exist), and each run must (a) fail with the expected KP code at a file:line:col,
//! or, for the few contained cases, succeed; (b) show the marker nowhere: stdout,
//! stderr, files written; (c) leave the lab outside the output directory as it was
//! (git wrote nothing, no empty directories in the cache).

use crate::support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// How a case must end.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// An error with this code, at a file:line:col.
    Refused(&'static str),
    /// Success, with nothing from outside the package in the output.
    Contained,
}

/// What a case changes in its copy of the fixture before kplan runs.
#[derive(Clone, Copy)]
enum Setup {
    /// A symbolic link at this package-relative path to this lab-relative target.
    Link(&'static str, &'static str),
    /// kurtosis.yml rewritten: `{T}` is the lab's absolute path, `{PKG}` the package's
    /// canonical path, both without the leading '/'.
    Yml(&'static str),
    /// Runs the package through a symbolic link LAB/link -> LAB/work, with its name set
    /// to `github.com/evil/pkg/<its canonical path>`.
    NameOfRealPathThroughLink,
    /// Runs the fixture's main.star as a standalone script LAB/<fixture>.star, next to
    /// the secret (a script has no package: relative locators are refused).
    Standalone,
}

struct Case {
    fixture: &'static str,
    /// `--args`; `{T}` is the lab's absolute path without the leading '/'.
    args: &'static str,
    setup: &'static [Setup],
    expect: Expect,
}

const fn case(
    fixture: &'static str,
    args: &'static str,
    setup: &'static [Setup],
    expect: Expect,
) -> Case {
    Case {
        fixture,
        args,
        setup,
        expect,
    }
}

use Expect::{Contained, Refused};
use Setup::{Link, NameOfRealPathThroughLink, Standalone, Yml};

const CASES: &[Case] = &[
    // `..` as owner, as repository, in the ref, in the path; encoded and odd variants.
    case("read-file", r#"{"src": "github.com/../../SECRET.txt"}"#, &[], Refused("KP004")),
    case("read-file", r#"{"src": "github.com/../x/../../SECRET.txt"}"#, &[], Refused("KP004")),
    case("read-file", r#"{"src": "github.com/./../../SECRET.txt"}"#, &[], Refused("KP004")),
    case("read-file", r#"{"src": "github.com/evil/../../../SECRET.txt"}"#, &[], Refused("KP004")),
    case("read-file", r#"{"src": "github.com/kplan-attacks/lib@../../../../SECRET.txt"}"#, &[], Refused("KP004")),
    case("read-file", r#"{"src": "github.com/kplan-attacks/lib/x@.."}"#, &[], Refused("KP004")),
    case("read-file", r#"{"src": "github.com/kplan-attacks/lib/lib.star@--detach"}"#, &[], Refused("KP004")),
    case("read-file", r#"{"src": "github.com/-c/lib/x.star"}"#, &[], Refused("KP004")),
    case("read-file", r#"{"src": "github.com/kplan-attacks/lib/../../../../SECRET.txt"}"#, &[], Refused("KP004")),
    case("read-file", r#"{"src": "github.com/%2e%2e/%2e%2e/SECRET.txt"}"#, &[], Refused("KP004")),
    case("read-file", r#"{"src": "github.com/..\\..\\/x/SECRET.txt"}"#, &[], Refused("KP004")),
    case("read-file", r#"{"src": "github.com/kplan-attacks/lib/..\\..\\..\\..\\SECRET.txt"}"#, &[], Refused("KP004")),
    case("read-file", r#"{"src": "github.com/kplan-attacks/lib/\u0000/SECRET.txt"}"#, &[], Refused("KP004")),
    // Relative and absolute paths.
    case("read-file", r#"{"src": "../../SECRET.txt"}"#, &[], Refused("KP004")),
    case("read-file", r#"{"src": "./../../SECRET.txt"}"#, &[], Refused("KP004")),
    case("read-file", r#"{"src": "/../../SECRET.txt"}"#, &[], Refused("KP004")),
    case("read-file", r#"{"src": "/{T}/SECRET.txt"}"#, &[], Refused("KP004")),
    case("read-file", r#"{"src": "//{T}/SECRET.txt"}"#, &[], Refused("KP004")),
    // Symbolic links in the package pointing out, to a file and to a directory.
    case("read-file", r#"{"src": "./link.txt"}"#, &[Link("link.txt", "SECRET.txt")], Refused("KP004")),
    case("read-file", r#"{"src": "./up/SECRET.txt"}"#, &[Link("up", ".")], Refused("KP004")),
    case("read-file", r#"{"src": "github.com/kplan-attacks/lib/up/SECRET.txt"}"#, &[], Refused("KP004")),
    // Files that belong to the package but are links out.
    case("read-file", r#"{"src": "./main.star"}"#, &[Link("kurtosis.yml", "SECRET.txt")], Refused("KP002")),
    case("read-file", r#"{"src": "./x"}"#, &[Link("main.star", "outside.star")], Refused("KP004")),
    // import_module of a file outside.
    case("import-module", r#"{"src": "github.com/../../x.star"}"#, &[], Refused("KP004")),
    case("import-module", r#"{"src": "../../x.star"}"#, &[], Refused("KP004")),
    case("import-module", r#"{"src": "./x.star"}"#, &[Link("x.star", "x.star")], Refused("KP004")),
    case("import-module", r#"{"src": "github.com/kplan-attacks/lib/up/x.star"}"#, &[], Refused("KP004")),
    // A dependency climbing out of its cached repository.
    case("via-dependency", r#"{"src": "../../../../SECRET.txt"}"#, &[], Refused("KP004")),
    case("via-dependency", r#"{"src": "./up/SECRET.txt"}"#, &[], Refused("KP004")),
    // upload_files of `/`, of `github.com/../..`, of directories holding links out.
    case("upload-files", r#"{"src": "/"}"#, &[], Contained),
    case("upload-files", r#"{"src": "github.com/../.."}"#, &[], Refused("KP004")),
    case("upload-files", r#"{"src": "github.com/../../secret-pkg"}"#, &[], Refused("KP004")),
    case("upload-files", r#"{"src": "../.."}"#, &[], Refused("KP004")),
    case("upload-files", r#"{"src": "./up"}"#, &[Link("up", ".")], Refused("KP004")),
    case("upload-files", r#"{"src": "/"}"#, &[Link("leak.txt", "SECRET.txt")], Refused("KP004")),
    case("upload-files", r#"{"src": "/"}"#, &[Link("up", ".")], Refused("KP004")),
    case("upload-files", r#"{"src": "github.com/kplan-attacks/lib"}"#, &[], Refused("KP004")),
    // `replace` targets pointing out: remote, local relative, local absolute, local link.
    case("replace-remote", "{}", &[], Refused("KP004")),
    case("replace-local", "{}", &[], Refused("KP004")),
    case(
        "replace-local",
        "{}",
        &[Yml("name: github.com/kplan-attacks/replace-local\nreplace:\n  github.com/kplan-attacks/dep: /{T}/secret-pkg\n")],
        Refused("KP004"),
    ),
    case("replace-local-link", "{}", &[Link("vendor/dep", "secret-pkg")], Refused("KP004")),
    // kurtosis.yml name tricks: the root stays the directory that holds kurtosis.yml.
    case("name-trick", r#"{"read": "/SECRET.txt"}"#, &[], Refused("KP004")),
    case("name-trick", r#"{"upload": "/"}"#, &[], Refused("KP004")),
    case(
        "name-trick",
        r#"{"read": "/{T}/SECRET.txt"}"#,
        &[Yml("name: github.com/evil/pkg/{PKG}\n")],
        Refused("KP004"),
    ),
    case(
        "name-trick",
        r#"{"upload": "/{T}"}"#,
        &[Yml("name: github.com/evil/pkg/{PKG}\n")],
        Refused("KP004"),
    ),
    case("name-trick", r#"{"read": "/{T}/SECRET.txt"}"#, &[NameOfRealPathThroughLink], Refused("KP004")),
    case("name-trick", r#"{"upload": "/"}"#, &[NameOfRealPathThroughLink], Refused("KP004")),
    case("name-trick", r#"{"read": "../../SECRET.txt"}"#, &[], Refused("KP004")),
    // A standalone script has no package: not even its own directory is readable.
    case("read-file", r#"{"src": "./SECRET.txt"}"#, &[Standalone], Refused("KP004")),
    case("upload-files", r#"{"src": "/"}"#, &[Standalone], Refused("KP004")),
    case("import-module", r#"{"src": "./x.star"}"#, &[Standalone], Refused("KP004")),
    // Build contexts, build files and flake directories outside.
    case("build-spec", r#"{"context": "github.com/../.."}"#, &[], Refused("KP004")),
    case("build-spec", r#"{"context": "../.."}"#, &[], Refused("KP004")),
    case("build-spec", r#"{"context": "./up"}"#, &[Link("up", ".")], Refused("KP004")),
    case("build-spec", r#"{"context": "./", "build_file": "../../../../etc/passwd"}"#, &[], Refused("KP004")),
    case("build-spec", r#"{"context": "./", "build_file": "/etc/passwd"}"#, &[], Refused("KP004")),
    case("build-spec", r#"{"context": "./", "build_file": "Dockerfile.out"}"#, &[Link("Dockerfile.out", "SECRET.txt")], Refused("KP004")),
    case("nix-spec", r#"{"context": "./", "flake": "../../.."}"#, &[], Refused("KP004")),
    case("nix-spec", r#"{"context": "../..", "flake": "./"}"#, &[], Refused("KP004")),
];

struct Lab {
    dir: tempfile::TempDir,
    secret: String,
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, text).expect("write");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read fixture") {
        let p = e.expect("entry").path();
        let dest = to.join(p.file_name().expect("name"));
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).expect("copy");
        }
    }
}

fn link(target: &Path, at: &Path) {
    if let Some(parent) = at.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    let _ = std::fs::remove_file(at);
    std::os::unix::fs::symlink(target, at).expect("symlink");
}

/// Every path under `dir` (files, directories, links), relative to it.
fn tree(dir: &Path) -> BTreeSet<String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            out.insert(p.strip_prefix(base).unwrap_or(&p).display().to_string());
            let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
            if is_dir {
                walk(base, &p, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

impl Lab {
    fn new() -> Lab {
        let dir = tempfile::tempdir().expect("tempdir");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let secret = format!("KPLAN-SECRET-{}-{nanos}", std::process::id());
        let lab = Lab { dir, secret };
        let t = lab.path();
        write(&t.join("SECRET.txt"), &format!("{}\n", lab.secret));
        write(
            &t.join("x.star"),
            &format!("def leak():\n    return \"{}\"\n", lab.secret),
        );
        write(
            &t.join("outside.star"),
            &format!("def run(plan):\n    plan.print(\"{}\")\n", lab.secret),
        );
        write(
            &t.join("secret-pkg/kurtosis.yml"),
            "name: github.com/kplan-attacks/dep\n",
        );
        write(&t.join("secret-pkg/SECRET.txt"), &lab.secret);
        let lib = t.join("cache/github.com/kplan-attacks/lib");
        copy_dir(
            &support::repo_root().join("tests/attacks/_cache/github.com/kplan-attacks/lib"),
            &lib,
        );
        // A cached repository holding a link to the lab (out of its own directory).
        link(t, &lib.join("up"));
        lab
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The lab's absolute path without the leading '/'.
    fn t(&self) -> String {
        self.path()
            .display()
            .to_string()
            .trim_start_matches('/')
            .to_owned()
    }

    /// Copies the fixture into LAB/work and applies the setup; returns the PKG argument.
    fn prepare(&self, c: &Case) -> PathBuf {
        let pkg = self.path().join("work").join(c.fixture);
        copy_dir(
            &support::repo_root().join("tests/attacks").join(c.fixture),
            &pkg,
        );
        let mut arg = pkg.clone();
        for s in c.setup {
            match s {
                Setup::Link(at, target) => link(&self.path().join(target), &pkg.join(at)),
                Setup::Yml(text) => {
                    let real = pkg.canonicalize().expect("canonical");
                    let text = text
                        .replace("{T}", &self.t())
                        .replace("{PKG}", real.display().to_string().trim_start_matches('/'));
                    write(&pkg.join("kurtosis.yml"), &text);
                }
                Setup::NameOfRealPathThroughLink => {
                    let real = pkg.canonicalize().expect("canonical");
                    write(
                        &pkg.join("kurtosis.yml"),
                        &format!(
                            "name: github.com/evil/pkg/{}\n",
                            real.display().to_string().trim_start_matches('/')
                        ),
                    );
                    link(&self.path().join("work"), &self.path().join("link"));
                    arg = self.path().join("link").join(c.fixture);
                }
                Setup::Standalone => {
                    arg = self.path().join(format!("{}.star", c.fixture));
                    std::fs::copy(pkg.join("main.star"), &arg).expect("copy");
                }
            }
        }
        arg
    }
}

/// The three commands every case runs.
fn commands(pkg: &Path, out: &Path) -> Vec<Vec<String>> {
    let pkg = pkg.display().to_string();
    vec![
        vec![
            "compile".into(),
            pkg.clone(),
            "--target".into(),
            "plan".into(),
        ],
        vec![
            "compile".into(),
            pkg.clone(),
            "--target".into(),
            "compose".into(),
            "-o".into(),
            out.display().to_string(),
        ],
        vec!["validate".into(), pkg],
    ]
}

/// True if some line of `stderr` is a diagnostic position `--> FILE:LINE:COL`.
fn has_position(stderr: &str) -> bool {
    stderr.lines().any(|l| {
        let Some(at) = l.trim_start().strip_prefix("--> ") else {
            return false;
        };
        let mut parts = at.rsplitn(3, ':');
        let col = parts.next().and_then(|c| c.parse::<u32>().ok());
        let line = parts.next().and_then(|c| c.parse::<u32>().ok());
        let file = parts.next().unwrap_or("");
        matches!((line, col), (Some(l), Some(c)) if l > 0 && c > 0) && !file.is_empty()
    })
}

/// Every file under `dir` whose content holds `needle`.
fn files_holding(dir: &Path, needle: &str) -> Vec<String> {
    tree(dir)
        .into_iter()
        .filter(|rel| {
            std::fs::read(dir.join(rel))
                .map(|b| String::from_utf8_lossy(&b).contains(needle))
                .unwrap_or(false)
        })
        .collect()
}

#[test]
fn no_package_reads_runs_or_copies_anything_outside_it() {
    let mut problems = Vec::new();
    let mut attempts = 0;
    for (i, c) in CASES.iter().enumerate() {
        let lab = Lab::new();
        let pkg = lab.prepare(c);
        let args = c.args.replace("{T}", &lab.t());
        let label = format!("case {i} ({} {args})", c.fixture);
        let out = lab.path().join("out");
        let before = tree(lab.path());
        for cmd in commands(&pkg, &out) {
            attempts += 1;
            let mut command = Command::new(support::kplan_bin());
            command
                .current_dir(lab.path().join("work"))
                .args(&cmd)
                .args([
                    "--package-cache",
                    &lab.path().join("cache").display().to_string(),
                ])
                .args(["--args", &args])
                .env("KPLAN_GITHUB_URL", format!("file://{}/no-remote", lab.t()))
                .env_remove("KPLAN_PACKAGE_CACHE");
            let Some(o) = support::output_within(&mut command, Duration::from_secs(60)) else {
                problems.push(format!("{label} {}: did not finish in 60 s", cmd[0]));
                continue;
            };
            let stdout = String::from_utf8_lossy(&o.stdout);
            let stderr = String::from_utf8_lossy(&o.stderr);
            let what = format!("{label} `kplan {}`", cmd.join(" "));
            if stdout.contains(&lab.secret) || stderr.contains(&lab.secret) {
                problems.push(format!(
                    "{what}: the secret is in the output:\n{stdout}\n{stderr}"
                ));
            }
            let leaked = files_holding(&out, &lab.secret);
            if !leaked.is_empty() {
                problems.push(format!("{what}: the secret is in written files {leaked:?}"));
            }
            let _ = std::fs::remove_dir_all(&out);
            match c.expect {
                Refused(code) => {
                    if o.status.code() != Some(1) || !stderr.contains(&format!("error[{code}]")) {
                        problems.push(format!(
                            "{what}: expected error[{code}] and exit 1, got {:?}:\n{stderr}",
                            o.status.code()
                        ));
                    } else if !has_position(&stderr) {
                        problems.push(format!("{what}: the error has no file:line:col:\n{stderr}"));
                    }
                    if stderr.contains("panicked") {
                        problems.push(format!("{what}: panicked:\n{stderr}"));
                    }
                }
                Contained => {
                    if o.status.code() != Some(0) {
                        problems.push(format!("{what}: expected success:\n{stderr}"));
                    }
                }
            }
        }
        let after = tree(lab.path());
        if before != after {
            let added: Vec<_> = after.difference(&before).collect();
            let removed: Vec<_> = before.difference(&after).collect();
            problems.push(format!(
                "{label}: the lab changed outside the output directory: added {added:?}, removed {removed:?}"
            ));
        }
    }
    eprintln!(
        "{attempts} attempts ({} cases x 3 commands), {} problems",
        CASES.len(),
        problems.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// Devices and capabilities beyond the unprivileged set reach the host: like privileged
/// mode, they need `--privileged`, and are refused at the add_service call without it.
#[test]
fn host_privileges_need_the_privileged_flag() {
    let pkg = support::repo_root().join("tests/attacks/privileges");
    let cases: &[(&str, Option<&str>)] = &[
        (r#"{"devices": ["/dev/vda"]}"#, Some("devices (/dev/vda)")),
        (
            r#"{"capabilities": ["SYS_ADMIN", "CHOWN", "sys_rawio"]}"#,
            Some("capabilities beyond the unprivileged set (SYS_ADMIN, sys_rawio)"),
        ),
        (
            r#"{"capabilities": ["CAP_SYS_ADMIN"]}"#,
            Some("(CAP_SYS_ADMIN)"),
        ),
        (r#"{"capabilities": ["ALL"]}"#, Some("(ALL)")),
        (r#"{"capabilities": ["NET_ADMIN"]}"#, Some("(NET_ADMIN)")),
        (
            r#"{"privileged": true, "devices": ["/dev/sda"]}"#,
            Some("privileged mode and devices (/dev/sda)"),
        ),
        (r#"{"capabilities": ["CHOWN", "NET_BIND_SERVICE"]}"#, None),
        ("{}", None),
    ];
    for (args, refused) in cases {
        let run = |privileged: bool| {
            let mut cmd = Command::new(support::kplan_bin());
            cmd.args(["compile", &pkg.display().to_string(), "--target", "plan"])
                .args(["--args", args]);
            if privileged {
                cmd.arg("--privileged");
            }
            cmd.output().expect("run kplan")
        };
        let o = run(false);
        let err = String::from_utf8_lossy(&o.stderr);
        match refused {
            Some(what) => {
                assert_eq!(o.status.code(), Some(1), "{args}: {err}");
                for part in [
                    "error[KP011]: service 'host' asks for ",
                    what,
                    "but this run did not opt in; pass --privileged if you trust this package",
                    "--> main.star:2:5",
                ] {
                    assert!(err.contains(part), "{args}: no {part:?} in {err}");
                }
            }
            None => assert_eq!(o.status.code(), Some(0), "{args}: {err}"),
        }
        // With --privileged the package gets what it asks for.
        let o = run(true);
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{args}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        if args.contains("/dev/vda") {
            assert!(out.contains("/dev/vda"), "{out}");
        }
    }
}
