//! Environments (KP113): every map of names to values that becomes a process
//! environment or a `docker build --build-arg`: a service's `env_vars`, a `run_sh`
//! task's `env_vars`, and the `build_args` of an `ImageBuildSpec`.
//!
//! A name must be non-empty and hold neither '=' nor NUL: the engine gets `NAME=VALUE`
//! strings, so `"A=B": "v"` would silently become `A` = `B=v`, and an empty name or a
//! NUL fails only when the container is created, halfway through an apply. A value
//! may not hold NUL either (no process environment can). Values known only at run
//! time are checked for what is known now, their literal text.

use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Image, Part, Plan, Span, StrExpr, TaskKind};
use std::collections::BTreeMap;

pub fn check(plan: &Plan, diags: &mut Vec<Diagnostic>) {
    for s in &plan.services {
        let who = format!("service '{}'", s.name);
        check_map(
            &who,
            "environment variable",
            exprs(&s.config.env_vars),
            &s.at,
            diags,
        );
        check_image(&who, &s.config.image, &s.at, diags);
    }
    for t in &plan.tasks {
        match &t.kind {
            TaskKind::RunSh {
                name,
                env_vars,
                image,
                ..
            } => {
                let who = format!("run_sh task '{name}'");
                check_map(&who, "environment variable", exprs(env_vars), &t.at, diags);
                check_image(&who, image, &t.at, diags);
            }
            TaskKind::RunPython { name, image, .. } => {
                check_image(&format!("run_python task '{name}'"), image, &t.at, diags);
            }
            TaskKind::Exec { .. }
            | TaskKind::Request { .. }
            | TaskKind::Wait { .. }
            | TaskKind::Verify { .. }
            | TaskKind::Print { .. } => {}
        }
    }
}

/// The literal text of each value (run-time values are not known yet).
fn exprs(map: &BTreeMap<String, StrExpr>) -> Vec<(&str, String)> {
    map.iter()
        .map(|(k, v)| {
            let text = v
                .parts()
                .iter()
                .filter_map(|p| match p {
                    Part::Lit(s) => Some(s.as_str()),
                    Part::Ref(_) => None,
                })
                .collect();
            (k.as_str(), text)
        })
        .collect()
}

fn check_image(who: &str, image: &Image, at: &Span, diags: &mut Vec<Diagnostic>) {
    match image {
        Image::Build { build_args, .. } => {
            let args = build_args
                .iter()
                .map(|(k, v)| (k.as_str(), v.clone()))
                .collect();
            check_map(who, "build argument", args, at, diags);
        }
        Image::Name(_) | Image::Spec { .. } | Image::Nix { .. } => {}
    }
}

fn check_map(
    who: &str,
    what: &str,
    entries: Vec<(&str, String)>,
    at: &Span,
    diags: &mut Vec<Diagnostic>,
) {
    for (name, value) in entries {
        let problem = if name.is_empty() {
            Some((
                format!("{who} sets an {what} with an empty name"),
                "give it a name, or remove the entry".to_owned(),
            ))
        } else if name.contains('=') {
            let (before, after) = name.split_once('=').unwrap_or((name, ""));
            let read_as = if before.is_empty() {
                "a variable with an empty name".to_owned()
            } else {
                format!(
                    "'{}' set to '{}={}'",
                    before.escape_debug(),
                    after.escape_debug(),
                    value.escape_debug()
                )
            };
            Some((
                format!(
                    "{what} name '{}' of {who} holds '=', which separates a name from its value: the engine would read it as {read_as}",
                    name.escape_debug()
                ),
                "use a name without '=' (e.g. with '_' instead)".to_owned(),
            ))
        } else if name.contains('\0') {
            Some((
                format!(
                    "{what} name '{}' of {who} holds a NUL character",
                    name.escape_debug()
                ),
                "remove the NUL (\\0) from the name".to_owned(),
            ))
        } else if value.contains('\0') {
            Some((
                format!(
                    "the value of {what} '{name}' of {who} holds a NUL character, which no process environment can hold"
                ),
                "remove the NUL (\\0) from the value".to_owned(),
            ))
        } else {
            None
        };
        if let Some((message, hint)) = problem {
            diags.push(Diagnostic::error(Code::KP113, message, Some(at.clone())).with_hint(hint));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::testing::at;

    fn problems(entries: &[(&str, &str)]) -> Vec<String> {
        let entries = entries.iter().map(|(k, v)| (*k, v.to_string())).collect();
        let mut diags = Vec::new();
        check_map(
            "service 'web'",
            "environment variable",
            entries,
            &at(1),
            &mut diags,
        );
        diags.into_iter().map(|d| d.message).collect()
    }

    #[test]
    fn names_hold_no_equals_sign_or_nul_and_are_not_empty() {
        assert!(problems(&[("PATH", "/bin"), ("A_B", "")]).is_empty());
        assert_eq!(
            problems(&[("", "v")]),
            ["service 'web' sets an environment variable with an empty name"]
        );
        assert_eq!(
            problems(&[("A=B", "v")]),
            ["environment variable name 'A=B' of service 'web' holds '=', which separates a name from its value: the engine would read it as 'A' set to 'B=v'"]
        );
        assert_eq!(problems(&[("=B", "v")]).len(), 1);
        assert!(problems(&[("A\0", "v")])[0].contains("holds a NUL character"));
    }

    #[test]
    fn values_hold_no_nul() {
        assert!(problems(&[("A", "x\0y")])[0].starts_with("the value of environment variable 'A'"));
    }

    #[test]
    fn only_the_literal_text_of_a_value_is_known() {
        let mut map = BTreeMap::new();
        map.insert("A".to_owned(), StrExpr::lit("lit"));
        assert_eq!(exprs(&map), [("A", "lit".to_owned())]);
    }
}
