//! `kplan apply --watch` on the real Docker engine, on a temporary copy of
//! tests/watch/package (two services; `web` mounts a template read from a file of the
//! package, `other` mounts nothing): an edit of the template replaces exactly `web`; a
//! broken `main.star` prints its errors and changes nothing; SIGINT, while waiting or
//! in the middle of an apply, stops the watch with the lock released. The enclave, its
//! containers and the watching process are cleaned up also when a check fails. Nothing
//! here depends on timings: every wait is for output or engine state, with a generous
//! limit.

use crate::support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{busybox_image, docker, docker_ok, require_docker, unique_name};

/// How long one cycle may take on a loaded machine before the test gives up.
const LIMIT: Duration = Duration::from_secs(180);

/// A running `kplan apply --watch` on a copy of the package, with everything it made
/// removed when dropped.
struct Watch {
    enclave: String,
    state: tempfile::TempDir,
    package: tempfile::TempDir,
    child: Option<Child>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

/// Collects everything `from` writes, as it comes.
fn collect(mut from: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let into = text.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            let chunk = String::from_utf8_lossy(&buf[..n]).into_owned();
            into.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push_str(&chunk);
        }
    });
    text
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read fixture") {
        let e = e.expect("entry");
        let target = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy");
        }
    }
}

impl Watch {
    /// Starts the watch, or `None` when there is no Docker engine (skipped).
    fn start(extra: &[&str]) -> Option<Watch> {
        if !require_docker() {
            return None;
        }
        busybox_image();
        let package = tempfile::tempdir().expect("tempdir");
        copy_dir(
            &support::repo_root().join("tests/watch/package"),
            package.path(),
        );
        let mut w = Watch {
            enclave: unique_name("kp-watch"),
            state: tempfile::tempdir().expect("tempdir"),
            package,
            child: None,
            stdout: Arc::default(),
            stderr: Arc::default(),
        };
        let mut child = w
            .kplan(&["apply", "--watch", "--yes"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start kplan apply --watch");
        w.stdout = collect(child.stdout.take().expect("stdout"));
        w.stderr = collect(child.stderr.take().expect("stderr"));
        w.child = Some(child);
        Some(w)
    }

    /// `kplan COMMAND PACKAGE --enclave E --state-dir S`.
    fn kplan(&self, command: &[&str]) -> Command {
        let mut c = Command::new(support::kplan_bin());
        c.args(command)
            .arg(self.package.path())
            .args(["--enclave", &self.enclave, "--state-dir"])
            .arg(self.state.path())
            .stdin(Stdio::null());
        c
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.package.path().join(rel)
    }

    fn out(&self) -> String {
        self.stdout
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn err(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Waits until `f(stdout, stderr)` holds; panics with both after [`LIMIT`], or when
    /// kplan exits first.
    fn until(&mut self, what: &str, f: impl Fn(&str, &str) -> bool) {
        let start = Instant::now();
        while !f(&self.out(), &self.err()) {
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            assert!(
                exited.is_none() && start.elapsed() < LIMIT,
                "waiting for {what}: kplan {}\nstdout:\n{}\nstderr:\n{}",
                match exited {
                    Some(s) => format!("exited ({s})"),
                    None => "still runs".into(),
                },
                self.out(),
                self.err()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits for the watch to be waiting for the `n`th time (after `n` cycles).
    fn waiting(&mut self, n: usize) {
        self.until(&format!("cycle {n} to end"), |_, err| {
            err.matches("\nWatching the ").count() >= n
        });
    }

    /// Id and creation time of a service's container.
    fn identity(&self, service: &str) -> String {
        docker_ok([
            "inspect",
            "--format",
            "{{.Id}} {{.Created}}",
            &format!("{}--{service}", self.enclave),
        ])
        .trim()
        .to_string()
    }

    /// Sends `sig` and returns the exit code and everything kplan wrote on stderr.
    fn stop(&mut self, sig: i32) -> (Option<i32>, String) {
        let mut child = self.child.take().expect("kplan runs");
        // SAFETY: sending a signal to our own child process.
        unsafe {
            libc::kill(
                libc::pid_t::try_from(child.id()).expect("a child's pid fits pid_t"),
                sig,
            );
        }
        let start = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().expect("wait") {
                break s;
            }
            if start.elapsed() > LIMIT {
                let _ = child.kill();
                let _ = child.wait();
                panic!("kplan did not stop on signal {sig}:\n{}", self.err());
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        // The readers finish with the process's pipes.
        std::thread::sleep(Duration::from_millis(200));
        (status.code(), self.err())
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new(support::kplan_bin())
            .args([
                "destroy",
                "--volumes",
                "--enclave",
                &self.enclave,
                "--state-dir",
            ])
            .arg(self.state.path())
            .stdin(Stdio::null())
            .output();
        let ids = docker([
            "ps",
            "-aq",
            "--filter",
            &format!("label=kplan.enclave={}", self.enclave),
        ]);
        for id in String::from_utf8_lossy(&ids.stdout).split_whitespace() {
            let _ = docker(["rm", "-f", id]);
        }
        let _ = docker(["network", "rm", &format!("kplan-{}", self.enclave)]);
        let _ = docker([
            "volume",
            "rm",
            "-f",
            &format!("kplan-lock.{}", self.enclave),
        ]);
    }
}

fn engine_locked(enclave: &str) -> bool {
    docker(["volume", "inspect", &format!("kplan-lock.{enclave}")])
        .status
        .success()
}

/// Writes `text` to `path` as vim and IntelliJ save: a new file renamed over the old.
fn save_by_rename(path: &Path, text: &str) {
    let tmp = path.with_extension("kplan-test-tmp");
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}

#[test]
fn watch_replaces_only_the_service_whose_template_changed_and_stops_on_sigint() {
    let Some(mut w) = Watch::start(&[]) else {
        return;
    };
    w.waiting(1);
    assert!(w.out().contains("Apply complete: 2 created"), "{}", w.out());
    assert!(engine_locked(&w.enclave), "the lock is held while watching");
    let web = w.identity("web");
    let other = w.identity("other");

    // An edit of the template that only `web` mounts replaces `web` alone.
    save_by_rename(
        &w.path("templates/index.html.tmpl"),
        "<h1>{{ .Greeting }} again from {{ .Name }}</h1>\n",
    );
    w.waiting(2);
    let out = w.out();
    assert!(
        out.contains("-/+ service \"web\" must be replaced"),
        "{out}"
    );
    assert!(!out.contains("service \"other\" must"), "{out}");
    assert!(
        w.err().contains("Changed: templates/index.html.tmpl"),
        "{}",
        w.err()
    );
    assert_ne!(w.identity("web"), web, "web was not replaced");
    assert_eq!(w.identity("other"), other, "other was touched");
    let page = docker_ok([
        "exec",
        &format!("{}--web", w.enclave),
        "cat",
        "/www/index.html",
    ]);
    assert_eq!(page.trim(), "<h1>hello again from web</h1>");
    let web = w.identity("web");

    // A broken main.star: its errors with their positions, and nothing changed.
    let main = std::fs::read_to_string(w.path("main.star")).expect("read");
    let broken = main.replace("image = images.IMAGE, cmd", "image = imagez.IMAGE, cmd");
    assert_ne!(broken, main);
    let before = w.err().len();
    std::fs::write(w.path("main.star"), broken).expect("write");
    w.waiting(3);
    let cycle = w.err()[before..].to_string();
    assert!(cycle.contains("Changed: main.star"), "{cycle}");
    assert!(cycle.contains("--> main.star:21:"), "{cycle}");
    assert!(cycle.contains("imagez"), "{cycle}");
    assert!(cycle.contains("nothing was written or changed"), "{cycle}");
    assert_eq!(w.identity("web"), web, "a broken package changed web");
    assert_eq!(w.identity("other"), other, "a broken package changed other");

    // SIGINT while waiting: exit 130, the lock released.
    let (code, err) = w.stop(libc::SIGINT);
    assert_eq!(code, Some(130), "{err}");
    assert!(
        err.contains(&format!(
            "Stopped watching; released the lock of enclave \"{}\"",
            w.enclave
        )),
        "{err}"
    );
    assert!(!engine_locked(&w.enclave), "the lock was left behind");
    let unlock = Command::new(support::kplan_bin())
        .args(["unlock", "--enclave", &w.enclave])
        .stdin(Stdio::null())
        .output()
        .expect("kplan unlock");
    let said = String::from_utf8_lossy(&unlock.stdout);
    assert!(unlock.status.success(), "{said}");
    assert!(said.contains("is not locked"), "{said}");
}

#[test]
fn sigterm_in_the_middle_of_an_apply_stops_the_watch_with_the_lock_released() {
    let Some(mut w) = Watch::start(&[]) else {
        return;
    };
    w.waiting(1);
    // A task that takes long enough to be interrupted.
    let main = std::fs::read_to_string(w.path("main.star")).expect("read");
    let slow = main.replace(
        "    plan.add_service(\n        name = \"other\",",
        "    plan.run_sh(name = \"slow\", run = \"sleep 600\", image = images.IMAGE)\n    plan.add_service(\n        name = \"other\",",
    );
    assert_ne!(slow, main);
    save_by_rename(&w.path("main.star"), &slow);
    w.until("the slow task to run", |_, err| {
        err.lines()
            .any(|l| l.contains("slow") && l.ends_with(": running"))
    });
    let (code, err) = w.stop(libc::SIGTERM);
    assert_eq!(code, Some(143), "{err}");
    assert!(err.contains("released the enclave lock"), "{err}");
    assert!(!engine_locked(&w.enclave), "the lock was left behind");
    // The watch can be started again at once.
    let o = w.kplan(&["plan"]).output().expect("kplan plan");
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("is locked"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// What `--watch` watches: every file of the package the interpretation read, the
/// module it looked for and did not find, nothing from the package cache.
#[test]
fn interpretation_records_the_files_it_read_and_the_ones_it_missed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().canonicalize().expect("canonical");
    copy_dir(&support::repo_root().join("tests/watch/package"), &root);
    let args = kplan::cli::PackageArgs {
        package: root.to_string_lossy().into_owned(),
        args: None,
        args_file: None,
        main_file: "main.star".into(),
        main_function: "run".into(),
        package_cache: Some(support::repo_root().join("fixtures/cache")),
        offline: true,
        privileged: false,
        max_eval_memory: kplan::memory::DEFAULT_BUDGET,
        max_template_output: kplan::gotemplate::DEFAULT_MAX_OUTPUT,
    };
    let opts = args.frontend_options(kplan::frontend::ClusterType::Docker);
    let (result, reads) = kplan::frontend::interpret_recording(&opts);
    assert!(result.is_ok());
    let files: Vec<PathBuf> = reads.within(&root, None).files.into_iter().collect();
    let want: Vec<PathBuf> = [
        "kurtosis.yml",
        "lib/images.star",
        "main.star",
        "templates/index.html.tmpl",
    ]
    .iter()
    .map(|f| {
        if f.is_empty() {
            root.clone()
        } else {
            root.join(f)
        }
    })
    .collect();
    assert_eq!(files, want);

    let main = std::fs::read_to_string(root.join("main.star")).expect("read");
    std::fs::write(
        root.join("main.star"),
        format!("extra = import_module(\"./lib/extra.star\")\n{main}"),
    )
    .expect("write");
    let (result, reads) = kplan::frontend::interpret_recording(&opts);
    assert!(result.is_err());
    let reads = reads.within(&root, None);
    assert!(
        reads.files.contains(&root.join("lib/extra.star")),
        "{reads:?}"
    );
    assert!(reads.depends_on(&root.join("lib/extra.star")));
    assert!(!reads.depends_on(&root.join("templates/index.html.tmpl")));
}
