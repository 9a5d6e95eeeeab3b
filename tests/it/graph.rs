//! `kplan graph` checked with the real readers of its output. tests/it/golden.rs keeps
//! tests/out/graph/<case>/graph.{mmd,dot} equal to what kplan prints for every valid
//! fixture; here every one of those files is read by
//! - Graphviz's `dot` (Debian's graphviz): `-Tsvg` with no warning at all, and
//!   `-Tjson` for the text it draws;
//! - Mermaid's own parser (mermaid 11.11.0 under Debian's nodejs,
//!   tests/oracles/mermaid.js), for the text Mermaid draws;
//!
//! and both must draw the same nodes, edges and text, line for line: the escaping of
//! each syntax is checked against the other, and against the names of
//! fixtures/valid/graph-escaping, which hold every character either syntax treats
//! specially. The README's Mermaid graph must be the current one of fixtures/valid/web-db.

use crate::support;

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The names in fixtures/valid/graph-escaping/main.star (`NASTY`).
const NASTY: &str = "q\"uote [br]acket {br}ace (p) <b>tag</b> &amp; #quot; #35; %% pipe| `tick` back\\slash semi; end\nline2 é ✓ 🚀 日本";

/// What a reader draws: node id -> its text (lines joined with `\n`), and
/// (from, to) -> (label, drawn dashed or dotted).
#[derive(Debug, PartialEq, Eq)]
struct Drawn {
    nodes: BTreeMap<String, String>,
    edges: BTreeMap<(String, String), (String, bool)>,
}

fn golden_graphs(ext: &str) -> Vec<PathBuf> {
    let dir = support::repo_root().join("tests/out/graph");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.path().join(format!("graph.{ext}")))
        .collect();
    out.sort();
    assert!(out.len() > 5, "no golden graphs under {}", dir.display());
    out
}

/// Graphviz's `dot`, or `None` (a visible skip; a failure under KPLAN_REQUIRE_ORACLES=1).
fn dot() -> Option<PathBuf> {
    support::debian_tool("dot")
}

fn run(cmd: &mut Command) -> std::process::Output {
    cmd.stdin(Stdio::null()).output().expect("run a tool")
}

#[test]
fn graphviz_reads_every_dot_graph_without_a_warning() {
    let Some(dot) = dot() else { return };
    let mut problems = Vec::new();
    for f in golden_graphs("dot") {
        let out = run(Command::new(&dot).arg("-Tsvg").arg(&f));
        if !out.status.success() || !out.stderr.is_empty() || !out.stdout.starts_with(b"<?xml") {
            problems.push(format!(
                "{}: exit {:?}: {}",
                f.display(),
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// What Graphviz draws for a DOT file (`dot -Tjson`: the text of each label line).
fn drawn_by_graphviz(dot: &Path, file: &Path) -> Drawn {
    let out = run(Command::new(dot).arg("-Tjson").arg(file));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).expect("dot -Tjson gives JSON");
    let text = |o: &Value| -> String {
        let lines: Vec<&str> = o["_ldraw_"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["op"] == "T")
            .filter_map(|d| d["text"].as_str())
            .collect();
        lines.join("\n")
    };
    let objects = json["objects"].as_array().cloned().unwrap_or_default();
    let name = |i: &Value| -> String {
        let i = i.as_u64().expect("a node index") as usize;
        objects[i]["name"].as_str().unwrap_or_default().to_owned()
    };
    Drawn {
        nodes: objects
            .iter()
            .map(|o| (o["name"].as_str().unwrap_or_default().to_owned(), text(o)))
            .collect(),
        edges: json["edges"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                let dashed = e["style"] == "dashed";
                ((name(&e["tail"]), name(&e["head"])), (text(e), dashed))
            })
            .collect(),
    }
}

/// What Mermaid draws for each file, from its own parser; `None`: skip.
fn drawn_by_mermaid(files: &[PathBuf]) -> Option<BTreeMap<PathBuf, Drawn>> {
    let bundle = support::repo_root().join(".tools/mermaid/mermaid_parser/js/parser.bundle.js");
    if !support::debian_file(&bundle) {
        return None;
    }
    let node = support::debian_tool("node")?;
    let out = run(Command::new(node)
        .arg(support::repo_root().join("tests/oracles/mermaid.js"))
        .args(files));
    let mut drawn = BTreeMap::new();
    let mut problems = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let r: Value = serde_json::from_str(line).expect("one JSON line per file");
        let file = PathBuf::from(r["file"].as_str().unwrap_or_default());
        if r["ok"] != true {
            problems.push(format!("{}: {}", file.display(), r["error"]));
            continue;
        }
        assert_eq!(r["type"], "flowchart-v2", "{}", file.display());
        assert_eq!(r["direction"], "LR", "{}", file.display());
        let nodes = r["vertices"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(id, v)| {
                (
                    id.clone(),
                    v["text"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let edges = r["edges"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                let key = (
                    e["start"].as_str().unwrap_or_default().to_owned(),
                    e["end"].as_str().unwrap_or_default().to_owned(),
                );
                let text = e["text"].as_str().unwrap_or_default().to_owned();
                (key, (text, e["stroke"] == "dotted"))
            })
            .collect();
        drawn.insert(file, Drawn { nodes, edges });
    }
    assert!(
        problems.is_empty() && out.status.success(),
        "Mermaid's parser rejects kplan's graphs:\n{}{}",
        problems.join("\n"),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(drawn.len(), files.len(), "one result per file");
    Some(drawn)
}

#[test]
fn mermaid_and_graphviz_draw_the_same_graph_and_text() {
    let mermaid_files = golden_graphs("mmd");
    let Some(mermaid) = drawn_by_mermaid(&mermaid_files) else {
        return;
    };
    let Some(dot) = dot() else { return };
    let mut checked = 0;
    for m in &mermaid_files {
        let d = m.with_extension("dot");
        let by_graphviz = drawn_by_graphviz(&dot, &d);
        let by_mermaid = &mermaid[m];
        checked += by_mermaid.nodes.len();
        assert_eq!(
            by_mermaid,
            &by_graphviz,
            "{} and {} draw different things",
            m.display(),
            d.display()
        );
    }
    assert!(
        checked > 50,
        "only {checked} nodes drawn in all golden graphs"
    );
}

#[test]
fn names_with_every_special_character_are_drawn_exactly() {
    let file = support::repo_root().join("tests/out/graph/graph-escaping/graph.mmd");
    let Some(mermaid) = drawn_by_mermaid(std::slice::from_ref(&file)) else {
        return;
    };
    let drawn = &mermaid[&file];
    assert_eq!(
        drawn.nodes["t0"],
        format!("run_sh task {NASTY}\nrun {NASTY}"),
        "the run_sh's name and description"
    );
    assert_eq!(
        drawn.nodes["a0"],
        format!("cfg {NASTY}\nrender_templates\nrender {NASTY}")
    );
    assert_eq!(
        drawn.nodes["a1"],
        format!("stored {NASTY}\ntask store\nfiles made at run time")
    );
    // Graphviz draws the same text (checked for every graph above); here directly.
    let Some(dot) = dot() else { return };
    let by_graphviz = drawn_by_graphviz(&dot, &file.with_extension("dot"));
    assert_eq!(by_graphviz.nodes["t0"], drawn.nodes["t0"]);
}

/// The README's Mermaid graph is the one kplan draws for the bundled example today.
#[test]
fn readme_shows_the_current_graph_of_the_example() {
    let root = support::repo_root();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let golden = std::fs::read_to_string(root.join("tests/out/graph/web-db/graph.mmd"))
        .expect("the web-db graph golden");
    let block = format!("```mermaid\n{golden}```\n");
    assert!(
        readme.contains(&block),
        "README.md must show the output of `kplan graph fixtures/valid/web-db` in a ```mermaid block:\n{block}"
    );
    assert!(
        root.join("docs/web-db-graph.png").is_file(),
        "docs/web-db-graph.png is missing: see README, Graph"
    );
}
