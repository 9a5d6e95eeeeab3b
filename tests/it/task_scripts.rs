//! The one copy of the task scripts, on the real engine: a `run_python` whose
//! packages and arguments are adversarial (spaces, `$(...)`, quotes, globs, a
//! newline, an empty string) runs with every package and argument exactly as given,
//! under Compose (the shared one-shot script) and under `kplan apply` (the shared
//! argv lists, run without a shell). The image is a local stand-in with stub `pip`
//! and `python` that print the arguments they receive (made with `docker commit`
//! from the busybox test image, no registry).

use crate::support;

use std::path::PathBuf;
use std::process::Command;

const STUB_IMAGE: &str = "kplan-test/stub-python:local";

/// What the stubs receive, one `[arg]` per line; the stubs also report whether a
/// command substitution in an argument ran (it must not).
const PIP: &str = "#!/bin/sh\n[ -e /tmp/pwned ] && echo PWNED\nfor a in \"$@\"; do printf '[%s]\\n' \"$a\"; done > /tmp/pip-args\n";
const PYTHON: &str = "#!/bin/sh\n[ -e /tmp/pwned ] && echo PWNED\nfor a in \"$@\"; do printf '[%s]\\n' \"$a\"; done\n";

const PACKAGES: [&str; 5] = [
    "a b",
    "$(touch /tmp/pwned)",
    "x';y",
    "--index-url=http://evil/;rm -rf /",
    "*",
];
const ARGS: [&str; 6] = ["arg with  space", "$HOME", "'q'", "*", "a\nb", ""];

fn stub_image() -> String {
    let _lock = support::FileLock::acquire(
        "kplan-test-stub-python",
        std::time::Duration::from_secs(120),
    );
    if support::docker(["image", "inspect", STUB_IMAGE])
        .status
        .success()
    {
        return STUB_IMAGE.into();
    }
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in [("pip", PIP), ("python", PYTHON)] {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write stub");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let id = support::docker_ok(["create", &support::busybox_image(), "true"]);
    let id = id.trim();
    for name in ["pip", "python"] {
        let src = dir.path().join(name);
        support::docker_ok([
            "cp",
            src.to_str().expect("utf-8"),
            &format!("{id}:/bin/{name}"),
        ]);
    }
    support::docker_ok(["commit", id, STUB_IMAGE]);
    support::docker_ok(["rm", id]);
    STUB_IMAGE.into()
}

fn package(dir: &std::path::Path) -> PathBuf {
    let star = |xs: &[&str]| {
        xs.iter()
            .map(|x| serde_json::to_string(x).expect("json"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let main = format!(
        r#"def run(plan):
    py = plan.run_python(
        name = "py",
        run = "print(1)",
        packages = [{packages}],
        args = [{args}],
        image = "{STUB_IMAGE}",
        store = [StoreSpec(src = "/tmp/pip-args", name = "pip")],
    )
    plan.add_service(name = "seen", config = ServiceConfig(
        image = "{busybox}",
        entrypoint = ["/bin/sh", "-c", "printf %s \"$OUT\" > /tmp/out; exec sleep 3600"],
        env_vars = {{"OUT": py.output}},
        files = {{"/pip": py.files_artifacts[0]}},
    ))
"#,
        packages = star(&PACKAGES),
        args = star(&ARGS),
        busybox = support::BUSYBOX_IMAGE,
    );
    std::fs::create_dir_all(dir).expect("mkdir");
    std::fs::write(
        dir.join("kurtosis.yml"),
        "name: github.com/kplan-tests/task-scripts\n",
    )
    .expect("write");
    std::fs::write(dir.join("main.star"), main).expect("write");
    dir.to_path_buf()
}

fn expected_pip() -> String {
    ["install", "-q"]
        .iter()
        .chain(PACKAGES.iter())
        .map(|a| format!("[{a}]\n"))
        .collect()
}

fn expected_output() -> String {
    ["-u", "-c", "print(1)"]
        .iter()
        .chain(ARGS.iter())
        .map(|a| format!("[{a}]\n"))
        .collect()
}

fn check(container: &str) {
    let out = support::docker_ok(["exec", container, "cat", "/tmp/out"]);
    assert_eq!(out, expected_output(), "run_python's output in {container}");
    let pip = support::docker_ok(["exec", container, "cat", "/pip/pip-args"]);
    assert_eq!(pip, expected_pip(), "pip's arguments in {container}");
}

fn kplan_ok(args: &[&str]) {
    let out = Command::new(support::kplan_bin())
        .args(args)
        .output()
        .expect("run kplan");
    assert!(
        out.status.success(),
        "kplan {args:?}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn run_python_gets_every_package_and_argument_exactly_under_compose_and_apply() {
    if !support::require_docker() || support::compose_bin().is_none() {
        return;
    }
    support::busybox_image();
    let tools = support::tools_image();
    stub_image();
    let tmp = tempfile::tempdir().expect("tempdir");
    let pkg = package(&tmp.path().join("pkg"));
    let pkg = pkg.to_str().expect("utf-8");
    let deploy = tmp.path().join("deploy");
    kplan_ok(&[
        "compile",
        pkg,
        "--target",
        "compose",
        "--tools-image",
        &tools,
        "-o",
        deploy.to_str().expect("utf-8"),
    ]);
    {
        let project = support::ComposeProject::new(&deploy.join("compose.yaml"), "kplan-ts");
        project.up(60);
        check(&project.container("seen"));
    }
    let enclave = support::ApplyEnclave::new("kplan-ts");
    enclave.apply(pkg);
    check(&enclave.container("seen"));
}
