//! Run-time values read by a step (KP110): every reference in a string records the
//! service or task the step reads from, and a service's address may not be read once
//! the service was removed. A service's own address (its
//! `private_ip_address_placeholder`) is no dependency: the container holding the
//! string is the one it names.

use super::services::Services;
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{
    ArtifactId, Data, Plan, RuntimeRef, ServiceField, ServiceId, Span, StrExpr, TaskId,
};
use std::collections::BTreeSet;

/// What one step consumes while it is being checked.
#[derive(Default)]
pub struct Uses {
    pub services: BTreeSet<ServiceId>,
    pub artifacts: BTreeSet<ArtifactId>,
    pub tasks: BTreeSet<TaskId>,
}

/// Records what `e` (written at `at`) reads into `uses`; KP110 for each read of a
/// removed service's address.
pub fn expr(
    plan: &Plan,
    services: &Services,
    e: &StrExpr,
    at: &Span,
    uses: &mut Uses,
    diags: &mut Vec<Diagnostic>,
) {
    for r in e.refs() {
        match r {
            RuntimeRef::Service {
                field: ServiceField::OwnIpAddress,
                ..
            } => {}
            RuntimeRef::Service { service, field } => {
                if services.is_removed(*service) {
                    diags.push(after_removal(plan, *service, *field, at));
                }
                uses.services.insert(*service);
            }
            RuntimeRef::Task { task, .. } => {
                uses.tasks.insert(*task);
            }
        }
    }
}

/// [`expr`] for every string in `d`.
pub fn data(
    plan: &Plan,
    services: &Services,
    d: &Data,
    at: &Span,
    uses: &mut Uses,
    diags: &mut Vec<Diagnostic>,
) {
    for s in d.strings() {
        expr(plan, services, s, at, uses, diags);
    }
}

/// KP110: `field` of the removed service `id` is read at `at`.
fn after_removal(plan: &Plan, id: ServiceId, field: ServiceField, at: &Span) -> Diagnostic {
    let s = plan.service(id);
    Diagnostic::error(
        Code::KP110,
        format!(
            "the {} of service '{}' is used after the service was removed",
            field.as_str(),
            s.name
        ),
        Some(at.clone()),
    )
    .with_related(s.at.clone(), "the service is added here")
}

/// Whether the service's entrypoint, cmd or env holds its own address.
pub fn uses_own_address(plan: &Plan, id: ServiceId) -> bool {
    let c = &plan.service(id).config;
    c.entrypoint
        .iter()
        .chain(&c.cmd)
        .chain(c.env_vars.values())
        .flat_map(StrExpr::refs)
        .any(|r| {
            matches!(
                r,
                RuntimeRef::Service {
                    field: ServiceField::OwnIpAddress,
                    ..
                }
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Part, TaskField};
    use crate::validate::testing::{at, plan, service};

    fn address(service: u32, field: ServiceField) -> StrExpr {
        StrExpr::from_parts([
            Part::Lit("http://".into()),
            Part::Ref(RuntimeRef::Service {
                service: ServiceId(service),
                field,
            }),
        ])
    }

    #[test]
    fn references_record_what_a_step_reads() {
        let mut p = plan();
        p.services.push(service("db", 1));
        let services = Services::default();
        let (mut uses, mut diags) = (Uses::default(), Vec::new());
        let output = StrExpr::from_parts([Part::Ref(RuntimeRef::Task {
            task: TaskId(2),
            field: TaskField::Output,
        })]);
        for e in [
            address(0, ServiceField::Hostname),
            address(0, ServiceField::OwnIpAddress),
            output,
        ] {
            expr(&p, &services, &e, &at(3), &mut uses, &mut diags);
        }
        assert!(diags.is_empty());
        assert_eq!(uses.services, BTreeSet::from([ServiceId(0)]));
        assert_eq!(uses.tasks, BTreeSet::from([TaskId(2)]));
    }

    #[test]
    fn a_removed_service_has_no_address() {
        let mut p = plan();
        p.services.push(service("db", 1));
        let mut services = Services::default();
        services.add(&p, ServiceId(0));
        services.remove("db", ServiceId(0));
        let (mut uses, mut diags) = (Uses::default(), Vec::new());
        let e = address(0, ServiceField::IpAddress);
        data(&p, &services, &Data::Str(e), &at(3), &mut uses, &mut diags);
        assert_eq!(diags.len(), 1);
        assert_eq!(
            diags[0].message,
            "the ip_address of service 'db' is used after the service was removed"
        );
        assert_eq!(
            diags[0].related,
            [(at(1), "the service is added here".into())]
        );
        // A service's own address stays readable: it is its own container's.
        let mut diags = Vec::new();
        let own = address(0, ServiceField::OwnIpAddress);
        expr(&p, &services, &own, &at(3), &mut uses, &mut diags);
        assert!(diags.is_empty());
    }

    #[test]
    fn own_address_users_are_found_in_entrypoint_cmd_and_env() {
        let mut p = plan();
        let mut s = service("node", 1);
        s.config
            .env_vars
            .insert("ME".into(), address(0, ServiceField::OwnIpAddress));
        p.services.push(s);
        p.services.push(service("other", 2));
        assert!(uses_own_address(&p, ServiceId(0)));
        assert!(!uses_own_address(&p, ServiceId(1)));
    }
}
