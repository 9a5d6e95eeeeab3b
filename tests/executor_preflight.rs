//! What `kplan apply` refuses before it changes anything, beyond missing images (which
//! tests/executor_e2e.rs covers): a task against a service the package removes later.

mod support;

use std::process::Command;
use support::{busybox_image, docker, require_docker, unique_name};

#[test]
fn a_task_on_a_service_removed_later_is_refused_before_any_change() {
    if !require_docker() {
        return;
    }
    busybox_image();
    let enclave = unique_name("kp-rm");
    let state = tempfile::tempdir().expect("state dir");
    let dir = tempfile::tempdir().expect("package dir");
    std::fs::write(
        dir.path().join("main.star"),
        r#"IMAGE = "kplan-test/busybox:local"
def run(plan):
    plan.add_service(name = "seed", config = ServiceConfig(image = IMAGE, cmd = ["sleep", "1000"]))
    r = plan.exec(service_name = "seed", recipe = ExecRecipe(command = ["echo", "hi"]))
    plan.remove_service("seed")
    plan.add_service(name = "app", config = ServiceConfig(image = IMAGE, cmd = ["sleep", "1000"], env_vars = {"SEED": r["output"]}))
"#,
    )
    .expect("write package");
    let pkg = dir.path().join("main.star");
    let run = |cmd: &str, extra: &[&str]| {
        Command::new(support::kplan_bin())
            .arg(cmd)
            .arg(&pkg)
            .args(["--enclave", &enclave, "--state-dir"])
            .arg(state.path())
            .args(extra)
            .output()
            .expect("run kplan")
    };

    let o = run("apply", &["--yes"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("error[KP504]"), "{err}");
    assert!(err.contains("main.star:4:9"), "{err}");
    assert!(err.contains("'seed' is added here"), "{err}");
    assert!(err.contains("and removed here"), "{err}");
    let net = docker(["network", "inspect", &format!("kplan-{enclave}")]);
    assert!(!net.status.success(), "apply created the network");

    // `plan` changes nothing, so it shows the plan with the problem as a warning.
    let o = run("plan", &[]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("warning[KP504]"));
}
