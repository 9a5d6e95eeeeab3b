//! `kplan compile --target terraform` from the command line: stdout and `-o DIR` give
//! the same `main.tf`, `--check` reports a stale file (exit 2) and a current one
//! (exit 0), and a run() return value holding run-time values is reported (KP220)
//! instead of being written as an output.

use crate::support;

use std::path::Path;

fn compile(case: &str, out: Option<&Path>, check: bool) -> std::process::Output {
    let mut args = vec!["compile", case, "--target", "terraform"];
    let dir;
    if let Some(o) = out {
        dir = o.to_string_lossy().into_owned();
        args.extend(["-o", dir.as_str()]);
    }
    if check {
        args.push("--check");
    }
    support::run_kplan(&args)
}

#[test]
fn stdout_and_out_dir_hold_the_same_configuration() {
    let case = "fixtures/valid/web-db";
    let stdout = compile(case, None, false);
    assert!(stdout.status.success(), "{stdout:?}");
    let dir = tempfile::tempdir().expect("tempdir");
    let written = compile(case, Some(dir.path()), false);
    assert!(written.status.success(), "{written:?}");
    let file = std::fs::read(dir.path().join("main.tf")).expect("main.tf");
    assert_eq!(file, stdout.stdout);
    assert!(String::from_utf8_lossy(&file).contains("source  = \"kreuzwerker/docker\""));
    let manifest = std::fs::read_to_string(dir.path().join(".kplan-files")).expect("manifest");
    assert!(manifest.lines().any(|l| l == "main.tf"), "{manifest}");
}

#[test]
fn check_reports_a_stale_file() {
    let case = "fixtures/valid/web-db";
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(compile(case, Some(dir.path()), false).status.success());
    assert_eq!(compile(case, Some(dir.path()), true).status.code(), Some(0));
    let main = dir.path().join("main.tf");
    let text = std::fs::read_to_string(&main).expect("main.tf");
    std::fs::write(
        &main,
        text.replace("keep_locally = true", "keep_locally = false"),
    )
    .expect("edit");
    let stale = compile(case, Some(dir.path()), true);
    assert_eq!(stale.status.code(), Some(2));
    let diff = String::from_utf8_lossy(&stale.stdout);
    assert!(diff.contains("-  keep_locally = false"), "{diff}");
    assert!(diff.contains("+  keep_locally = true"), "{diff}");
}

#[test]
fn a_run_time_return_value_has_no_output_and_says_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let star = dir.path().join("main.star");
    std::fs::write(
        &star,
        "def run(plan):\n    r = plan.run_sh(name = \"gen\", run = \"date\", image = \"kplan-test/busybox:local\")\n    return {\"when\": r.output, \"fixed\": 1}\n",
    )
    .expect("write main.star");
    let out = compile(&star.to_string_lossy(), None, false);
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("warning[KP220]"), "{stderr}");
    let tf = String::from_utf8_lossy(&out.stdout);
    assert!(!tf.contains("output \"result\""), "{tf}");
    assert!(tf.contains("resource \"docker_container\" \"gen\""), "{tf}");
}
