//! The strings of `fixtures/valid/compose-escaping` (adversarial env values, command
//! arguments and labels) as kplan's own plan holds them: what every target's escaping
//! test compares the target's tool's reading with.

use crate::support;
use serde_json::Value;
use std::collections::BTreeMap;

/// The package's values: env vars and labels by name, and entrypoint + cmd as one argv.
pub struct Expected {
    pub env: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub argv: Vec<String>,
}

pub fn expected() -> Expected {
    let plan: Value = serde_json::from_str(&support::kplan_ok(&[
        "compile",
        "fixtures/valid/compose-escaping",
        "--target",
        "plan",
        "--output",
        "json",
    ]))
    .expect("plan json");
    let cfg = &plan["services"][0]["config"];
    let strings = |v: &Value| -> BTreeMap<String, String> {
        v.as_object()
            .expect("map")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().expect("literal").to_owned()))
            .collect()
    };
    let list = |v: &Value| -> Vec<String> {
        v.as_array()
            .expect("list")
            .iter()
            .map(|s| s.as_str().expect("literal").to_owned())
            .collect()
    };
    let mut argv = list(&cfg["entrypoint"]);
    argv.extend(list(&cfg["cmd"]));
    Expected {
        env: strings(&cfg["env_vars"]),
        labels: strings(&cfg["labels"]),
        argv,
    }
}
