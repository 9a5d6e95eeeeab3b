//! No input may crash kplan or take unbounded memory or time: each package here
//! (tests/limits/<case>.star, written to attack one limit) goes through the real binary,
//! which must end with a clear error (a KP code at file:line:col) or, where Go's or
//! Kurtosis's behaviour is a result, with that result; never a panic (exit 101) or an
//! abort (a signal). Limits are set low by flag where the point is the limit, so the
//! tests stay fast.

mod support;

use std::process::Output;

/// `kplan compile tests/limits/<case> --target plan` with extra arguments.
fn compile(case: &str, extra: &[&str]) -> Output {
    let path = format!("tests/limits/{case}");
    let mut args = vec!["compile", path.as_str(), "--target", "plan"];
    args.extend_from_slice(extra);
    support::run_kplan(&args)
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The run ended with exit status 1 and `code` at a position containing `at`
/// (`case:line:col`).
#[track_caller]
fn refused(o: &Output, code: &str, at: &str) -> String {
    let (out, err) = text(o);
    assert_eq!(
        o.status.code(),
        Some(1),
        "expected an error, got {:?}\nstdout: {out}\nstderr: {err}",
        o.status
    );
    assert!(
        err.contains(&format!("error[{code}]"))
            && err
                .lines()
                .any(|l| l.trim_start().starts_with("-->") && l.contains(at)),
        "expected {code} at {at}:\n{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn printf_with_huge_precision_prints_what_go_prints() {
    let o = compile("printf-precision.star", &[]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    // "1." and 65536 digits; d.txt: 1,000,000 digits, BADWIDTH, BADPREC.
    assert!(out.contains("size: 65538"), "{out}");
    let d = 1_000_000 + "|%!(BADWIDTH)1|%!(BADPREC)2".len();
    assert!(out.contains(&format!("size: {d}")), "{out}");
    assert!(out.contains(&format!("size: {}", "%!(NOVERB)%!(EXTRA int=7)".len())));
}

#[test]
fn values_starlark_cannot_hold_are_errors_at_their_statement() {
    refused(
        &compile("list-range.star", &[]),
        "KP014",
        "list-range.star:5:5",
    );
    // Folded while the file is compiled: no statement runs yet, the file is named.
    refused(
        &compile("folded-range.star", &[]),
        "KP014",
        "folded-range.star:1:1",
    );
}

/// `--args-file` with `text` and `compile tests/limits/args.star`.
fn compile_with_args(text: &str) -> Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("args.json");
    std::fs::write(&file, text).expect("write args");
    let file = file.to_string_lossy().into_owned();
    compile("args.star", &["--args-file", &file])
}

#[test]
fn deeply_nested_args_are_refused_in_linear_time() {
    // 100,000 levels (200 KB): the YAML parser took over a minute on these.
    let n = 100_000;
    for (text, col) in [
        (
            format!("{{\"a\": {}{}}}", "[".repeat(n), "]".repeat(n)),
            134,
        ),
        (
            format!("a: {}1{}", "{\"b\": ".repeat(n), "}".repeat(n)),
            4 + 128 * 6,
        ),
    ] {
        let o = compile_with_args(&text);
        let err = refused(&o, "KP003", "args.json:1:");
        assert!(err.contains(&format!("args.json:1:{col}")), "{err}");
        assert!(err.contains("more than 128 levels deep"), "{err}");
        // The snippet shows the part of the 200 KB line around the column.
        assert!(err.lines().all(|l| l.len() < 500), "{err}");
    }
    // 128 levels are accepted.
    let o = compile_with_args(&format!(
        "{{\"a\": {}{}}}",
        "[".repeat(127),
        "]".repeat(127)
    ));
    assert!(o.status.success(), "{}", text(&o).1);
}
