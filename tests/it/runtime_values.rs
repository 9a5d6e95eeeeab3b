//! Run-time values on the real engine: fixtures/valid/runtime-values computes a value
//! in a run_sh (quotes, `$`, spaces, a glob character, newlines) that reaches an env
//! var, a cmd argument, a rendered config file, other tasks (their env and their
//! script text), jq extracts of a request and of an exec, and the extract of a wait
//! (polled until it holds). Compiled to Compose
//! (tools image: the local stand-in from scripts/make-tools-image.sh; image config:
//! from `kplan images inspect`) it runs with the real Compose binary's
//! `up --wait`, and every container holds exactly the value (read with `docker
//! exec`); `kplan apply` of the same package gives the same bytes in the same
//! places. Projects and enclaves are always removed, also when a test fails.

use crate::support;

use std::path::Path;
use std::process::Command;

const FIXTURE: &str = "fixtures/valid/runtime-values";

/// What the run_sh prints: the value every consumer must hold.
const VALUE: &str = "it's a \"quoted\" $HOME value\nsecond  line *\n";

fn kplan(args: &[&str]) -> std::process::Output {
    Command::new(support::kplan_bin())
        .current_dir(support::repo_root())
        .args(args)
        .output()
        .expect("run kplan")
}

fn ok(args: &[&str]) -> String {
    let out = kplan(args);
    assert!(
        out.status.success(),
        "kplan {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `docker exec CONTAINER cat PATH`, as bytes turned into text.
fn cat(container: &str, path: &str) -> String {
    let out = support::docker(["exec", container, "cat", path]);
    assert!(
        out.status.success(),
        "cat {path} in {container}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Every place the value must reach, with what it must hold there.
fn expectations() -> Vec<(&'static str, &'static str, String)> {
    vec![
        ("holder", "/tmp/env", VALUE.to_owned()),
        ("holder", "/tmp/arg", format!("prefix:{VALUE}")),
        (
            "holder",
            "/etc/app/app.conf",
            format!("value={VALUE}\nend\n"),
        ),
        ("holder", "/etc/app/static.txt", "static\n".to_owned()),
        ("holder", "/used/out/env.txt", VALUE.to_owned()),
        ("holder", "/used/out/script.txt", VALUE.to_owned()),
        ("plain", "/tmp/env", VALUE.to_owned()),
        ("reader", "/tmp/request", VALUE.to_owned()),
        ("reader", "/tmp/exec", VALUE.to_owned()),
        ("reader", "/tmp/code", "200".to_owned()),
        ("reader", "/tmp/wait", VALUE.to_owned()),
    ]
}

fn check_all(container: impl Fn(&str) -> String) {
    let mut problems = Vec::new();
    for (service, path, want) in expectations() {
        let got = cat(&container(service), path);
        if got != want {
            problems.push(format!("{service}:{path}: got {got:?}, want {want:?}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn images_inspect_writes_the_image_config_compile_reads() {
    if !support::require_docker() {
        return;
    }
    support::busybox_image();
    let got = ok(&["images", "inspect", FIXTURE]);
    let want =
        std::fs::read_to_string(support::repo_root().join(FIXTURE).join("image-config.json"))
            .expect("read image-config.json");
    assert_eq!(got, want);
}

#[test]
fn without_the_image_entrypoint_the_wrapper_is_refused_precisely() {
    let out = kplan(&[
        "compile",
        FIXTURE,
        "--target",
        "compose",
        "-o",
        "target/kplan/rv-refused",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("error[KP214]: service 'plain' reads a run-time value"),
        "{err}"
    );
    assert!(err.contains("--image-config FILE"), "{err}");
    assert!(!Path::new("target/kplan/rv-refused/compose.yaml").exists());
}

#[test]
fn a_malformed_image_config_is_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let bad = tmp.path().join("images.json");
    std::fs::write(&bad, "[\"not an object\"]").expect("write");
    let out_dir = tmp.path().join("deploy");
    let out = kplan(&[
        "compile",
        FIXTURE,
        "--target",
        "compose",
        "--image-config",
        bad.to_str().expect("utf-8 path"),
        "-o",
        out_dir.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--image-config") && err.contains("expected a JSON object"),
        "{err}"
    );
    assert!(!out_dir.exists());
}

#[test]
fn compose_and_apply_give_every_container_exactly_the_value() {
    if !support::require_docker() || support::compose_bin().is_none() {
        return;
    }
    support::busybox_image();
    let tools = support::tools_image();
    let tmp = tempfile::tempdir().expect("tempdir");
    let images = tmp.path().join("images.json");
    std::fs::write(&images, ok(&["images", "inspect", FIXTURE])).expect("write images.json");
    let dir = tmp.path().join("deploy");
    ok(&[
        "compile",
        FIXTURE,
        "--target",
        "compose",
        "--tools-image",
        &tools,
        "--image-config",
        images.to_str().expect("utf-8 path"),
        "-o",
        dir.to_str().expect("utf-8 path"),
    ]);
    {
        let project = support::ComposeProject::new(&dir.join("compose.yaml"), "kplan-rv");
        project.up(120);
        check_all(|s| project.container(s));
    }

    // The same package with `kplan apply`: the same bytes in the same places.
    let enclave = support::ApplyEnclave::new("kplan-rv");
    enclave.apply(FIXTURE);
    check_all(|s| enclave.container(s));
}
