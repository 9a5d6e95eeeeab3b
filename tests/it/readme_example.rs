//! The example a new user tries first: the README's Quickstart session (compile, plan,
//! apply, status, destroy of fixtures/valid/web-db) runs on the real engine with the
//! test image, command by command as the README writes them, and prints what the
//! README shows. Each `$ kplan ...` line of the session is run (plan/apply/status/
//! destroy in a private enclave and state directory); its stdout and stderr together
//! must hold the same lines as the README shows under it, in any interleaving, with
//! times and addresses masked.

use crate::support;

use std::process::{Command, Stdio};
use support::{
    busybox_image, enclave_containers, kplan_bin, repo_root, require_docker, ApplyEnclave,
};

/// Marks the session in README.md: the ```console block after this line.
const MARKER: &str = "<!-- tests/it/readme_example.rs runs this session -->";

/// One `$ kplan ...` line and the output the README shows for it.
struct Step {
    args: Vec<String>,
    /// `| head -N` after the command: only the first N lines of stdout.
    head: Option<usize>,
    shown: Vec<String>,
}

/// The session's kplan commands and their shown output (other `$` lines are set-up).
fn session() -> Vec<Step> {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let block = readme
        .split(MARKER)
        .nth(1)
        .and_then(|rest| rest.split("```console\n").nth(1))
        .and_then(|rest| rest.split("\n```").next())
        .expect("README.md has the Quickstart session after the marker");
    let mut steps: Vec<Step> = Vec::new();
    let mut in_kplan = false;
    for line in block.lines() {
        if let Some(cmd) = line.strip_prefix("$ ") {
            let cmd = cmd.split(" #").next().unwrap_or(cmd);
            in_kplan = cmd.starts_with("kplan ");
            if !in_kplan {
                continue;
            }
            let (cmd, head) = match cmd.split_once(" | head -") {
                Some((c, n)) => (c, Some(n.trim().parse().expect("head -N"))),
                None => (cmd, None),
            };
            steps.push(Step {
                args: cmd.split_whitespace().skip(1).map(str::to_owned).collect(),
                head,
                shown: Vec::new(),
            });
        } else if in_kplan {
            if let Some(step) = steps.last_mut() {
                step.shown.push(line.to_owned());
            }
        }
    }
    steps
}

/// Masks what differs between runs: times, addresses, the enclave's name; and the
/// column padding that depends on them.
fn normalize(line: &str, enclave: &str) -> String {
    let line = line.replace(enclave, "web-db");
    let time = regex::Regex::new(r"\d+\.\d+s").expect("regex");
    let ip = regex::Regex::new(r"\b\d+\.\d+\.\d+\.\d+\b").expect("regex");
    let line = time.replace_all(&line, "T");
    let line = ip.replace_all(&line, "IP");
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn sorted(lines: impl Iterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = lines.collect();
    v.sort();
    v
}

#[test]
fn readme_quickstart_session_runs_as_shown() {
    let steps = session();
    let commands: Vec<&str> = steps
        .iter()
        .map(|s| s.args.first().map_or("", String::as_str))
        .collect();
    for expected in ["compile", "plan", "apply", "status", "destroy"] {
        assert!(
            commands.contains(&expected),
            "the README's session has no `kplan {expected}`: {commands:?}"
        );
    }
    if !require_docker() {
        return;
    }
    busybox_image();
    let apply_enclave = ApplyEnclave::new("kp-readme");
    let enclave = apply_enclave.name.clone();
    for step in &steps {
        let mut cmd = Command::new(kplan_bin());
        cmd.current_dir(repo_root())
            .args(&step.args)
            .stdin(Stdio::null());
        if ["plan", "apply", "status", "destroy"].contains(&step.args[0].as_str()) {
            cmd.args(["--enclave", &enclave, "--state-dir"])
                .arg(apply_enclave.state_dir());
        }
        let out = cmd.output().expect("run kplan");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "kplan {:?} failed:\n{stdout}\n{stderr}",
            step.args
        );
        let stdout: Vec<&str> = match step.head {
            Some(n) => stdout.lines().take(n).collect(),
            None => stdout.lines().collect(),
        };
        let actual = sorted(
            stdout
                .into_iter()
                .chain(stderr.lines())
                .map(|l| normalize(l, &enclave)),
        );
        let shown = sorted(step.shown.iter().map(|l| normalize(l, &enclave)));
        assert_eq!(
            shown,
            actual,
            "README shows (left) other output than `kplan {}` prints (right)",
            step.args.join(" ")
        );
        if step.args[0] == "apply" {
            // Both services keep running (the container of a service without a
            // long-running command would have exited).
            assert_eq!(
                enclave_containers(&enclave, false),
                [format!("{enclave}--db"), format!("{enclave}--web")]
            );
        }
    }
}
