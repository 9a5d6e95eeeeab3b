//! The validator: checks a whole plan before anything changes and returns either the
//! proof backends and the executor rely on ([`PlanInfo`]) or every problem at once.
//!
//! One file per family of checks, each check a small function with its own tests:
//!
//! | file | code  | check |
//! |------|-------|-------|
//! | [`names`] | KP101 | service name is RFC 1035 (lower-case, <= 63 chars) |
//! | [`names`] | KP102 | port id is RFC 6335 (<= 15 chars) |
//! | [`names`] | KP103 | persistent directory key is RFC 1035 |
//! | [`services`] | KP104 | a service name is added twice in one run |
//! | [`artifacts`] | KP105 | a mounted files artifact does not exist (yet) |
//! | [`artifacts`] | KP106 | `upload_files`, `render_templates` or `store_service_files` reuses an artifact name produced earlier in the run (a task's `store` may: it makes a new version) |
//! | [`services`] | KP107 | an instruction names a service that does not exist at that point |
//! | [`ports`] | KP108 | an HTTP recipe names a port id the service does not have |
//! | [`ports`] | KP109 | a public port id is not among the service's ports |
//! | [`references`] | KP110 | a run-time value is used after its service was removed |
//! | [`images`] | KP111 | an image reference or a build's Dockerfile is empty |
//! | [`dependencies`] | KP112 | a dependency cycle between steps |
//! | [`mod@env`] | KP113 | an environment variable or build argument name is empty or holds '=' or NUL, or a value holds NUL |
//!
//! [`names`], [`images`], [`ports`] (public ports) and [`mod@env`] look at each service or
//! task on its own; the rest need to know what exists at each step, so [`walk`] runs
//! the steps in program order against a simulated environment and asks them.
//! Diagnostics are sorted by position, then code; within one position and code they
//! keep the order the checks found them in.

mod artifacts;
mod dependencies;
mod env;
mod images;
mod names;
mod ports;
mod references;
mod services;
#[cfg(test)]
mod testing;
mod walk;

use crate::diagnostic::Diagnostic;
use crate::ir::{Plan, PlanInfo};

/// Validates the plan. `Err` holds every error found (sorted by position).
pub fn validate(plan: &Plan) -> Result<PlanInfo, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    names::check(plan, &mut diags);
    ports::check(plan, &mut diags);
    images::check(plan, &mut diags);
    env::check(plan, &mut diags);
    let info = walk::resolve(plan, &mut diags);
    if diags.iter().any(Diagnostic::is_error) {
        diags.sort_by(|a, b| a.at.cmp(&b.at).then(a.code.cmp(&b.code)));
        return Err(diags);
    }
    Ok(info)
}
