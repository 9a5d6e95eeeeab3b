//! A reader that goes away (`kplan ... | head -2`) must end kplan quietly: no panic, no
//! "failed printing" message, and the documented exit code — the command's own failure
//! code, else 141 (128 + SIGPIPE) when output was lost — while the work itself is
//! finished (an apply whose stdout is closed still makes Docker match the package).
//!
//! Each run gets a pipe whose reading end is closed before kplan starts, so every write
//! to that stream fails with EPIPE, deterministically.

use crate::support;

use std::process::{Command, Output, Stdio};
use support::{
    busybox_image, enclave_containers, kplan_bin, repo_root, require_docker, ApplyEnclave,
};

/// Which of kplan's streams lead to a closed pipe.
#[derive(Debug, Clone, Copy)]
enum Closed {
    Stdout,
    Stderr,
    Both,
}

/// A pipe whose reader has gone: writing to it fails with EPIPE.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    writer.into()
}

/// Runs kplan with `closed` streams; the other stream (if any) is captured.
fn run<S: AsRef<str>>(closed: Closed, args: &[S]) -> Output {
    let mut cmd = Command::new(kplan_bin());
    cmd.args(args.iter().map(AsRef::as_ref))
        .current_dir(repo_root())
        .stdin(Stdio::null());
    match closed {
        Closed::Stdout => cmd.stdout(closed_pipe()).stderr(Stdio::piped()),
        Closed::Stderr => cmd.stdout(Stdio::piped()).stderr(closed_pipe()),
        Closed::Both => cmd.stdout(closed_pipe()).stderr(closed_pipe()),
    };
    cmd.output().expect("run kplan")
}

/// Asserts the exit code and that nothing on the open stream mentions a panic.
fn expect<S: AsRef<str>>(closed: Closed, args: &[S], code: i32) -> Output {
    let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
    let out = run(closed, &args);
    let seen = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !seen.contains("panicked") && !seen.contains("failed printing"),
        "kplan {args:?} with {closed:?} closed panicked:\n{seen}"
    );
    assert_eq!(
        out.status.code(),
        Some(code),
        "kplan {args:?} with {closed:?} closed:\n{seen}"
    );
    out
}

#[test]
fn commands_without_docker_end_quietly_when_their_reader_is_gone() {
    let plan = ["compile", "fixtures/valid/web-db", "--target", "plan"];
    expect(Closed::Stdout, &plan, 141);
    expect(Closed::Both, &plan, 141);
    // Nothing goes to stderr on success, so a closed stderr changes nothing.
    let out = expect(Closed::Stderr, &plan, 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains("services:"));

    // With -o, what was written is reported on stderr.
    let out = tempfile::tempdir().expect("tempdir");
    let out = out.path().to_str().expect("utf-8 path");
    let compose = [
        "compile",
        "fixtures/valid/web-db",
        "--target",
        "compose",
        "-o",
        out,
    ];
    expect(Closed::Stderr, &compose, 141);
    assert!(std::path::Path::new(out).join("compose.yaml").is_file());

    // validate reports on stderr; a failure keeps its own code.
    expect(Closed::Stderr, &["validate", "fixtures/valid/web-db"], 141);
    let bad = ["validate", "fixtures/invalid/syntax-error.star"];
    expect(Closed::Stderr, &bad, 1);
    expect(Closed::Both, &bad, 1);
    expect(
        Closed::Stdout,
        &["validate", "fixtures/valid/web-db", "--output", "json"],
        141,
    );

    // clap's own output: help on stdout, usage errors on stderr.
    for help in [&["--help"][..], &["compile", "--help"], &["status", "-h"]] {
        expect(Closed::Stdout, help, 141);
    }
    expect(Closed::Stderr, &["compile", "--no-such-flag"], 1);
}

#[test]
fn docker_commands_finish_their_work_when_their_reader_is_gone() {
    if !require_docker() {
        return;
    }
    let image = busybox_image();
    let pkg = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        pkg.path().join("main.star"),
        format!(
            r#"def run(plan, args = {{}}):
    plan.add_service(name = "web", config = ServiceConfig(
        image = "{image}",
        cmd = ["httpd", "-f", "-p", "8080"],
        ports = {{"http": PortSpec(number = 8080)}},
    ))
    plan.print("web is up")
"#
        ),
    )
    .expect("write main.star");
    let main = pkg.path().join("main.star");
    let main = main.to_str().expect("utf-8 path");
    let apply_enclave = ApplyEnclave::new("kp-closed");
    let state = apply_enclave.state_dir().to_str().expect("utf-8 path");
    let enclave = apply_enclave.name.clone();
    let on = ["--enclave", enclave.as_str(), "--state-dir", state];
    let with = |args: &[&str]| -> Vec<String> {
        args.iter()
            .chain(on.iter())
            .map(|s| s.to_string())
            .collect()
    };

    expect(Closed::Stdout, &with(&["apply", main, "--yes"]), 141);
    // The apply finished although nobody read what it said.
    assert_eq!(
        enclave_containers(&enclave, false),
        [format!("{enclave}--web")]
    );

    expect(Closed::Stdout, &with(&["plan", main]), 141);
    expect(Closed::Stdout, &with(&["status"]), 141);
    expect(Closed::Both, &with(&["status"]), 141);

    expect(Closed::Stdout, &with(&["destroy"]), 141);
    assert!(
        enclave_containers(&enclave, true).is_empty(),
        "destroy did not finish"
    );
}
