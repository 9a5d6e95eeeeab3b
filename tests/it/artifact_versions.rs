//! Artifact versions (issue 11, point 3): a `run_sh`/`run_python` `store` may reuse an
//! artifact name, as in Kurtosis, and each store makes a new version; every consumer
//! binds to the version current at its place in the program. fixtures/valid/
//! artifact-versions has three tasks that each read the previous version of `state`
//! and store the next, a service added after the first (`early`: version 1), a task
//! between the second and the third (`peek`: version 2, stored again as `seen`), and a
//! service added last (`final`: version 3). The validator's bindings are checked
//! here, and the real Compose `up --wait` and `kplan apply` on the real engine must
//! give each consumer exactly its version; apply redoes only the users of a version
//! that changes. The plan and Compose goldens are checked by tests/it/golden.rs.

use crate::support;

use kplan::ir::{ArtifactId, ServiceId, TaskId};
use support::{busybox_image, docker_ok, repo_root, require_docker, ApplyEnclave};

const FIXTURE: &str = "fixtures/valid/artifact-versions";

const V1: &str = "one\n";
const V2: &str = "one\ntwo\n";
const V3: &str = "one\ntwo\nthree\n";

fn cat(container: &str, path: &str) -> String {
    docker_ok(["exec", container, "cat", path])
}

#[test]
fn a_task_store_may_reuse_an_artifact_name() {
    support::kplan_ok(&["validate", FIXTURE]);
}

#[test]
fn each_consumer_binds_to_the_version_current_at_its_step() {
    let info = support::load_package(&repo_root().join(FIXTURE), None).info;
    // Artifacts in program order: state v1 (step-1), state v2 (step-2), seen (peek),
    // state v3 (step-3).
    let (v1, v2, seen, v3) = (ArtifactId(0), ArtifactId(1), ArtifactId(2), ArtifactId(3));
    assert_eq!(info.versions("state"), &[v1, v2, v3]);
    assert_eq!(
        [v1, v2, v3].map(|a| info.artifact_version(a)),
        [1, 2, 3],
        "versions are numbered per name"
    );
    assert_eq!(info.artifact_version(seen), 1);
    assert_eq!(info.final_artifact("state"), Some(v3));
    let (early, fin) = (ServiceId(0), ServiceId(1));
    let (step2, peek, step3) = (TaskId(1), TaskId(2), TaskId(3));
    assert_eq!(info.service_mount(early, "state"), Some(v1));
    // A task reads the version before the one it stores.
    assert_eq!(info.task_mount(step2, "state"), Some(v1));
    assert_eq!(info.task_mount(peek, "state"), Some(v2));
    assert_eq!(info.task_mount(step3, "state"), Some(v2));
    // `final` mounts the name get_files_artifact returned: the version at its own step.
    assert_eq!(info.service_mount(fin, "state"), Some(v3));
    assert_eq!(info.service_mount(fin, "seen"), Some(seen));
    assert_eq!(
        info.task_mount(TaskId(0), "state"),
        None,
        "step-1 mounts nothing"
    );
}

#[test]
fn compose_up_gives_each_consumer_its_version() {
    if !require_docker() || support::compose_bin().is_none() {
        return;
    }
    busybox_image();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("deploy");
    support::compile_compose(FIXTURE, &dir);
    let compose = support::ComposeProject::new(&dir.join("compose.yaml"), "kp-versions");
    compose.up(120);
    assert_eq!(cat(&compose.container("early"), "/state/log.txt"), V1);
    assert_eq!(cat(&compose.container("final"), "/seen/seen.txt"), V2);
    assert_eq!(cat(&compose.container("final"), "/state/log.txt"), V3);
    for task in ["step-1", "step-2", "peek", "step-3"] {
        let state = docker_ok([
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            &compose.container(task),
        ]);
        assert_eq!(state.trim(), "exited 0", "{task}");
    }
}

/// `kplan ARGS... --enclave E --state-dir D` against the test's enclave.
fn in_enclave(e: &ApplyEnclave, args: &[&str]) -> String {
    let state = e.state_dir().to_string_lossy().into_owned();
    let with: Vec<&str> = [args, &["--enclave", &e.name, "--state-dir", &state]].concat();
    support::kplan_ok(&with)
}

fn container_id(name: &str) -> String {
    docker_ok(["inspect", "-f", "{{.Id}}", name])
        .trim()
        .to_owned()
}

#[test]
fn apply_gives_each_consumer_its_version_and_redoes_only_users_of_a_new_one() {
    if !require_docker() {
        return;
    }
    busybox_image();
    let e = ApplyEnclave::new("kp-versions");
    e.apply(FIXTURE);
    let (early, fin) = (e.container("early"), e.container("final"));
    assert_eq!(cat(&early, "/state/log.txt"), V1);
    assert_eq!(cat(&fin, "/seen/seen.txt"), V2);
    assert_eq!(cat(&fin, "/state/log.txt"), V3);
    let again = in_enclave(&e, &["apply", FIXTURE, "--yes"]);
    assert!(again.starts_with("No changes."), "{again}");

    // A new second step makes new versions 2 and 3: what uses them is redone, what
    // uses version 1 (step-1 itself, `early`) is not. `plan` says so, apply does it.
    let (early_id, final_id) = (container_id(&early), container_id(&fin));
    let args = r#"{"second": "TWO"}"#;
    let plan = in_enclave(&e, &["plan", FIXTURE, "--args", args, "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(&plan).expect("plan json");
    let actions = |kind: &str, key: &str| -> Vec<String> {
        v["change_set"][kind]
            .as_array()
            .expect("list")
            .iter()
            .map(|c| format!("{} {}", c[key].as_str().unwrap_or("?"), c["action"]))
            .collect()
    };
    assert_eq!(
        actions("services", "name"),
        ["early \"keep\"", "final \"replace\""]
    );
    assert_eq!(
        actions("tasks", "task"),
        [
            "run_sh 'step-1' (main.star:12) \"reuse\"",
            "run_sh 'step-2' (main.star:17) \"run\"",
            "run_sh 'peek' (main.star:24) \"run\"",
            "run_sh 'step-3' (main.star:31) \"run\"",
        ]
    );
    let out = in_enclave(&e, &["apply", FIXTURE, "--yes", "--args", args]);
    assert!(
        out.contains("Apply complete: 0 created, 1 replaced, 0 updated, 0 removed, 1 unchanged; 3 tasks run, 1 reused."),
        "{out}"
    );
    assert_eq!(
        container_id(&early),
        early_id,
        "early mounts version 1 only"
    );
    assert_ne!(container_id(&fin), final_id);
    assert_eq!(cat(&early, "/state/log.txt"), V1);
    assert_eq!(cat(&fin, "/seen/seen.txt"), "one\nTWO\n");
    assert_eq!(cat(&fin, "/state/log.txt"), "one\nTWO\nthree\n");
}
