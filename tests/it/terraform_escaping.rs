//! Any string survives the Terraform target exactly: fixtures/valid/terraform-escaping
//! holds strings that HCL would change if written naively (`${`, `$${`, `%{`, quotes,
//! backslashes, newlines, carriage returns, tabs, control characters, unicode, comment
//! and heredoc look-alikes) in env values, command arguments, an uploaded file and the
//! run() return value. The test has Terraform itself evaluate every literal of the
//! generated main.tf (`oracle.py terraform-eval`: the source text copied into outputs
//! of a provider-less configuration, applied offline) and compares the values with
//! the strings of kplan's own plan (`--target plan --output json`).

use crate::support;

use serde_json::Value;
use std::process::{Command, Stdio};

const FIXTURE: &str = "fixtures/valid/terraform-escaping";

fn plan() -> Value {
    let out = support::kplan_ok(&["compile", FIXTURE, "--target", "plan", "--output", "json"]);
    serde_json::from_str(&out).expect("plan json")
}

#[test]
fn every_string_is_exact_after_terraform_reads_it() {
    let Some(py) = support::oracle_python() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("tf");
    support::kplan_ok(&[
        "compile",
        FIXTURE,
        "--target",
        "terraform",
        "-o",
        &out.to_string_lossy(),
    ]);
    let eval = Command::new(py)
        .arg(support::repo_root().join("tests/oracles/oracle.py"))
        .arg("terraform-eval")
        .arg(&out)
        .stdin(Stdio::null())
        .output()
        .expect("run oracle.py terraform-eval");
    assert!(
        eval.status.success(),
        "terraform-eval failed:\n{}{}",
        String::from_utf8_lossy(&eval.stdout),
        String::from_utf8_lossy(&eval.stderr)
    );
    let got: Value = serde_json::from_slice(&eval.stdout).expect("terraform-eval json");
    let plan = plan();
    let cfg = &plan["services"][0]["config"];

    // The command: entrypoint and cmd as the package gives them.
    assert_eq!(
        got["docker_container.strings.entrypoint"],
        cfg["entrypoint"]
    );
    assert_eq!(got["docker_container.strings.command"], cfg["cmd"]);

    // The env: a set of KEY=VALUE.
    let mut want: Vec<String> = cfg["env_vars"]
        .as_object()
        .expect("env map")
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().expect("literal")))
        .collect();
    want.sort();
    let mut env: Vec<String> = got["docker_container.strings.env"]
        .as_array()
        .expect("env list")
        .iter()
        .map(|v| v.as_str().expect("string").to_owned())
        .collect();
    env.sort();
    assert_eq!(env, want);

    // The uploaded file: every string, one per line.
    let strings: Vec<&str> = plan["output"]["strings"]
        .as_array()
        .expect("strings")
        .iter()
        .map(|v| v.as_str().expect("string"))
        .collect();
    assert!(
        strings.iter().any(|s| s.contains("$${")),
        "the fixture covers $${{"
    );
    assert_eq!(
        got["docker_container.strings.upload[0].content"],
        Value::String(strings.join("\n"))
    );

    // The run() return value, object keys included.
    assert_eq!(got["output.result"], plan["output"]);
}
