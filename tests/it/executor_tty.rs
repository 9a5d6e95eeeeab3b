//! `kplan apply` on a terminal: the confirmation prompt and the live progress display.
//! A real pseudo-terminal comes from util-linux's `script` (part of every Debian system),
//! which runs kplan with its stdin, stdout and stderr on a pty and copies what we write
//! to its stdin to the terminal.

use crate::support;

use std::io::Write;
use std::process::{Command, Output, Stdio};
use support::{busybox_image, docker, require_docker, unique_name};

/// A package of one long-running service, written to a temporary directory.
fn package(dir: &std::path::Path) -> String {
    std::fs::write(
        dir.join("main.star"),
        "def run(plan):\n    plan.add_service(name = \"s\", config = ServiceConfig(image = \"kplan-test/busybox:local\", cmd = [\"sleep\", \"1000\"]))\n",
    )
    .expect("write package");
    dir.join("main.star").to_string_lossy().into_owned()
}

/// Runs `kplan ARGS` on a pseudo-terminal, typing `answer` at its prompt.
fn on_terminal(args: &[String], answer: &str) -> Output {
    let line = std::iter::once(support::kplan_bin().to_string_lossy().into_owned())
        .chain(args.iter().cloned())
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run script(1) from util-linux");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(answer.as_bytes())
        .expect("type the answer");
    child.wait_with_output().expect("wait for kplan")
}

fn containers(enclave: &str) -> Vec<String> {
    let o = docker([
        "ps",
        "-aq",
        "--filter",
        &format!("label=kplan.enclave={enclave}"),
    ]);
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

#[test]
fn apply_asks_on_a_terminal_and_shows_live_progress() {
    if !require_docker() {
        return;
    }
    busybox_image();
    let enclave = unique_name("kp-tty");
    let state = tempfile::tempdir().expect("state dir");
    let dir = tempfile::tempdir().expect("package dir");
    let pkg = package(dir.path());
    let args: Vec<String> = [
        "apply",
        pkg.as_str(),
        "--enclave",
        enclave.as_str(),
        "--state-dir",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([state.path().to_string_lossy().into_owned()])
    .collect();
    let destroy = || {
        Command::new(support::kplan_bin())
            .args(["destroy", "--enclave", &enclave, "--volumes", "--state-dir"])
            .arg(state.path())
            .output()
            .expect("destroy")
    };

    // Anything but "yes" cancels (exit 1, as Terraform), and nothing is created.
    let o = on_terminal(&args, "no\n");
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("Only 'yes' is accepted"), "{text}");
    assert!(text.contains("nothing was changed"), "{text}");
    assert!(containers(&enclave).is_empty());
    // No trace: no lock on the engine, nothing in the state directory.
    let lock = docker(["volume", "inspect", &format!("kplan-lock.{enclave}")]);
    assert!(!lock.status.success(), "the lock was left");
    let left: Vec<_> = std::fs::read_dir(state.path())
        .expect("read state dir")
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // "yes" applies, with the live progress lines on the terminal.
    let o = on_terminal(&args, "yes\n");
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let created = containers(&enclave);
    destroy();
    assert!(o.status.success(), "{text}");
    assert!(text.contains("s: creating"), "{text}");
    assert!(text.contains("Apply complete: 1 created"), "{text}");
    assert_eq!(created.len(), 1, "{text}");
}
