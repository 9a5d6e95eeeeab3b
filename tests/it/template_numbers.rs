//! Template data numbers in apply print as Kurtosis prints them (after its float64
//! round trip), exactly as compile does: fixtures/valid/template-numbers is applied on
//! the real engine, and the files its services mount, one rendered at compile time and
//! one rendered by apply once a run-time value exists, must equal the Compose golden
//! output (tests/out/compose/template-numbers), which tests/it/golden.rs checks.

use crate::support;

use support::{busybox_image, docker_ok, repo_root, require_docker, ApplyEnclave};

#[test]
fn apply_renders_template_numbers_as_kurtosis_and_compile_do() {
    let expected = |name: &str| {
        std::fs::read_to_string(repo_root().join(format!(
            "tests/out/compose/template-numbers/artifacts/{name}/numbers.txt"
        )))
        .expect("golden file")
    };
    let known = expected("known");
    assert!(known.contains("big=12345678901234567000\n"), "{known}");
    assert!(known.contains("e21=1e+21\n"), "{known}");
    if !require_docker() {
        return;
    }
    busybox_image();
    let enclave = ApplyEnclave::new("kp-numbers");
    enclave.apply("fixtures/valid/template-numbers");
    let reader = enclave.container("reader");
    let cat = |path: &str| docker_ok(["exec", reader.as_str(), "cat", path]);
    assert_eq!(cat("/known/numbers.txt"), known);
    assert_eq!(cat("/later/numbers.txt"), expected("later"));
}
