//! No input may crash kplan or take unbounded memory or time: each package here
//! (tests/limits/<case>.star, written to attack one limit) goes through the real binary,
//! which must end with a clear error (a KP code at file:line:col) or, where Go's or
//! Kurtosis's behaviour is a result, with that result; never a panic (exit 101) or an
//! abort (a signal). Limits are set low by flag where the point is the limit, so the
//! tests stay fast.

use crate::support;

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
        assert!(err.lines().all(|l| l.len() < 200), "{err}");
    }
    // 128 levels are accepted.
    let o = compile_with_args(&format!(
        "{{\"a\": {}{}}}",
        "[".repeat(127),
        "]".repeat(127)
    ));
    assert!(o.status.success(), "{}", text(&o).1);
}

/// Each recursive construct of the parser and evaluator, `n` deep, in a package.
fn nested(construct: &str, n: usize) -> String {
    let run = "def run(plan, args):\n";
    match construct {
        "and" => format!("{run}    x = True{}\n", " and True".repeat(n - 1)),
        "or" => format!("{run}    x = False{}\n", " or False".repeat(n - 1)),
        "not" => format!("{run}    x = {}True\n", "not ".repeat(n)),
        "plus" => format!("{run}    x = 1{}\n", " + 1".repeat(n)),
        "continuation" => format!(
            "{run}    x = 1 \\\n{}    + 1\n",
            "    + 1 \\\n".repeat(n - 1)
        ),
        "conditional" => format!("{run}    x = {}2\n", "1 if False else ".repeat(n / 2)),
        "lambda" => format!("{run}    x = {}1\n", "lambda: ".repeat(n)),
        "lambda-params" => format!(
            "{run}    x = {{\"k\": {}1}}\n",
            "lambda a, b: ".repeat(n - 1)
        ),
        "call" => format!(
            "def f():\n    return f\n\n{run}    x = f{}\n",
            "()".repeat(n)
        ),
        "index" => format!(
            "{run}    d = {{}}\n    d[\"k\"] = d\n    x = d{}\n",
            "[\"k\"]".repeat(n)
        ),
        "method" => format!("{run}    x = \"a\"{}\n", ".upper()".repeat(n / 2)),
        "parens" => format!("{run}    x = {}1{}\n", "(".repeat(n), ")".repeat(n)),
        "list" => format!("{run}    x = {}1{}\n", "[".repeat(n), "]".repeat(n)),
        "comprehension" => format!(
            "{run}    x = {}1{}\n",
            "[".repeat(n / 4),
            " for a in [1]]".repeat(n / 4)
        ),
        "elif" => format!(
            "{run}    x = 1\n    if x == 0:\n        pass\n{}    else:\n        pass\n",
            "    elif x == 2:\n        pass\n".repeat(n - 1)
        ),
        "if" => {
            let mut s = run.to_owned();
            for i in 0..n {
                s += &format!("{}if True:\n", " ".repeat(4 + i));
            }
            s + &format!("{}pass\n", " ".repeat(4 + n))
        }
        "def" => {
            let mut s = String::new();
            for i in 0..n {
                s += &format!("{}def f{i}():\n", " ".repeat(i));
            }
            s + &format!("{}pass\n\n{run}    pass\n", " ".repeat(n))
        }
        other => panic!("no construct {other}"),
    }
}

const CONSTRUCTS: &[&str] = &[
    "and",
    "or",
    "not",
    "plus",
    "continuation",
    "conditional",
    "lambda",
    "call",
    "index",
    "method",
    "parens",
    "list",
    "comprehension",
    "elif",
    "if",
    "def",
];

/// `compile` of `src` as tests/limits-like package `case.star` in a temporary directory.
fn compile_source(case: &str, src: &str) -> Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join(format!("{case}.star"));
    std::fs::write(&file, src).expect("write");
    let file = file.to_string_lossy().into_owned();
    support::run_kplan(&["compile", &file, "--target", "plan"])
}

#[test]
fn every_recursive_construct_evaluates_at_its_limit() {
    // 1000 deep: kplan's limit for each (brackets, terms of an expression, blocks).
    for construct in CONSTRUCTS {
        let o = compile_source(construct, &nested(construct, 999));
        assert!(
            o.status.success(),
            "{construct} at the limit: {:?}\n{}",
            o.status,
            text(&o).1
        );
    }
}

#[test]
fn nesting_past_the_limit_is_refused_before_the_stack_runs_out() {
    // 300,000 deep aborted kplan (a stack overflow) for all but `.` chains.
    for construct in CONSTRUCTS {
        let n = if matches!(*construct, "if" | "def") {
            3000
        } else {
            300_000
        };
        let o = compile_source(construct, &nested(construct, n));
        let err = refused(&o, "KP013", &format!("{construct}.star:"));
        assert!(err.contains("more than 1000"), "{construct}: {err}");
    }
}

#[test]
fn memory_past_the_budget_stops_the_evaluation_at_its_line() {
    let low = ["--max-eval-memory", "64MiB"];
    // Growth statement by statement: stopped before the next statement.
    refused(
        &compile("lambda-chain.star", &low),
        "KP014",
        "lambda-chain.star:4:5",
    );
    refused(
        &compile("list-doubling.star", &low),
        "KP014",
        "list-doubling.star:5:13",
    );
    // One allocation far past the budget (8 GB, 1 GB): stopped before it is made.
    for (case, at) in [
        ("list-repeat.star", "list-repeat.star:4:5"),
        ("string-repeat.star", "string-repeat.star:4:5"),
    ] {
        let err = refused(&compile(case, &low), "KP014", at);
        assert!(err.contains("more than 64 MiB"), "{err}");
        assert!(err.contains("--max-eval-memory"), "{err}");
    }
}

#[test]
fn template_output_past_its_bound_is_an_error_at_the_action() {
    let o = compile("template-range.star", &["--max-template-output", "1MiB"]);
    let err = refused(&o, "KP011", "template-range.star:3:5");
    assert!(err.contains("lines.txt:1:37"), "{err}");
    assert!(err.contains("larger than 1048576 bytes"), "{err}");
    assert!(err.contains("--max-template-output"), "{err}");
}

#[test]
fn sizes_are_read_with_units() {
    let o = compile("args.star", &["--max-eval-memory", "lots"]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("use K, M or G"), "{}", text(&o).1);
}
