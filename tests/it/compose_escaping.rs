//! Any string survives the Compose target exactly: fixtures/valid/compose-escaping
//! holds adversarial env values, command arguments and labels (YAML 1.1 look-alikes,
//! `$` interpolation, multi-line, quotes, unicode, control characters). The test
//! compares what the real Compose binary reads (`config --format json`, whose output
//! re-escapes `$` as `$$`) with the strings of kplan's own plan (`--target plan
//! --output json`), and, when Docker is there, with what the created container holds.

use crate::{escaping_fixture, support};

use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;

fn kplan(args: &[&str]) -> Vec<u8> {
    let out = Command::new(support::kplan_bin())
        .current_dir(support::repo_root())
        .args(args)
        .output()
        .expect("run kplan");
    assert!(
        out.status.success(),
        "kplan {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Undoes the `$` -> `$$` escaping that `compose config` applies to its output.
fn unescape(s: &str) -> String {
    s.replace("$$", "$")
}

#[test]
fn adversarial_strings_survive_compose_exactly() {
    if support::compose_bin().is_none() {
        return;
    }
    let want = escaping_fixture::expected();
    assert!(want.env.len() > 50 && want.labels.len() > 20);
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("p");
    kplan(&[
        "compile",
        "fixtures/valid/compose-escaping",
        "--target",
        "compose",
        "-o",
        &dir.to_string_lossy(),
    ]);
    let file = dir.join("compose.yaml");
    let out = support::docker_compose([
        "-f".as_ref(),
        file.as_os_str(),
        "config".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    assert!(
        out.status.success(),
        "compose config failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cfg: Value = serde_json::from_slice(&out.stdout).expect("config json");
    let svc = &cfg["services"]["strings"];
    let env: BTreeMap<String, String> = svc["environment"]
        .as_object()
        .expect("environment")
        .iter()
        .map(|(k, v)| (k.clone(), unescape(v.as_str().unwrap_or("<not a string>"))))
        .collect();
    assert_eq!(env, want.env);
    let labels: BTreeMap<String, String> = svc["labels"]
        .as_object()
        .expect("labels")
        .iter()
        .map(|(k, v)| (k.clone(), unescape(v.as_str().unwrap_or("<not a string>"))))
        .collect();
    assert_eq!(labels, want.labels);
    let mut argv: Vec<String> = Vec::new();
    for key in ["entrypoint", "command"] {
        for a in svc[key].as_array().expect(key) {
            argv.push(unescape(a.as_str().expect("string")));
        }
    }
    assert_eq!(argv, want.argv);

    // What the engine really gets: create (not start) the container and inspect it.
    if !support::require_docker() {
        return;
    }
    support::busybox_image();
    let project = support::unique_name("kplan-esc");
    let create = support::docker_compose([
        "-f".as_ref(),
        file.as_os_str(),
        "-p".as_ref(),
        project.as_ref(),
        "create".as_ref(),
        "--pull".as_ref(),
        "never".as_ref(),
    ]);
    let container = format!("{project}-strings-1");
    let inspect = support::docker(["inspect", container.as_str()]);
    let _ = support::docker_compose([
        "-f".as_ref(),
        file.as_os_str(),
        "-p".as_ref(),
        project.as_ref(),
        "down".as_ref(),
        "-v".as_ref(),
    ]);
    assert!(
        create.status.success(),
        "compose create failed:\n{}",
        String::from_utf8_lossy(&create.stderr)
    );
    let info: Value = serde_json::from_slice(&inspect.stdout).expect("inspect json");
    let c = &info[0]["Config"];
    let mut env = BTreeMap::new();
    for e in c["Env"].as_array().expect("Env") {
        let e = e.as_str().expect("env string");
        let (k, v) = e.split_once('=').expect("K=V");
        if k.starts_with('V') {
            env.insert(k.to_owned(), v.to_owned());
        }
    }
    assert_eq!(env, want.env);
    for (k, v) in &want.labels {
        assert_eq!(c["Labels"][k].as_str(), Some(v.as_str()), "label {k}");
    }
    let mut argv: Vec<String> = Vec::new();
    for key in ["Entrypoint", "Cmd"] {
        for a in c[key].as_array().expect(key) {
            argv.push(a.as_str().expect("string").to_owned());
        }
    }
    assert_eq!(argv, want.argv);
}
