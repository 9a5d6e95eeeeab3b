//! Showing a change set: Terraform-style text (`+` create, `~` update in place, `-/+`
//! replace, `-` destroy, each with its reasons, then a summary line) and JSON. In
//! colour, the symbols are coloured as Terraform colours them (create green, update
//! yellow, destroy red, a task run cyan) and the summary is bold; without, the text is
//! the same less the escapes.

use super::diff::{Action, ChangeSet, TaskAction};
use crate::console::{style, Palette};
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

/// The symbol of `action`, in its colour.
fn symbol(p: Palette, action: Action) -> String {
    match action {
        Action::Create => p.paint(style::ADD, "+").to_string(),
        Action::Update => p.paint(style::CHANGE, "~").to_string(),
        Action::Replace => format!(
            "{}/{}",
            p.paint(style::REMOVE, "-"),
            p.paint(style::ADD, "+")
        ),
        Action::Keep => String::new(),
    }
}

/// The plan as text, styled with `p`.
pub fn text(cs: &ChangeSet, p: Palette) -> String {
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
        "({} create, {} update in place, {} replace, {} destroy, {} run a task)",
        symbol(p, Action::Create),
        symbol(p, Action::Update),
        symbol(p, Action::Replace),
        p.paint(style::REMOVE, "-"),
        p.paint(style::RUN, ">"),
    );
    let _ = writeln!(o);
    if cs.create_network {
        let _ = writeln!(
            o,
            "  {} network \"kplan-{}\" will be created",
            p.paint(style::ADD, "+"),
            cs.enclave
        );
    }
    for s in &cs.services {
        let verb = match s.action {
            Action::Create => "will be created",
            Action::Update => "will be updated in place",
            Action::Replace => "must be replaced",
            Action::Keep => continue,
        };
        let sym = symbol(p, s.action);
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
                "  {} service \"{}\" will be destroyed (no longer in the package)",
                p.paint(style::REMOVE, "-"),
                orp.service
            );
        }
    }
    for l in &cs.leftovers {
        let _ = writeln!(
            o,
            "  {} container \"{l}\" left by an interrupted apply will be removed",
            p.paint(style::REMOVE, "-")
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
            let _ = writeln!(
                o,
                "  {} {} will run # {}",
                p.paint(style::RUN, ">"),
                t.task,
                t.reason
            );
        }
    }
    let reused = cs.tasks.len() - run.len();
    let kept = cs.count(Action::Keep);
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "{} {}. ({} unchanged; {} task{} to run, {} reused)",
        p.paint(style::EMPHASIS, "Plan:"),
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
