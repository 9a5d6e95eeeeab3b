//! Work done ahead on the second thread (src/frontend/ahead_thread.rs) must not change
//! what a run says. Each package here imports a slow module first and the module under
//! test last: the evaluation thread imports in written order and the second thread in
//! the reverse, so the module under test is (almost always) evaluated ahead. Either
//! way the answer must be the same, which is what these tests check.

use crate::support::{kplan_bin, output_within};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Long enough for the second thread to finish the last module first.
const SLOW: &str = "def _spin(n):\n    total = 0\n    for i in range(n):\n        total += i\n    return total\n\nSPUN = _spin(200000)\n";

fn package(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("kurtosis.yml"),
        "name: github.com/kplan-tests/ahead\n",
    )
    .expect("kurtosis.yml");
    std::fs::write(dir.path().join("slow.star"), SLOW).expect("slow.star");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    dir
}

fn compile(dir: &Path, extra: &[&str]) -> std::process::Output {
    let out = dir.join("out");
    let mut cmd = Command::new(kplan_bin());
    cmd.arg("compile")
        .arg(dir)
        .args(["--target", "compose", "--color", "never", "-o"])
        .arg(&out)
        .args(extra);
    output_within(&mut cmd, Duration::from_secs(120)).expect("kplan compile finished")
}

#[test]
fn what_a_module_evaluated_ahead_read_and_wrote_reaches_the_diagnostics() {
    let dir = package(&[
        (
            "main.star",
            "slow = import_module(\"./slow.star\")\nlate = import_module(\"./late.star\")\n\ndef run(plan, args):\n    plan.add_service(\n        name = \"web\",\n        config = ServiceConfig(image = \"busybox\", ports = late.PORTS, env_vars = {\"DATA\": late.data()}),\n    )\n",
        ),
        (
            "late.star",
            "DATA = read_file(\"./data.txt\")\nPORTS = {\"Bad_Id\": PortSpec(number = 80)}\n\ndef data():\n    return read_file(\"./data.txt\")\n",
        ),
        ("data.txt", "hello\n"),
    ]);
    let out = compile(dir.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // The bad port id is reported at its key in late.star (key positions), with the
    // line shown (sources); `late.data()`, run by the evaluation thread, resolved
    // "./data.txt" from late.star (registered files).
    assert!(stderr.contains("--> late.star:2:10"), "{stderr}");
    assert!(
        stderr.contains("PORTS = {\"Bad_Id\": PortSpec(number = 80)}"),
        "{stderr}"
    );
    assert!(!stderr.contains("cannot tell which file"), "{stderr}");
    assert!(!dir.path().join("out").exists(), "nothing written");
}

#[test]
fn a_module_the_evaluation_never_imports_is_neither_reported_nor_waited_for() {
    let dir = package(&[
        (
            "main.star",
            "slow = import_module(\"./slow.star\")\n\ndef run(plan, args):\n    if args.get(\"never\", False):\n        never = import_module(\"./never.star\")\n    plan.add_service(name = \"web\", config = ServiceConfig(image = \"busybox\"))\n",
        ),
        (
            "never.star",
            "def _forever():\n    for i in range(10000000000):\n        pass\n\nX = _forever()\nfail(\"never imported\")\n",
        ),
    ]);
    // Without the stop at the evaluation's end, the second thread would run
    // `_forever` for hours and the process would not exit.
    let out = compile(dir.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("never imported"), "{stderr}");
}

#[test]
fn a_module_that_fails_is_reported_once_where_it_fails() {
    let dir = package(&[
        (
            "main.star",
            "slow = import_module(\"./slow.star\")\nbad = import_module(\"./bad.star\")\n\ndef run(plan, args):\n    pass\n",
        ),
        ("bad.star", "X = 1\nfail(\"bad module\")\n"),
    ]);
    let out = compile(dir.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.matches("error[").count(), 1, "{stderr}");
    assert!(stderr.contains("fail: bad module"), "{stderr}");
    assert!(stderr.contains("bad.star:2:1"), "{stderr}");
}
