//! Showing a change set: Terraform-style text (`+` create, `~` update in place, `-/+`
//! replace, `-` destroy, each with its reasons, then a summary line) and JSON.

use super::diff::{Action, ChangeSet, TaskAction};
use std::fmt::Write as _;

/// `N to add, M to change, K to replace, J to destroy`.
pub fn summary(cs: &ChangeSet) -> String {
    format!(
        "{} to add, {} to change, {} to replace, {} to destroy",
        cs.count(Action::Create),
        cs.count(Action::Update),
        cs.count(Action::Replace),
        cs.destroyed()
    )
}

/// `1 service`, `2 services`.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The plan as text.
pub fn text(cs: &ChangeSet) -> String {
    let mut o = String::new();
    if !cs.has_changes() {
        let _ = writeln!(
            o,
            "No changes. Enclave \"{}\" matches the package ({}).",
            cs.enclave,
            count(cs.services.len(), "service")
        );
        orphans(cs, &mut o);
        return o;
    }
    let _ = writeln!(
        o,
        "kplan will make these changes in enclave \"{}\":",
        cs.enclave
    );
    let _ = writeln!(
        o,
        "(+ create, ~ update in place, -/+ replace, - destroy, > run a task)"
    );
    let _ = writeln!(o);
    if cs.create_network {
        let _ = writeln!(o, "  + network \"kplan-{}\" will be created", cs.enclave);
    }
    for s in &cs.services {
        let (sym, verb) = match s.action {
            Action::Create => ("+", "will be created"),
            Action::Update => ("~", "will be updated in place"),
            Action::Replace => ("-/+", "must be replaced"),
            Action::Keep => continue,
        };
        let _ = writeln!(o, "  {sym} service \"{}\" {verb}", s.name);
        let _ = writeln!(o, "      image: {}", s.image);
        if s.action != Action::Create {
            for r in &s.reasons {
                let _ = writeln!(o, "      # {r}");
            }
        }
        for (part, why) in &s.unknown_parts {
            let _ = writeln!(o, "      {part}: (known after apply) # {why}");
        }
    }
    if cs.prune {
        for orp in &cs.orphans {
            let _ = writeln!(
                o,
                "  - service \"{}\" will be destroyed (no longer in the package)",
                orp.service
            );
        }
    }
    for l in &cs.leftovers {
        let _ = writeln!(
            o,
            "  - container \"{l}\" left by an interrupted apply will be removed"
        );
    }
    let run: Vec<_> = cs
        .tasks
        .iter()
        .filter(|t| t.action == TaskAction::Run)
        .collect();
    if !run.is_empty() {
        let _ = writeln!(o);
        for t in &run {
            let _ = writeln!(o, "  > {} will run # {}", t.task, t.reason);
        }
    }
    let reused = cs.tasks.len() - run.len();
    let kept = cs.count(Action::Keep);
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "Plan: {}. ({} unchanged; {} task{} to run, {} reused)",
        summary(cs),
        kept,
        run.len(),
        if run.len() == 1 { "" } else { "s" },
        reused
    );
    orphans(cs, &mut o);
    o
}

fn orphans(cs: &ChangeSet, o: &mut String) {
    if !cs.prune && !cs.orphans.is_empty() {
        let names: Vec<&str> = cs.orphans.iter().map(|x| x.service.as_str()).collect();
        let _ = writeln!(
            o,
            "Note: services no longer in the package still run: {}; apply with --prune to remove them.",
            names.join(", ")
        );
    }
}

/// The plan as a JSON object (the fields of schemas/plan.schema.json but `version`).
pub fn json(cs: &ChangeSet) -> serde_json::Value {
    serde_json::json!({
        "enclave": cs.enclave,
        "changes": cs.has_changes(),
        "summary": {
            "add": cs.count(Action::Create),
            "change": cs.count(Action::Update),
            "replace": cs.count(Action::Replace),
            "destroy": cs.destroyed(),
        },
        "change_set": cs,
    })
}
