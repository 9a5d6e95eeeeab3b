//! `--output json` of validate, plan, apply and status: real outputs (kplan run on the
//! fixtures; plan, apply and status on the real Docker engine with the local busybox
//! image) are validated against the schemas committed in schemas/ with the real
//! check-jsonschema (draft 2020-12, in .tools/venv), and carry `"version": 1`.

use crate::support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    support::repo_root()
}

/// Runs kplan from the repository root, offline, with the fixtures' package cache.
fn kplan(args: &[&str]) -> Output {
    Command::new(support::kplan_bin())
        .current_dir(root())
        .args(args)
        .env("KPLAN_PACKAGE_CACHE", root().join("fixtures/cache"))
        .stdin(Stdio::null())
        .output()
        .expect("run kplan")
}

/// The JSON document on stdout; panics with kplan's output when there is none.
fn doc(out: &Output, what: &str) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{what}: stdout is not one JSON document ({e}):\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Validates every document against schemas/<command>.schema.json with
/// check-jsonschema, in one process; panics with its report on any failure.
fn check(command: &str, docs: &[(String, Value)]) {
    assert!(!docs.is_empty());
    for (name, d) in docs {
        assert_eq!(d["version"], 1, "{name}: no \"version\": 1");
    }
    let Some(py) = support::oracle_python() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut files = Vec::new();
    for (i, (name, d)) in docs.iter().enumerate() {
        let f = dir.path().join(format!("{i:02}-{}.json", slug(name)));
        std::fs::write(&f, serde_json::to_vec_pretty(d).expect("json")).expect("write");
        files.push(f);
    }
    let schema = root().join(format!("schemas/{command}.schema.json"));
    let out = Command::new(py.with_file_name("check-jsonschema"))
        .arg("--schemafile")
        .arg(&schema)
        .args(&files)
        .stdin(Stdio::null())
        .output()
        .expect("run check-jsonschema");
    assert!(
        out.status.success(),
        "{command} --output json does not match {}:\n{}{}",
        schema.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

fn cases(dir: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .expect("fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() || p.extension().is_some_and(|x| x == "star"))
        .collect();
    out.sort();
    out
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root())
        .unwrap_or(p)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn schemas_are_valid_draft_2020_12() {
    let Some(py) = support::oracle_python() else {
        return;
    };
    let schemas: Vec<PathBuf> = ["validate", "plan", "apply", "status"]
        .iter()
        .map(|c| root().join(format!("schemas/{c}.schema.json")))
        .collect();
    for s in &schemas {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(s).expect("schema"))
            .expect("schema is JSON");
        assert_eq!(
            v["$schema"],
            "https://json-schema.org/draft/2020-12/schema",
            "{}",
            s.display()
        );
    }
    let out = Command::new(py.with_file_name("check-jsonschema"))
        .arg("--check-metaschema")
        .args(&schemas)
        .output()
        .expect("run check-jsonschema");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// `validate --output json` of every fixture, valid (exit 0) and invalid (exit 1).
#[test]
fn validate_json_of_every_fixture_matches_the_schema() {
    let mut docs = Vec::new();
    for (dir, valid) in [("fixtures/valid", true), ("fixtures/invalid", false)] {
        for case in cases(dir) {
            let mut args = vec!["validate".to_owned(), rel(&case), "--offline".into()];
            for name in ["args.yaml", "args.json"] {
                if case.join(name).is_file() {
                    args.extend(["--args-file".into(), rel(&case.join(name))]);
                }
            }
            args.extend(["--output".into(), "json".into()]);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = kplan(&args);
            let name = rel(&case);
            assert_eq!(
                out.status.code(),
                Some(if valid { 0 } else { 1 }),
                "{name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let d = doc(&out, &name);
            assert_eq!(d["valid"], valid, "{name}");
            if !valid {
                let errors = d["diagnostics"].as_array().expect("diagnostics");
                assert!(
                    errors.iter().any(|e| e["severity"] == "error"),
                    "{name}: invalid, but no error in {d}"
                );
            }
            docs.push((name, d));
        }
    }
    check("validate", &docs);
}

/// An enclave of this test, destroyed when dropped.
struct Enclave(support::ApplyEnclave);

impl Enclave {
    fn run(&self, args: &[&str]) -> Output {
        let state = self.0.state_dir().to_string_lossy().into_owned();
        let mut all = args.to_vec();
        all.extend(["--enclave", &self.0.name, "--state-dir", &state]);
        kplan(&all)
    }
}

/// plan, apply and status on the real engine, on fixtures/valid/apply-web: a first
/// plan (everything to create), the apply that does it, status, a second plan and apply
/// (nothing to change), and an apply whose task fails (the error in the document).
#[test]
fn plan_apply_and_status_json_on_the_real_engine_match_the_schemas() {
    if !support::require_docker() {
        return;
    }
    support::busybox_image();
    let e = Enclave(support::ApplyEnclave::new("kp-json"));
    let pkg = "fixtures/valid/apply-web";
    let json = ["--output", "json"];
    let mut plans = Vec::new();
    let mut applies = Vec::new();

    let first = e.run(&[&["plan", pkg][..], &json].concat());
    let d = doc(&first, "first plan");
    assert_eq!(d["changes"], true);
    plans.push(("first plan".to_owned(), d));

    let out = e.run(&[&["apply", pkg, "--yes"][..], &json].concat());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d = doc(&out, "first apply");
    assert_eq!(d["applied"], true, "{d}");
    assert_eq!(d["result"]["created"], 3, "{d}");
    assert_eq!(d["error"], Value::Null);
    assert!(
        d["messages"][0]
            .as_str()
            .is_some_and(|m| m.starts_with("client saw: ")),
        "plan.print goes into the document, not beside it: {d}"
    );
    applies.push(("first apply".to_owned(), d));

    let out = e.run(&["status", "--output", "json"]);
    let status = doc(&out, "status");
    let services = status["services"].as_array().expect("services");
    assert_eq!(services.len(), 3, "{status}");
    assert!(services.iter().all(|s| s["state"] == "running"), "{status}");

    let again = e.run(&[&["plan", pkg][..], &json].concat());
    let d = doc(&again, "second plan");
    assert_eq!(d["changes"], false, "{d}");
    plans.push(("second plan".to_owned(), d));

    let out = e.run(&[&["apply", pkg, "--yes"][..], &json].concat());
    let d = doc(&out, "second apply");
    assert_eq!(d["applied"], false, "nothing to change: {d}");
    assert_eq!(d["result"], Value::Null, "{d}");
    applies.push(("second apply".to_owned(), d));

    // A task that fails: exit 1, and the document says why.
    let out = e.run(
        &[
            &["apply", pkg, "--yes", "--args", r#"{"settle": "x"}"#][..],
            &json,
        ]
        .concat(),
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let d = doc(&out, "failing apply");
    assert_eq!(d["applied"], false, "{d}");
    assert!(
        d["error"].as_str().is_some_and(|s| s.contains("settle")),
        "{d}"
    );
    applies.push(("failing apply".to_owned(), d));

    check("plan", &plans);
    check("apply", &applies);
    check("status", &[("status".to_owned(), status)]);
}

/// Without --yes, apply cannot both ask and print one JSON document: it refuses at
/// once, before loading anything (as `terraform apply -json` needs -auto-approve).
#[test]
fn apply_json_needs_yes() {
    let out = kplan(&["apply", "fixtures/valid/web-db", "--output", "json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--yes"), "{err}");
}
