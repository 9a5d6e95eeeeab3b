//! Golden plan outputs: every package under fixtures/valid compiles with
//! `kplan compile --target plan` to exactly tests/out/plan/<case>/plan.yaml, and every
//! package under fixtures/invalid fails `kplan validate` with exactly the diagnostics in
//! tests/out/errors/<case>.txt. Set KPLAN_BLESS=1 to rewrite the files after reviewing
//! the change; `git diff tests/out` then shows what changed. A fixture's `args.yaml` or
//! `args.json` is passed with `--args-file`, its `image-config.json` to `compile` with
//! `--image-config`. `kplan graph` of every valid package matches
//! tests/out/graph/<case>/graph.mmd and graph.dot (tests/it/graph.rs checks those with
//! Mermaid's parser and Graphviz).

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cases(dir: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() || p.extension().is_some_and(|x| x == "star"))
        .collect();
    out.sort();
    out
}

/// Runs kplan from the repository root so every path in its output is relative.
fn kplan(args: &[&str], case: &Path) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kplan"));
    cmd.current_dir(root()).args(args);
    cmd.env("KPLAN_PACKAGE_CACHE", root().join("fixtures/cache"));
    cmd.arg("--offline");
    for name in ["args.yaml", "args.json"] {
        let f = case.join(name);
        if f.is_file() {
            cmd.arg("--args-file")
                .arg(f.strip_prefix(root()).unwrap_or(&f));
        }
    }
    // The entrypoints of images a service that reads run-time values starts with.
    let images = case.join("image-config.json");
    if args.first() == Some(&"compile") && images.is_file() {
        cmd.arg("--image-config")
            .arg(images.strip_prefix(root()).unwrap_or(&images));
    }
    cmd.output().expect("run kplan")
}

fn compare(golden: &Path, actual: &str, problems: &mut Vec<String>) {
    if std::env::var_os("KPLAN_BLESS").is_some() {
        std::fs::create_dir_all(golden.parent().unwrap_or(Path::new("."))).expect("mkdir");
        std::fs::write(golden, actual).expect("write golden");
        return;
    }
    match std::fs::read_to_string(golden) {
        Ok(expected) if expected == actual => {}
        Ok(expected) => problems.push(format!(
            "{} differs:\n{}",
            golden.display(),
            similar::TextDiff::from_lines(expected.as_str(), actual)
                .unified_diff()
                .header("expected", "actual")
        )),
        Err(_) => problems.push(format!(
            "{} is missing; run with KPLAN_BLESS=1 to create it",
            golden.display()
        )),
    }
}

/// [`compare`] for a file that is not UTF-8 text.
fn compare_bytes(golden: &Path, actual: &[u8], problems: &mut Vec<String>) {
    if std::env::var_os("KPLAN_BLESS").is_some() {
        std::fs::create_dir_all(golden.parent().unwrap_or(Path::new("."))).expect("mkdir");
        std::fs::write(golden, actual).expect("write golden");
        return;
    }
    match std::fs::read(golden) {
        Ok(expected) if expected == actual => {}
        Ok(_) => problems.push(format!("{} differs (binary)", golden.display())),
        Err(_) => problems.push(format!(
            "{} is missing; run with KPLAN_BLESS=1 to create it",
            golden.display()
        )),
    }
}

/// A fixture's directory name.
fn case_name(case: &Path) -> String {
    case.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root())
        .unwrap_or(p)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn valid_fixtures_match_golden_plans() {
    let mut problems = Vec::new();
    for case in cases("fixtures/valid") {
        let name = case_name(&case);
        let out = kplan(&["compile", &rel(&case), "--target", "plan"], &case);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            problems.push(format!("{name}: kplan failed:\n{stderr}"));
            continue;
        }
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        compare(
            &root().join(format!("tests/out/plan/{name}/plan.yaml")),
            &stdout,
            &mut problems,
        );
        // Byte-stable: a second run gives the same bytes.
        let again = kplan(&["compile", &rel(&case), "--target", "plan"], &case);
        if again.stdout != out.stdout {
            problems.push(format!("{name}: two runs gave different output"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn plan_json_and_yaml_hold_the_same_data() {
    for case in cases("fixtures/valid") {
        let yaml = kplan(&["compile", &rel(&case), "--target", "plan"], &case);
        let json = kplan(
            &[
                "compile",
                &rel(&case),
                "--target",
                "plan",
                "--output",
                "json",
            ],
            &case,
        );
        assert!(
            yaml.status.success() && json.status.success(),
            "{}",
            case.display()
        );
        let y: serde_json::Value = serde_yaml::from_slice(&yaml.stdout).expect("yaml parses");
        let j: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json parses");
        assert_eq!(y, j, "{}", case.display());
    }
}

#[test]
fn invalid_fixtures_report_every_problem() {
    let mut problems = Vec::new();
    for case in cases("fixtures/invalid") {
        let name = case
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let out = kplan(&["validate", &rel(&case)], &case);
        if out.status.code() != Some(1) {
            problems.push(format!(
                "{name}: expected exit code 1, got {:?}",
                out.status.code()
            ));
        }
        if !out.stdout.is_empty() {
            problems.push(format!("{name}: validate printed to stdout on failure"));
        }
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if stderr.contains("panicked") {
            problems.push(format!("{name}: kplan panicked:\n{stderr}"));
        }
        compare(
            &root().join(format!("tests/out/errors/{name}.txt")),
            &stderr,
            &mut problems,
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every file under `dir`, relative to it, except kplan's manifest.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else if p.file_name().is_some_and(|n| n != ".kplan-files") {
                out.push(
                    p.strip_prefix(base)
                        .unwrap_or(&p)
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// `kplan compile --target TARGET -o DIR` for every valid fixture: the files match
/// tests/out/TARGET/<case>/ exactly (and nothing else is there), or, for plans the
/// target cannot hold, the diagnostics match tests/out/TARGET-errors/<case>.txt and
/// nothing is written; `--check` agrees right after writing. Returns the golden
/// directories written (for the target's oracle) and every problem.
fn golden_outputs(target: &str) -> (Vec<PathBuf>, Vec<String>) {
    let mut problems = Vec::new();
    // Written inside the repository at the same depth as tests/out/<target>/<case>, so
    // paths relative to the output directory (Compose `build:` contexts) are the same.
    let scratch = root().join(format!("target/kplan/golden-{target}"));
    let _ = std::fs::remove_dir_all(&scratch);
    let mut outputs = Vec::new();
    for case in cases("fixtures/valid") {
        let name = case_name(&case);
        let dir = scratch.join(&name);
        let args = [
            "compile",
            &rel(&case),
            "--target",
            target,
            "-o",
            &dir.to_string_lossy(),
        ];
        let out = kplan(&args, &case);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if stderr.contains("panicked") {
            problems.push(format!("{name}: kplan panicked:\n{stderr}"));
            continue;
        }
        let golden_dir = root().join(format!("tests/out/{target}/{name}"));
        let errors_file = root().join(format!("tests/out/{target}-errors/{name}.txt"));
        if out.status.code() == Some(1) {
            if dir.exists() {
                problems.push(format!("{name}: failed but wrote {}", dir.display()));
            }
            if std::env::var_os("KPLAN_BLESS").is_some() {
                let _ = std::fs::remove_dir_all(&golden_dir);
            }
            compare(&errors_file, &stderr, &mut problems);
            continue;
        }
        if !out.status.success() {
            problems.push(format!("{name}: exit {:?}:\n{stderr}", out.status.code()));
            continue;
        }
        if std::env::var_os("KPLAN_BLESS").is_some() {
            let _ = std::fs::remove_dir_all(&golden_dir);
            let _ = std::fs::remove_file(&errors_file);
        }
        let produced = files_under(&dir);
        for f in &produced {
            let actual = std::fs::read(dir.join(f)).expect("read output");
            match String::from_utf8(actual) {
                Ok(text) => compare(&golden_dir.join(f), &text, &mut problems),
                Err(e) => compare_bytes(&golden_dir.join(f), e.as_bytes(), &mut problems),
            }
        }
        for f in files_under(&golden_dir) {
            if !produced.contains(&f) {
                problems.push(format!(
                    "{}: golden file {f} is no longer produced",
                    golden_dir.display()
                ));
            }
        }
        // Byte-stable, and --check agrees that the directory is current.
        let check = kplan(&[&args[..], &["--check"]].concat(), &case);
        if check.status.code() != Some(0) {
            problems.push(format!(
                "{name}: --check right after writing exited {:?}:\n{}",
                check.status.code(),
                String::from_utf8_lossy(&check.stdout)
            ));
        }
        outputs.push(golden_dir);
    }
    (outputs, problems)
}

/// Every valid fixture's Compose project (see [`golden_outputs`]); every golden
/// project passes the real Compose binary's `config -q` and the compose-spec schema,
/// in one oracle batch.
#[test]
fn valid_fixtures_match_golden_compose_projects() {
    let (projects, problems) = golden_outputs("compose");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    if projects.is_empty() || support::oracle_python().is_none() {
        return;
    }
    if let Err(report) = support::oracle_check("compose", &projects) {
        panic!("the real Compose rejects golden projects:\n{report}");
    }
}

/// `kplan graph` in both formats for every valid fixture: the same bytes as
/// tests/out/graph/<case>/graph.{mmd,dot}, on every run, and `-o DIR --check` agrees.
#[test]
fn valid_fixtures_match_golden_graphs() {
    let mut problems = Vec::new();
    let scratch = root().join("target/kplan/golden-graph");
    let _ = std::fs::remove_dir_all(&scratch);
    for case in cases("fixtures/valid") {
        let name = case_name(&case);
        for (format, file) in [("mermaid", "graph.mmd"), ("dot", "graph.dot")] {
            let args = ["graph", &rel(&case), "--format", format];
            let out = kplan(&args, &case);
            if !out.status.success() {
                problems.push(format!(
                    "{name} {format}: kplan failed:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                ));
                continue;
            }
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            compare(
                &root().join(format!("tests/out/graph/{name}/{file}")),
                &stdout,
                &mut problems,
            );
            if kplan(&args, &case).stdout != out.stdout {
                problems.push(format!("{name} {format}: two runs gave different output"));
            }
            let dir = scratch.join(&name).to_string_lossy().into_owned();
            let written = kplan(&[&args[..], &["-o", &dir]].concat(), &case);
            let check = kplan(&[&args[..], &["-o", &dir, "--check"]].concat(), &case);
            let on_disk = std::fs::read(scratch.join(&name).join(file)).unwrap_or_default();
            if !written.status.success() || check.status.code() != Some(0) || on_disk != out.stdout
            {
                problems.push(format!(
                    "{name} {format}: -o wrote other bytes than stdout, or --check disagreed:\n{}",
                    String::from_utf8_lossy(&check.stderr)
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every valid fixture's Helm chart (see [`golden_outputs`]); every golden chart
/// passes `helm lint --strict`, renders with its default values, and every rendered
/// object is valid in strict mode for Kubernetes 1.30 and the newest schemas.
#[test]
fn valid_fixtures_match_golden_helm_charts() {
    let (charts, problems) = golden_outputs("helm");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        charts.len() >= 3,
        "too few fixtures compile to a chart: {charts:?}"
    );
    if support::oracle_python().is_none() {
        return;
    }
    if let Err(report) = support::oracle_check("helm", &charts) {
        panic!("Helm or the Kubernetes schemas reject golden charts:\n{report}");
    }
}

/// Every valid fixture's Terraform configuration (see [`golden_outputs`]); every golden
/// configuration passes Terraform's own `fmt -check` and configuration loader, and the
/// kreuzwerker/docker 4.5.0 schema check (tests/oracles/check_config.py), in one
/// oracle batch.
#[test]
fn valid_fixtures_match_golden_terraform_configs() {
    let (configs, problems) = golden_outputs("terraform");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    if configs.is_empty() || support::oracle_python().is_none() {
        return;
    }
    if let Err(report) = support::oracle_check("terraform", &configs) {
        panic!("Terraform rejects golden configurations:\n{report}");
    }
}
