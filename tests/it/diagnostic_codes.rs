//! The registry of diagnostic codes (src/diagnostic/codes.rs) against what uses it: every
//! code defined is reported somewhere in `src/` (a code reported but not defined does
//! not compile), `docs/diagnostics.md` is what the registry generates
//! (`KPLAN_BLESS=1` rewrites it), the READMEs and module docs name only defined codes
//! with their severity, and `kplan explain` prints what the registry holds.

use crate::support;

use kplan::diagnostic::codes::{self, Code};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src/") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `KPnnn` words in `text`.
fn code_names(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices("KP").filter_map(|(i, _)| {
        let name = text.get(i..i + 5)?;
        let digits = name[2..].bytes().all(|b| b.is_ascii_digit());
        let word_end = !text[i + 5..].starts_with(|c: char| c.is_ascii_alphanumeric());
        (digits && word_end).then_some(name)
    })
}

#[test]
fn every_code_defined_is_reported_in_src() {
    let root = support::repo_root();
    let registry = root.join("src/diagnostic/codes.rs");
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut used = BTreeSet::new();
    for file in files.iter().filter(|f| **f != registry) {
        let text = std::fs::read_to_string(file).expect("read a source file");
        for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (i, _) in line.match_indices("Code::") {
                let name = line[i + 6..].get(..5).unwrap_or_default();
                if name.parse::<Code>().is_ok_and(|c| c.as_str() == name) {
                    used.insert(name.to_owned());
                }
            }
        }
    }
    let unused: Vec<&str> = Code::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !used.contains(*c))
        .collect();
    assert!(
        unused.is_empty(),
        "defined in src/diagnostic/codes.rs but reported nowhere in src/: {unused:?}; remove them (or report them)"
    );
}

#[test]
fn docs_diagnostics_md_is_generated_from_the_registry() {
    let path = support::repo_root().join("docs/diagnostics.md");
    let generated = codes::reference();
    if std::env::var_os("KPLAN_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write docs/diagnostics.md");
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == generated,
        "docs/diagnostics.md is not what src/diagnostic/codes.rs generates; run `KPLAN_BLESS=1 cargo test --test it diagnostic_codes::` and commit it"
    );
}

/// Codes the docs may name that are not defined: retired ones.
const RETIRED: [&str; 1] = ["KP502"];

#[test]
fn readmes_and_module_docs_name_only_defined_codes_with_their_severity() {
    let root = support::repo_root();
    let mut docs = vec![root.join("README.md")];
    for target in std::fs::read_dir(root.join("targets")).expect("targets/") {
        docs.push(target.expect("entry").path().join("README.md"));
    }
    rust_files(&root.join("src"), &mut docs);
    let mut problems = Vec::new();
    for doc in &docs {
        let text = std::fs::read_to_string(doc).expect("read a README");
        // Of a source file, its module doc (`//!`), which may have a table of codes.
        let text = if doc.extension().is_some_and(|e| e == "rs") {
            let doc_lines: Vec<&str> = text.lines().filter(|l| l.starts_with("//!")).collect();
            doc_lines.join("\n")
        } else {
            text
        };
        for name in code_names(&text) {
            if name.parse::<Code>().is_err() && !RETIRED.contains(&name) {
                problems.push(format!("{}: {name} is not defined", doc.display()));
            }
        }
        // Diagnostics tables: `| KP201 | error | ... |`.
        for line in text.lines() {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            if let [_, name, severity, ..] = cells[..] {
                if let Ok(code) = name.parse::<Code>() {
                    let marked = ["error", "warning"].contains(&severity);
                    if name == code.as_str() && marked && severity != code.severity().as_str() {
                        problems.push(format!(
                            "{}: {name} is marked {severity}; the registry says {}",
                            doc.display(),
                            code.severity().as_str()
                        ));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn explain(args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["explain"];
    all.extend(args);
    let o = support::run_kplan(&all);
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn explain_prints_the_explanation_of_a_code() {
    let (status, stdout, stderr) = explain(&["KP201"]);
    assert_eq!(status, Some(0), "{stderr}");
    assert_eq!(
        stdout,
        format!(
            "KP201 (error): {}\n\n{}",
            Code::KP201.title(),
            Code::KP201.explanation()
        )
    );
    assert_eq!(stderr, "");
    for other in ["kp201", "201"] {
        assert_eq!(explain(&[other]).1, stdout, "kplan explain {other}");
    }
}

#[test]
fn explain_refuses_an_unknown_code_and_names_the_families() {
    let (status, stdout, stderr) = explain(&["KP999"]);
    assert_eq!(status, Some(1));
    assert_eq!(stdout, "");
    assert!(
        stderr.starts_with("error: 'KP999' is not a kplan diagnostic code\n"),
        "{stderr}"
    );
    for family in &codes::FAMILIES {
        assert!(stderr.contains(family.range), "{stderr}");
    }
}

#[test]
fn explain_without_a_code_lists_every_code() {
    let (status, stdout, _) = explain(&[]);
    assert_eq!(status, Some(0));
    for code in Code::ALL {
        let row = format!(
            "  {code}  {:<8} {}\n",
            code.severity().as_str(),
            code.title()
        );
        assert!(stdout.contains(&row), "{code} missing:\n{stdout}");
    }
}
