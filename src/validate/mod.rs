//! The validator: checks a whole plan before anything changes and returns either the
//! proof backends and the executor rely on ([`PlanInfo`]) or every problem at once.
//!
//! Checks, each with a stable code:
//!
//! | code  | check |
//! |-------|-------|
//! | KP101 | service name is RFC 1035 (lower-case, <= 63 chars) |
//! | KP102 | port id is RFC 6335 (<= 15 chars) |
//! | KP103 | persistent directory key is RFC 1035 |
//! | KP104 | a service name is added twice in one run |
//! | KP105 | a mounted files artifact does not exist (yet) |
//! | KP106 | `upload_files`, `render_templates` or `store_service_files` reuses an artifact name produced earlier in the run (a task's `store` may: it makes a new version) |
//! | KP107 | an instruction names a service that does not exist at that point |
//! | KP108 | an HTTP recipe names a port id the service does not have |
//! | KP109 | a public port id is not among the service's ports |
//! | KP110 | a run-time value is used after its service was removed |
//! | KP111 | an image reference is empty |
//! | KP112 | a dependency cycle between steps |
//! | KP113 | an environment variable or build argument name is empty or holds '=' or NUL, or a value holds NUL |

mod env;
mod names;
mod resolve;

use crate::diagnostic::Diagnostic;
use crate::ir::{Plan, PlanInfo};

/// Validates the plan. `Err` holds every error found (sorted by position).
pub fn validate(plan: &Plan) -> Result<PlanInfo, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    names::check(plan, &mut diags);
    env::check(plan, &mut diags);
    let info = resolve::resolve(plan, &mut diags);
    if diags.iter().any(Diagnostic::is_error) {
        diags.sort_by(|a, b| a.at.cmp(&b.at).then(a.code.cmp(&b.code)));
        return Err(diags);
    }
    Ok(info)
}
