//! `kplan plan/apply/destroy/status` on the real Docker engine, no mocks, with our own
//! package fixtures/valid/apply-web (busybox httpd serving a rendered template, a
//! client reaching it by hostname, a persistent directory, run_sh tasks). Every test
//! uses its own enclave and state directory and destroys them at the end, also when
//! it fails.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::{busybox_image, docker, docker_ok, require_docker, unique_name};

fn fixture() -> String {
    support::repo_root()
        .join("fixtures/valid/apply-web")
        .to_string_lossy()
        .into_owned()
}

/// An enclave with its own state directory, destroyed (volumes too) when dropped.
struct Enclave {
    name: String,
    state: tempfile::TempDir,
}

impl Enclave {
    fn new(prefix: &str) -> Option<Enclave> {
        if !require_docker() {
            return None;
        }
        busybox_image();
        Some(Enclave {
            name: unique_name(prefix),
            state: tempfile::tempdir().expect("tempdir"),
        })
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(support::kplan_bin());
        c.args(args)
            .args(["--enclave", &self.name, "--state-dir"])
            .arg(self.state.path())
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run kplan")
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "kplan {args:?} failed ({:?}):\n{}\n{}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn apply(&self, extra: &[&str]) -> String {
        let pkg = fixture();
        let mut args = vec!["apply", pkg.as_str(), "--yes"];
        args.extend_from_slice(extra);
        self.ok(&args)
    }

    fn plan_code(&self, extra: &[&str]) -> (i32, String) {
        let pkg = fixture();
        let mut args = vec!["plan", pkg.as_str(), "--detailed-exitcode"];
        args.extend_from_slice(extra);
        let o = self.run(&args);
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    }

    fn container(&self, service: &str) -> String {
        format!("{}--{service}", self.name)
    }

    /// Every container of the enclave: (name, id, state).
    fn containers(&self) -> Vec<(String, String, String)> {
        let out = docker_ok([
            "ps",
            "-a",
            "--filter",
            &format!("label=kplan.enclave={}", self.name),
            "--format",
            "{{.Names}} {{.ID}} {{.State}}",
        ]);
        let mut v: Vec<(String, String, String)> = out
            .lines()
            .filter_map(|l| {
                let mut p = l.split_whitespace();
                Some((p.next()?.into(), p.next()?.into(), p.next()?.into()))
            })
            .collect();
        v.sort();
        v
    }

    /// Id and start time of a service's container.
    fn identity(&self, service: &str) -> String {
        docker_ok([
            "inspect",
            "--format",
            "{{.Id}} {{.State.StartedAt}}",
            &self.container(service),
        ])
        .trim()
        .to_string()
    }

    fn exec(&self, service: &str, cmd: &[&str]) -> String {
        let mut args = vec!["exec".to_string(), self.container(service)];
        args.extend(cmd.iter().map(|c| c.to_string()));
        docker_ok(args)
    }
}

impl Drop for Enclave {
    fn drop(&mut self) {
        let _ = self.run(&["destroy", "--volumes"]);
        // Whatever destroy could not remove (a failing test may have left it half made).
        let ids = docker([
            "ps",
            "-aq",
            "--filter",
            &format!("label=kplan.enclave={}", self.name),
        ]);
        for id in String::from_utf8_lossy(&ids.stdout).split_whitespace() {
            let _ = docker(["rm", "-f", id]);
        }
        let _ = docker(["network", "rm", &format!("kplan-{}", self.name)]);
        let _ = docker(["volume", "rm", "-f", &format!("{}--web-data", self.name)]);
        let _ = docker(["volume", "rm", "-f", &format!("kplan-lock.{}", self.name)]);
    }
}

/// A package of one `main.star` with `text`, in a temporary directory (kept while the
/// returned guard lives), and the path to pass to kplan.
fn package(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("main.star"), text).expect("write");
    let pkg = dir.path().join("main.star").to_string_lossy().into_owned();
    (dir, pkg)
}

/// Waits until `f` holds (polling), or panics after `limit`.
fn eventually(limit: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn apply_serves_reapplies_as_noop_and_replaces_only_what_changed() {
    let Some(e) = Enclave::new("kp-e2e") else {
        return;
    };
    let first = e.apply(&[]);
    assert!(
        first.contains("client saw: <h1>hello from web</h1>"),
        "{first}"
    );

    // Services really serve, and reach each other by hostname.
    let page = e.exec("client", &["wget", "-q", "-O-", "http://web/"]);
    assert_eq!(page.trim(), "<h1>hello from web</h1>");
    let api = e.exec("client", &["wget", "-q", "-O-", "http://api:8080/"]);
    assert_eq!(api.trim(), "api-1");
    // The run_sh task's stored file was mounted before web started.
    assert_eq!(
        e.exec("web", &["cat", "/etc/motd.d/motd.txt"]).trim(),
        "made-by-task"
    );

    // A second apply changes nothing and says so.
    let before: Vec<String> = ["web", "api", "client"]
        .iter()
        .map(|s| e.identity(s))
        .collect();
    let again = e.apply(&[]);
    assert!(again.starts_with("No changes."), "{again}");
    let after: Vec<String> = ["web", "api", "client"]
        .iter()
        .map(|s| e.identity(s))
        .collect();
    assert_eq!(before, after, "a no-op apply restarted something");
    assert_eq!(e.plan_code(&[]).0, 0);

    // Persistent data, then a change to one service's mounted template.
    e.exec("web", &["sh", "-c", "echo precious > /data/keep"]);
    let args = r#"{"greeting": "hi"}"#;
    let (code, plan) = e.plan_code(&["--args", args]);
    assert_eq!(code, 2, "{plan}");
    assert!(
        plan.contains("-/+ service \"web\" must be replaced"),
        "{plan}"
    );
    assert!(plan.contains("# mounted artifact 'site' changed"), "{plan}");
    assert!(!plan.contains("service \"api\""), "{plan}");
    e.apply(&["--args", args]);
    assert_ne!(e.identity("web"), before[0], "web was not replaced");
    assert_eq!(e.identity("api"), before[1], "api was touched");
    let page = e.exec("client", &["wget", "-q", "-O-", "http://web/"]);
    assert_eq!(page.trim(), "<h1>hi from web</h1>");
    assert_eq!(e.exec("web", &["cat", "/data/keep"]).trim(), "precious");
    assert_eq!(e.plan_code(&["--args", args]).0, 0);

    // Drift: a container removed and one stopped by hand are shown and repaired.
    docker_ok(["rm", "-f", &e.container("api")]);
    docker_ok(["stop", "-t", "1", &e.container("client")]);
    let (code, plan) = e.plan_code(&["--args", args]);
    assert_eq!(code, 2, "{plan}");
    assert!(plan.contains("+ service \"api\" will be created"), "{plan}");
    assert!(plan.contains("~ service \"client\""), "{plan}");
    e.apply(&["--args", args]);
    assert_eq!(e.plan_code(&["--args", args]).0, 0);
    let api = e.exec("client", &["wget", "-q", "-O-", "http://api:8080/"]);
    assert_eq!(api.trim(), "api-1");

    // Status lists the services with ports.
    let status: serde_json::Value =
        serde_json::from_str(&e.ok(&["status", "--output", "json"])).expect("status json");
    let services = status["services"].as_array().expect("services");
    assert_eq!(services.len(), 3);
    assert!(services.iter().all(|s| s["state"] == "running"), "{status}");
    assert!(services
        .iter()
        .any(|s| s["service"] == "api"
            && s["ports"]
                == serde_json::json!([{"name": "http", "number": 8080, "transport": "tcp", "host_port": null}])));

    // A service dropped from the package is an orphan: listed, removed only with --prune.
    let without = r#"{"greeting": "hi", "with_api": false}"#;
    let out = e.apply(&["--args", without]);
    assert!(out.contains("apply with --prune to remove them"), "{out}");
    assert!(e
        .containers()
        .iter()
        .any(|(n, _, _)| n == &e.container("api")));
    let (code, plan) = e.plan_code(&["--args", without, "--prune"]);
    assert_eq!(code, 2, "{plan}");
    assert!(
        plan.contains("- service \"api\" will be destroyed"),
        "{plan}"
    );
    e.apply(&["--args", without, "--prune"]);
    assert!(!e
        .containers()
        .iter()
        .any(|(n, _, _)| n == &e.container("api")));
    assert_eq!(e.plan_code(&["--args", without]).0, 0);

    // Destroy keeps volumes unless asked.
    e.ok(&["destroy"]);
    assert!(e.containers().is_empty());
    let vol = format!("{}--web-data", e.name);
    assert!(docker(["volume", "inspect", &vol]).status.success());
    e.ok(&["destroy", "--volumes"]);
    assert!(!docker(["volume", "inspect", &vol]).status.success());
}

fn spawn_apply(e: &Enclave, args: &str) -> Child {
    let pkg = fixture();
    e.cmd(&["apply", &pkg, "--yes", "--args", args])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kplan")
}

#[test]
fn killed_apply_converges_without_duplicates() {
    let Some(e) = Enclave::new("kp-kill") else {
        return;
    };
    let args = r#"{"settle": 3}"#;
    let mut child = spawn_apply(&e, args);
    eventually(Duration::from_secs(60), "a service container", || {
        e.containers()
            .iter()
            .any(|(n, _, _)| n == &e.container("api"))
    });
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(
            libc::pid_t::try_from(child.id()).expect("a child's pid fits pid_t"),
            libc::SIGKILL,
        );
    }
    let _ = child.wait();
    e.apply(&["--args", args]);
    let all = e.containers();
    let names: Vec<&str> = all.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(
        names,
        vec![
            e.container("api").as_str(),
            e.container("client").as_str(),
            e.container("web").as_str()
        ],
        "{all:?}"
    );
    assert!(all.iter().all(|(_, _, s)| s == "running"), "{all:?}");
    assert_eq!(e.plan_code(&["--args", args]).0, 0);
}

/// The labels of the enclave's lock volume on the engine, if it is locked.
fn engine_lock(enclave: &str) -> Option<serde_json::Value> {
    let o = docker([
        "volume",
        "inspect",
        "--format",
        "{{json .Labels}}",
        &format!("kplan-lock.{enclave}"),
    ]);
    o.status
        .success()
        .then(|| serde_json::from_slice(&o.stdout).expect("labels json"))
}

/// Every file under `dir`.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.path().is_dir() {
                out.extend(files_under(&e.path()));
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

#[test]
fn concurrent_apply_from_another_state_dir_fails_at_once_naming_the_holder() {
    let Some(e) = Enclave::new("kp-lock") else {
        return;
    };
    let args = r#"{"settle": 4}"#;
    let first = spawn_apply(&e, args);
    let pid = first.id().to_string();
    eventually(Duration::from_secs(30), "the first apply's lock", || {
        engine_lock(&e.name).is_some_and(|l| l["kplan.lock.pid"] == pid.as_str())
    });
    // As from another machine: its own state directory.
    let other = tempfile::tempdir().expect("tempdir");
    let start = Instant::now();
    let second = Command::new(support::kplan_bin())
        .args([
            "apply",
            &fixture(),
            "--yes",
            "--args",
            args,
            "--enclave",
            &e.name,
        ])
        .arg("--state-dir")
        .arg(other.path())
        .stdin(Stdio::null())
        .output()
        .expect("run kplan");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "the second apply waited"
    );
    assert_eq!(second.status.code(), Some(1));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains(&format!("enclave \"{}\" is locked by", e.name))
            && err.contains(&format!(
                "(pid {pid}, kplan apply, state dir {})",
                e.state.path().display()
            ))
            && err.contains("nothing was changed"),
        "{err}"
    );
    assert!(
        files_under(other.path()).is_empty(),
        "the second apply wrote state"
    );
    let out = first.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(engine_lock(&e.name).is_none(), "the lock was not released");
    assert!(!e.state.path().join(&e.name).join("lock").exists());
}

#[test]
fn the_lock_is_released_after_failure_refusal_and_signals() {
    let Some(e) = Enclave::new("kp-rel") else {
        return;
    };
    // Refused (no --yes off a terminal): no lock, and no trace in the state directory.
    let o = e.run(&["apply", &fixture()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(engine_lock(&e.name).is_none());
    assert!(
        files_under(e.state.path()).is_empty(),
        "{:?}",
        files_under(e.state.path())
    );
    assert!(!e.state.path().join(&e.name).exists());

    // Interrupted (SIGINT, SIGTERM) midway: the signal's exit code, the lock released.
    for (sig, code) in [(libc::SIGINT, 130), (libc::SIGTERM, 143)] {
        let mut child = spawn_apply(&e, r#"{"settle": 30}"#);
        eventually(Duration::from_secs(30), "the lock", || {
            engine_lock(&e.name).is_some()
        });
        // SAFETY: sending a signal to our own child process.
        unsafe {
            libc::kill(
                libc::pid_t::try_from(child.id()).expect("a child's pid fits pid_t"),
                sig,
            );
        }
        let status = child.wait().expect("wait");
        let mut err = String::new();
        use std::io::Read;
        child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut err)
            .expect("read");
        assert_eq!(status.code(), Some(code), "{err}");
        assert!(err.contains("released the enclave lock"), "{err}");
        assert!(engine_lock(&e.name).is_none(), "signal {sig}: lock left");
        assert!(!e.state.path().join(&e.name).join("lock").exists());
    }

    // Failed: a service that never becomes ready.
    let (_dir, pkg) = package(
        "def run(plan):\n    plan.add_service(name = \"deaf\", config = ServiceConfig(image = \"kplan-test/busybox:local\", cmd = [\"sleep\", \"1000\"], ports = {\"http\": PortSpec(number = 81, wait = \"1s\")}))\n",
    );
    let o = e.run(&["apply", &pkg, "--yes"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(engine_lock(&e.name).is_none());
    assert!(!e.state.path().join(&e.name).join("lock").exists());
}

#[test]
fn a_stale_lock_is_removed_and_a_foreign_one_needs_force_unlock() {
    let Some(e) = Enclave::new("kp-stale") else {
        return;
    };
    let args = r#"{"settle": 30}"#;
    // Killed (no chance to release): the lock stays, naming a process that is gone.
    let mut child = spawn_apply(&e, args);
    let pid = child.id().to_string();
    eventually(Duration::from_secs(30), "the lock", || {
        engine_lock(&e.name).is_some()
    });
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(
            libc::pid_t::try_from(child.id()).expect("a child's pid fits pid_t"),
            libc::SIGKILL,
        );
    }
    let _ = child.wait();
    assert!(engine_lock(&e.name).is_some());
    let o = e.run(&["plan", &fixture(), "--args", args]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!(
            "pid {pid} no longer runs, so the next apply removes the lock"
        )),
        "{err}"
    );
    let o = e.run(&["apply", &fixture(), "--yes"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("note: removed a stale lock"), "{err}");
    assert!(engine_lock(&e.name).is_none());

    // A lock from another machine: kplan cannot tell whether it still runs.
    let unlock = |force: bool| {
        let mut c = Command::new(support::kplan_bin());
        c.args(["unlock", "--enclave", &e.name]);
        if force {
            c.arg("--force");
        }
        c.output().expect("run kplan")
    };
    let o = unlock(false);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("is not locked"));
    docker_ok([
        "volume",
        "create",
        "--label",
        &format!("kplan.lock={}", e.name),
        "--label",
        "kplan.lock.host=build-7",
        "--label",
        "kplan.lock.user=ci",
        "--label",
        "kplan.lock.pid=4242",
        "--label",
        "kplan.lock.machine=another-boot/pid:[1]",
        "--label",
        "kplan.lock.operation=apply",
        &format!("kplan-lock.{}", e.name),
    ]);
    let before = e.containers();
    let o = e.run(&[
        "apply",
        &fixture(),
        "--yes",
        "--args",
        r#"{"greeting": "x"}"#,
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("is locked by ci@build-7 (pid 4242, kplan apply"),
        "{err}"
    );
    assert!(
        err.contains(&format!("kplan unlock --enclave {} --force", e.name)),
        "{err}"
    );
    assert_eq!(e.containers(), before, "a refused apply changed containers");
    let o = unlock(false);
    assert_eq!(o.status.code(), Some(1));
    assert!(engine_lock(&e.name).is_some());
    let o = unlock(true);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("Removed the lock on enclave"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(engine_lock(&e.name).is_none());
    e.apply(&["--args", r#"{"greeting": "x"}"#]);
}

#[test]
fn status_and_destroy_of_a_missing_enclave_say_so_and_list_those_that_exist() {
    let Some(e) = Enclave::new("kp-none") else {
        return;
    };
    e.apply(&[]);
    let missing = unique_name("kp-missing");
    for cmd in ["status", "destroy"] {
        let o = Command::new(support::kplan_bin())
            .args([cmd, "--enclave", &missing])
            .output()
            .expect("run kplan");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{cmd}: {err}");
        assert!(
            err.contains(&format!(
                "enclave \"{missing}\" does not exist on this engine; enclaves that do: "
            )),
            "{cmd}: {err}"
        );
        assert!(err.contains(&e.name), "{cmd}: {err}");
        assert!(String::from_utf8_lossy(&o.stdout).is_empty());
    }
    // Destroy says exactly what it removed: here the network and three containers,
    // keeping the volume; then only the volume is left, and then nothing.
    let out = e.ok(&["destroy"]);
    assert_eq!(
        out.trim(),
        format!(
            "Destroyed enclave \"{0}\": removed 3 containers, network kplan-{0}; kept 1 volume (use --volumes to delete it).",
            e.name
        )
    );
    let out = e.ok(&["destroy", "--volumes"]);
    assert_eq!(
        out.trim(),
        format!(
            "Destroyed enclave \"{}\": removed 0 containers, 1 volume.",
            e.name
        )
    );
    let o = e.run(&["destroy"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not exist on this engine"));
}

#[test]
fn missing_images_are_all_reported_before_any_change() {
    let Some(e) = Enclave::new("kp-img") else {
        return;
    };
    let (_dir, pkg) = package(
        "def run(plan):\n    plan.add_service(name = \"a\", config = ServiceConfig(image = \"kplan-test/nope:missing\"))\n    plan.add_service(name = \"b\", config = ServiceConfig(image = \"kplan-test/also:missing\"))\n",
    );
    let o = e.run(&["apply", &pkg, "--yes"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("kplan-test/nope:missing"), "{err}");
    assert!(err.contains("kplan-test/also:missing"), "{err}");
    assert!(err.contains("main.star:2"), "{err}");
    assert!(err.contains("main.star:3"), "{err}");
    assert!(
        !docker(["network", "inspect", &format!("kplan-{}", e.name)])
            .status
            .success()
    );
    // `plan` changes nothing: it shows the plan, with the same problems as warnings.
    let o = e.run(&["plan", &pkg]);
    assert_eq!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("warning[KP501]"), "{err}");
    assert!(
        err.contains("`kplan apply` will stop on these problems"),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("2 to add"));
    let o = Command::new(support::kplan_bin())
        .args(["validate", &pkg, "--check-images"])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("KP501"));
    // Without the flag the same package is valid.
    let o = Command::new(support::kplan_bin())
        .args(["validate", &pkg])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn apply_without_yes_off_a_terminal_refuses() {
    let Some(e) = Enclave::new("kp-yes") else {
        return;
    };
    let o = e.run(&["apply", &fixture()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("pass --yes"));
    assert!(e.containers().is_empty());
}

#[test]
fn a_port_that_never_opens_fails_with_the_service_named_and_keeps_the_rest() {
    let Some(e) = Enclave::new("kp-fail") else {
        return;
    };
    let (_dir, pkg) = package(
        "def run(plan):\n    plan.add_service(name = \"ok\", config = ServiceConfig(image = \"kplan-test/busybox:local\", cmd = [\"sleep\", \"1000\"]))\n    plan.add_service(name = \"deaf\", config = ServiceConfig(image = \"kplan-test/busybox:local\", cmd = [\"sleep\", \"1000\"], ports = {\"http\": PortSpec(number = 81, wait = \"2s\")}))\n",
    );
    let o = e.run(&["apply", &pkg, "--yes"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("service deaf (main.star:3)"), "{err}");
    assert!(
        err.contains("port 'http' (81) did not open within 2s"),
        "{err}"
    );
    // What finished is kept; the service that failed its checks is replaced next time.
    let o = e.run(&["plan", &pkg]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!out.contains("service \"ok\""), "{out}");
    assert!(
        out.contains("-/+ service \"deaf\" must be replaced"),
        "{out}"
    );
    assert!(
        out.contains("# it was not ready when last applied"),
        "{out}"
    );
}

#[test]
fn resource_limits_change_in_place() {
    let Some(e) = Enclave::new("kp-res") else {
        return;
    };
    let (_dir, pkg) = package(
        "def run(plan, args = {}):\n    plan.add_service(name = \"s\", config = ServiceConfig(image = \"kplan-test/busybox:local\", cmd = [\"sleep\", \"1000\"], max_memory = args.get(\"mem\", 64), max_cpu = 500))\n",
    );
    e.ok(&["apply", &pkg, "--yes"]);
    let before = e.identity("s");
    let mem = |e: &Enclave| {
        docker_ok([
            "inspect",
            "--format",
            "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}",
            &e.container("s"),
        ])
        .trim()
        .to_string()
    };
    assert_eq!(mem(&e), format!("{} 500000000", 64 * 1024 * 1024));
    let args = r#"{"mem": 128}"#;
    let plan = e.ok(&["plan", &pkg, "--args", args]);
    assert!(
        plan.contains("~ service \"s\" will be updated in place"),
        "{plan}"
    );
    e.ok(&["apply", &pkg, "--yes", "--args", args]);
    assert_eq!(e.identity("s"), before, "the container was recreated");
    assert_eq!(mem(&e), format!("{} 500000000", 128 * 1024 * 1024));
    assert!(e
        .ok(&["plan", &pkg, "--args", args])
        .starts_with("No changes."));
}

#[test]
fn engine_imports_an_image_from_a_root_filesystem_tar() {
    if !require_docker() {
        return;
    }
    use kplan::executor::desired::FileEntry;
    use kplan::executor::engine::Engine;
    let engine = Engine::connect().expect("connect");
    let tag = unique_name("import");
    let repo = "kplan-test/imported";
    let tar = kplan::executor::tar::write(&[FileEntry {
        path: "etc/hello.txt".into(),
        mode: 0o644,
        content: b"hello".to_vec(),
    }])
    .expect("tar");
    let image = format!("{repo}:{tag}");
    assert!(!engine.image_exists(&image).expect("inspect"));
    engine.import_image(tar, repo, &tag).expect("import");
    let exists = engine.image_exists(&image).expect("inspect");
    let _ = docker(["rmi", &image]);
    assert!(exists);
}

#[test]
fn files_copied_out_of_a_service_feed_a_task_and_are_reused() {
    let Some(e) = Enclave::new("kp-files") else {
        return;
    };
    let (_dir, pkg) = package(
        r#"def run(plan):
    plan.add_service(name = "src", config = ServiceConfig(image = "kplan-test/busybox:local", cmd = ["sh", "-c", "mkdir -p /out && echo from-src > /out/f.txt && exec sleep 1000"]))
    plan.wait(service_name = "src", recipe = ExecRecipe(command = ["cat", "/out/f.txt"]), field = "code", assertion = "==", target_value = 0, timeout = "20s")
    copied = plan.store_service_files(service_name = "src", src = "/out/f.txt", name = "copied")
    r = plan.run_sh(name = "read", run = "cat /in/f.txt", image = "kplan-test/busybox:local", files = {"/in": copied})
    plan.print("task read: " + r.output)
    plan.add_service(name = "user", config = ServiceConfig(image = "kplan-test/busybox:local", cmd = ["sleep", "1000"], files = {"/in": copied}))
"#,
    );
    let out = e.ok(&["apply", &pkg, "--yes"]);
    assert!(out.contains("task read: from-src"), "{out}");
    assert_eq!(e.exec("user", &["cat", "/in/f.txt"]).trim(), "from-src");
    let again = e.ok(&["apply", &pkg, "--yes"]);
    assert!(again.starts_with("No changes."), "{again}");
}

#[test]
fn a_foreign_container_in_the_way_is_never_removed() {
    let Some(e) = Enclave::new("kp-foreign") else {
        return;
    };
    let name = e.container("api");
    docker_ok(["create", "--name", &name, &busybox_image(), "true"]);
    let o = e.run(&["apply", &fixture(), "--yes"]);
    let alive = docker(["inspect", &name]).status.success();
    let _ = docker(["rm", "-f", &name]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("that kplan did not create is in the way"),
        "{err}"
    );
    assert!(alive, "kplan removed a container it did not create");
}

const IP_PACKAGE: &str = r#"def run(plan, args = {}):
    a = plan.add_service(name = "a", config = ServiceConfig(
        image = "kplan-test/busybox:local",
        private_ip_address_placeholder = "KURTOSIS_IP_ADDR_PLACEHOLDER",
        cmd = ["sh", "-c", "echo KURTOSIS_IP_ADDR_PLACEHOLDER > /tmp/ip && exec sleep 1000"],
        env_vars = {"MY_URL": "http://KURTOSIS_IP_ADDR_PLACEHOLDER:5052", "V": str(args.get("v", 1))},
    ))
    plan.add_service(name = "b", config = ServiceConfig(image = "kplan-test/busybox:local", cmd = ["sleep", "1000"], env_vars = {"PEER": a.ip_address}))
    if args.get("c", False):
        plan.add_service(name = "c", config = ServiceConfig(image = "kplan-test/busybox:local", cmd = ["sh", "-c", "exec sleep 1000"], env_vars = {"ME": "MY_IP"}, private_ip_address_placeholder = "MY_IP"))
"#;

impl Enclave {
    /// The container's address on the enclave network, as Docker reports it.
    fn ip(&self, service: &str) -> String {
        docker_ok([
            "inspect",
            "--format",
            "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
            &self.container(service),
        ])
        .trim()
        .to_string()
    }
}

#[test]
fn the_ip_placeholder_becomes_the_containers_own_stable_address() {
    let Some(e) = Enclave::new("kp-ip") else {
        return;
    };
    let (_dir, pkg) = package(IP_PACKAGE);
    e.ok(&["apply", &pkg, "--yes"]);

    // The network got a subnet kplan chose, and `a` a static address in its lower half.
    let net = docker_ok([
        "network",
        "inspect",
        "--format",
        "{{range .IPAM.Config}}{{.Subnet}} {{.IPRange}}{{end}} {{index .Labels \"kplan.subnet\"}}",
        &format!("kplan-{}", e.name),
    ]);
    let fields: Vec<&str> = net.split_whitespace().collect();
    assert_eq!(fields.len(), 3, "{net}");
    assert_eq!(fields[0], fields[2], "{net}");
    let prefix = fields[0].trim_end_matches("0/24");
    assert_eq!(fields[1], format!("{prefix}128/25"), "{net}");
    let ip = e.ip("a");
    assert_eq!(ip, format!("{prefix}2"), "{net}");

    assert_eq!(e.exec("a", &["cat", "/tmp/ip"]).trim(), ip);
    assert_eq!(
        e.exec("a", &["sh", "-c", "echo $MY_URL"]).trim(),
        format!("http://{ip}:5052")
    );
    assert_eq!(e.exec("b", &["sh", "-c", "echo $PEER"]).trim(), ip);

    // Stable: a second apply changes nothing, and the plan agrees.
    let before = e.identity("a");
    let again = e.ok(&["apply", &pkg, "--yes"]);
    assert!(again.starts_with("No changes."), "{again}");
    assert_eq!(e.identity("a"), before);

    // A new service using its placeholder takes the next free address; the others stay.
    let args = r#"{"c": true}"#;
    let out = e.ok(&["apply", &pkg, "--yes", "--args", args]);
    assert!(out.contains("1 created"), "{out}");
    assert!(out.contains("2 unchanged"), "{out}");
    assert_eq!(e.identity("a"), before);
    let c_ip = e.ip("c");
    assert_eq!(c_ip, format!("{prefix}3"));
    assert_eq!(e.exec("c", &["sh", "-c", "echo $ME"]).trim(), c_ip);
    let again = e.ok(&["apply", &pkg, "--yes", "--args", args]);
    assert!(again.starts_with("No changes."), "{again}");

    // A replaced service keeps its address.
    let args = r#"{"c": true, "v": 2}"#;
    let out = e.ok(&["apply", &pkg, "--yes", "--args", args]);
    assert!(out.contains("-/+ service \"a\" must be replaced"), "{out}");
    assert_ne!(e.identity("a"), before);
    assert_eq!(e.ip("a"), ip);
    assert_eq!(e.exec("a", &["cat", "/tmp/ip"]).trim(), ip);
    assert_eq!(e.exec("b", &["sh", "-c", "echo $PEER"]).trim(), ip);
    assert_eq!(e.ip("c"), c_ip);
    let again = e.ok(&["apply", &pkg, "--yes", "--args", args]);
    assert!(again.starts_with("No changes."), "{again}");
}

#[test]
fn the_ip_placeholder_on_a_network_of_an_older_kplan_asks_for_destroy() {
    let Some(e) = Enclave::new("kp-ipold") else {
        return;
    };
    // As kplan made networks before it chose subnets: no subnet label.
    docker_ok([
        "network",
        "create",
        "--label",
        &format!("kplan.enclave={}", e.name),
        "--label",
        "kplan.kind=network",
        &format!("kplan-{}", e.name),
    ]);
    let (_dir, pkg) = package(IP_PACKAGE);
    let o = e.run(&["apply", &pkg, "--yes"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("service 'a' uses private_ip_address_placeholder"),
        "{err}"
    );
    assert!(err.contains("kplan destroy"), "{err}");
    assert!(e.containers().is_empty(), "{:?}", e.containers());
}

/// jq extractors as real packages write them (ethereum-package's enode extractor on an
/// HTTP body; `fromjson` on an exec's output, which Kurtosis hands to jq as a string).
const EXTRACT_PACKAGE: &str = r#"IMAGE = "kplan-test/busybox:local"
NODE = '{"result": {"enode": "enode://ab@10.0.0.1:30303?discport=0", "enr": null}}'
def run(plan):
    plan.add_service(name = "node", config = ServiceConfig(
        image = IMAGE,
        ports = {"rpc": PortSpec(number = 8545, application_protocol = "http")},
        cmd = ["sh", "-c", "mkdir -p /www && echo '%s' > /www/info.json && exec httpd -f -p 8545 -h /www" % NODE],
    ))
    info = plan.request(service_name = "node", recipe = GetHttpRequestRecipe(
        port_id = "rpc", endpoint = "/info.json",
        extract = {"enode": '.result.enode | split("?") | .[0]', "enr": '.result.enr // "none"'},
    ))
    out = plan.exec(service_name = "node", recipe = ExecRecipe(
        command = ["echo", '{"peers": [3, 4]}'],
        extract = {"count": "fromjson | .peers | length", "raw": "."},
    ))
    plan.add_service(name = "user", config = ServiceConfig(
        image = IMAGE,
        cmd = ["sleep", "1000"],
        env_vars = {"ENODE": info["extract.enode"], "ENR": info["extract.enr"], "COUNT": out["extract.count"]},
    ))
"#;

#[test]
fn jq_extractors_of_real_packages_feed_later_services() {
    let Some(e) = Enclave::new("kp-jq") else {
        return;
    };
    let (_dir, pkg) = package(EXTRACT_PACKAGE);
    e.ok(&["apply", &pkg, "--yes"]);
    let env = e.exec("user", &["sh", "-c", "echo $ENODE $ENR $COUNT"]);
    assert_eq!(env.trim(), "enode://ab@10.0.0.1:30303 none 2");
    let again = e.ok(&["apply", &pkg, "--yes"]);
    assert!(again.starts_with("No changes."), "{again}");
}

/// The counts `plan --output json` predicts, as apply's summary line states them.
fn predicted_outcome(plan_json: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(plan_json).expect("plan json");
    let services = v["change_set"]["services"].as_array().expect("services");
    let n = |action: &str| services.iter().filter(|s| s["action"] == action).count();
    let tasks = v["change_set"]["tasks"].as_array().expect("tasks");
    let run = tasks.iter().filter(|t| t["action"] == "run").count();
    format!(
        "Apply complete: {} created, {} replaced, {} updated, 0 removed, {} unchanged; {} tasks run, {} reused.",
        n("create"),
        n("replace"),
        n("update"),
        n("keep"),
        run,
        tasks.len() - run
    )
}

#[test]
fn plan_is_exactly_what_apply_does_when_a_used_service_is_replaced() {
    let Some(e) = Enclave::new("kp-agree") else {
        return;
    };
    e.apply(&[]);
    // Only web's page changes; client uses web's address, the exec on client reads the
    // page, and a template, a run_sh and a verify use the exec's result.
    let args = r#"{"greeting": "hi"}"#;
    let text = e.ok(&["plan", &fixture(), "--args", args]);
    let json = e.ok(&["plan", &fixture(), "--args", args, "--output", "json"]);
    let predicted = predicted_outcome(&json);
    let out = e.apply(&["--args", args]);
    assert!(
        out.contains(&predicted),
        "plan said {predicted}, apply did:\n{out}"
    );
    assert_eq!(
        predicted,
        "Apply complete: 0 created, 2 replaced, 0 updated, 0 removed, 1 unchanged; 4 tasks run, 4 reused."
    );
    assert!(
        text.contains("-/+ service \"web\" must be replaced"),
        "{text}"
    );
    assert!(
        text.contains("-/+ service \"client\" must be replaced"),
        "{text}"
    );
    assert!(
        text.contains(
            "> exec on 'client' (main.star:45) will run # runs against client, which is replaced"
        ),
        "{text}"
    );
    assert!(
        text.contains("(1 unchanged; 4 tasks to run, 4 reused)"),
        "{text}"
    );
    // The exec ran again against the new web page, and its recorded output is the new one.
    assert!(out.contains("client saw: <h1>hi from web</h1>"), "{out}");
    let state =
        std::fs::read_to_string(e.state.path().join(&e.name).join("state.json")).expect("state");
    assert!(
        state.contains("\"output\": \"<h1>hi from web</h1>\\n\""),
        "{state}"
    );
    assert!(!state.contains("hello from web"), "{state}");
    assert!(e.apply(&["--args", args]).starts_with("No changes."));
}

#[test]
fn a_paused_container_is_unpaused_in_place() {
    let Some(e) = Enclave::new("kp-pause") else {
        return;
    };
    e.apply(&[]);
    let before = e.identity("web");
    docker_ok(["pause", &e.container("web")]);
    let (code, plan) = e.plan_code(&[]);
    assert_eq!(code, 2, "{plan}");
    assert!(
        plan.contains("~ service \"web\" will be updated in place"),
        "{plan}"
    );
    assert!(plan.contains("# container is paused: unpause it"), "{plan}");
    assert!(
        plan.contains("(2 unchanged; 0 tasks to run, 8 reused)"),
        "{plan}"
    );
    let out = e.apply(&[]);
    assert!(out.contains("1 updated"), "{out}");
    assert_eq!(e.identity("web"), before, "web was recreated");
    let state = docker_ok([
        "inspect",
        "--format",
        "{{.State.Status}}",
        &e.container("web"),
    ]);
    assert_eq!(state.trim(), "running");
    assert_eq!(e.plan_code(&[]).0, 0);
}

#[test]
fn settings_changed_with_docker_update_are_repaired() {
    let Some(e) = Enclave::new("kp-upd") else {
        return;
    };
    let (_dir, pkg) = package(
        "def run(plan):\n    plan.add_service(name = \"s\", config = ServiceConfig(image = \"kplan-test/busybox:local\", cmd = [\"sleep\", \"1000\"], max_memory = 64, max_cpu = 500))\n",
    );
    e.ok(&["apply", &pkg, "--yes"]);
    let before = e.identity("s");
    // Memory, CPUs, pids limit (unset and 0 both mean none), restart policy (unset and
    // "no" are the same), CPU shares.
    let live = |e: &Enclave| {
        docker_ok([
            "inspect",
            "--format",
            "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{or .HostConfig.PidsLimit 0}} {{or .HostConfig.RestartPolicy.Name \"no\"}} {{.HostConfig.CpuShares}}",
            &e.container("s"),
        ])
        .trim()
        .to_string()
    };
    let declared = live(&e);
    assert!(
        declared.starts_with(&format!("{} 500000000", 64 << 20)),
        "{declared}"
    );

    // What `docker update` can set back is repaired in place.
    docker_ok([
        "update",
        "--memory",
        "96m",
        "--memory-swap",
        "-1",
        "--cpus",
        "1.5",
        "--pids-limit",
        "10",
        "--restart",
        "always",
        &e.container("s"),
    ]);
    let plan = e.ok(&["plan", &pkg]);
    assert!(
        plan.contains("~ service \"s\" will be updated in place"),
        "{plan}"
    );
    for reason in [
        "# memory limit is 96M on the engine, the package declares 64M",
        "# CPU limit is 1500m on the engine, the package declares 500m",
        "# pids limit is 10 on the engine, the package declares unlimited",
        "# restart policy is always on the engine, the package declares no",
    ] {
        assert!(plan.contains(reason), "{reason}\n{plan}");
    }
    let out = e.ok(&["apply", &pkg, "--yes"]);
    assert!(out.contains("1 updated"), "{out}");
    assert_eq!(e.identity("s"), before, "the container was recreated");
    assert_eq!(live(&e), declared);
    assert!(e.ok(&["plan", &pkg]).starts_with("No changes."));

    // What it cannot reset (a CPU weight the package never sets) means a replacement.
    docker_ok(["update", "--cpu-shares", "512", &e.container("s")]);
    let plan = e.ok(&["plan", &pkg]);
    assert!(
        plan.contains("-/+ service \"s\" must be replaced")
            && plan.contains("# CPU shares is 512 on the engine, the package declares none; Docker cannot remove it in place"),
        "{plan}"
    );
    let out = e.ok(&["apply", &pkg, "--yes"]);
    assert!(out.contains("1 replaced"), "{out}");
    assert_eq!(live(&e), declared);
    assert!(e.ok(&["plan", &pkg]).starts_with("No changes."));
}
