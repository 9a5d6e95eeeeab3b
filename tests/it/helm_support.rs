//! Rendering a chart with Helm's own renderer (tests/oracles/oracle.py
//! `helm-render`, every object also validated against the Kubernetes schemas), and
//! a model of the kubelet's `$(VAR)` expansion, for the tests that look inside the
//! rendered objects.

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};

/// Renders each (chart, release, namespace, values) with Helm; the manifests of each,
/// by template. Panics when a render or a schema check fails.
pub fn render(entries: &[(&Path, &str, &str, Value)]) -> Option<Vec<BTreeMap<String, Vec<Value>>>> {
    let py = crate::support::oracle_python()?;
    let tmp = tempfile::tempdir().expect("tempdir");
    let spec: Vec<Value> = entries
        .iter()
        .map(|(chart, release, ns, values)| {
            json!({"chart": chart, "release": release, "namespace": ns, "values": values})
        })
        .collect();
    let spec_file = tmp.path().join("spec.json");
    std::fs::write(&spec_file, serde_json::to_vec(&spec).expect("json")).expect("write spec");
    let out = Command::new(py)
        .arg(crate::support::repo_root().join("tests/oracles/oracle.py"))
        .arg("helm-render")
        .arg(&spec_file)
        .stdin(Stdio::null())
        .output()
        .expect("run oracle.py");
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "oracle.py helm-render: {e}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let mut all = Vec::new();
    for (r, (chart, release, ..)) in results.iter().zip(entries) {
        let errors = r["errors"].as_array().expect("errors");
        assert!(
            errors.is_empty(),
            "{} as {release}: {errors:#?}",
            chart.display()
        );
        let m: BTreeMap<String, Vec<Value>> =
            serde_json::from_value(r["manifests"].clone()).expect("manifests");
        all.push(m);
    }
    Some(all)
}

/// Every object of a render.
pub fn objects(m: &BTreeMap<String, Vec<Value>>) -> Vec<&Value> {
    m.values().flatten().collect()
}

pub fn find<'a>(m: &'a BTreeMap<String, Vec<Value>>, kind: &str, name: &str) -> &'a Value {
    objects(m)
        .into_iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {:?}", m.keys()))
}

/// The kubelet's `$(VAR)` expansion of command, args and env values
/// (kubernetes/third_party/forked/golang/expansion): `$$` is `$`, `$(NAME)` the
/// value of a defined variable, anything else as it is.
pub fn kubelet_expand(input: &str, defined: &BTreeMap<String, String>) -> String {
    let b = input.as_bytes();
    let mut out: Vec<u8> = Vec::new();
    let mut checkpoint = 0;
    let mut cursor = 0;
    while cursor < b.len() {
        if b[cursor] == b'$' && cursor + 1 < b.len() {
            out.extend_from_slice(&b[checkpoint..cursor]);
            let rest = &b[cursor + 1..];
            let advance = match rest[0] {
                b'$' => {
                    out.push(b'$');
                    1
                }
                b'(' => match rest.iter().position(|c| *c == b')') {
                    Some(close) => {
                        let name = String::from_utf8_lossy(&rest[1..close]).into_owned();
                        match defined.get(&name) {
                            Some(v) => out.extend_from_slice(v.as_bytes()),
                            None => out.extend_from_slice(format!("$({name})").as_bytes()),
                        }
                        close + 1
                    }
                    None => {
                        out.extend_from_slice(b"$(");
                        1
                    }
                },
                other => {
                    out.push(b'$');
                    out.push(other);
                    1
                }
            };
            cursor += advance;
            checkpoint = cursor + 1;
        }
        cursor += 1;
    }
    out.extend_from_slice(&b[checkpoint.min(b.len())..]);
    String::from_utf8(out).expect("utf-8")
}

/// The Job whose name is `prefix` and 8 hex digits: `<release>-<chart>-<comp>-<8 hex digits>`.
pub fn job<'a>(m: &'a BTreeMap<String, Vec<Value>>, prefix: &str) -> &'a Value {
    let jobs: Vec<&Value> = objects(m)
        .into_iter()
        .filter(|o| o["kind"] == "Job")
        .filter(|o| {
            let name = o["metadata"]["name"].as_str().unwrap_or_default();
            name.strip_prefix(prefix)
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|h| h.len() == 8 && h.chars().all(|c| c.is_ascii_hexdigit()))
        })
        .collect();
    assert_eq!(jobs.len(), 1, "one Job {prefix}-<digest> in {:?}", m.keys());
    jobs[0]
}

/// The names of a render's objects of `kind`.
pub fn names(m: &BTreeMap<String, Vec<Value>>, kind: &str) -> BTreeSet<String> {
    objects(m)
        .into_iter()
        .filter(|o| o["kind"] == kind)
        .map(|o| {
            o["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// The words of a container's command and args after the kubelet's expansion.
pub fn argv(c: &Value) -> Vec<String> {
    ["command", "args"]
        .iter()
        .filter_map(|k| c[*k].as_array())
        .flatten()
        .map(|s| kubelet_expand(s.as_str().expect("string"), &BTreeMap::new()))
        .collect()
}
