//! Port references (KP108, KP109): every port id that names one of a service's ports
//! must be among them, in its `public_ports` and in the HTTP recipes run against it
//! (`request`, `wait`, a ready condition).

use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{HttpRecipe, Plan, Service};

pub fn check(plan: &Plan, diags: &mut Vec<Diagnostic>) {
    for s in &plan.services {
        diags.extend(public_ports(s));
    }
}

/// KP109: a public port id that is not among the service's ports.
fn public_ports(s: &Service) -> Vec<Diagnostic> {
    let ports = &s.config.ports;
    s.config
        .public_ports
        .iter()
        .filter(|(id, _)| !ports.contains_key(*id))
        .map(|(id, p)| {
            Diagnostic::error(
                Code::KP109,
                if ports.is_empty() {
                    format!("public port '{id}' of service '{}' is not one of its ports: it has none", s.name)
                } else {
                    format!("public port '{id}' of service '{}' is not one of its ports ({})", s.name, ports.keys().cloned().collect::<Vec<_>>().join(", "))
                },
                Some(p.id_at.clone()),
            )
            .with_hint("every id in public_ports must also be in ports; public_ports only pins the host port")
        })
        .collect()
}

/// KP108: an HTTP recipe run by `instruction` (at `at`) against service `s` names a
/// port id `s` does not have.
pub fn recipe_port(
    s: &Service,
    recipe: &HttpRecipe,
    instruction: &str,
    at: &crate::ir::Span,
) -> Option<Diagnostic> {
    if s.config.ports.contains_key(&recipe.port_id) {
        return None;
    }
    let ports: Vec<&str> = s.config.ports.keys().map(String::as_str).collect();
    Some(
        Diagnostic::error(
            Code::KP108,
            format!(
                "'{instruction}' uses port id '{}' but service '{}' has no such port",
                recipe.port_id, s.name
            ),
            Some(at.clone()),
        )
        .with_related(s.at.clone(), "the service is added here")
        .with_hint(if ports.is_empty() {
            "declare the port in the service's ports".to_owned()
        } else {
            format!("its ports are: {}", ports.join(", "))
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::testing::{at, port, service};

    fn get(port_id: &str) -> HttpRecipe {
        HttpRecipe::get(port_id)
    }

    #[test]
    fn public_ports_must_be_ports() {
        let mut s = service("web", 1);
        s.config.public_ports.insert("admin".into(), port(9000, 2));
        let d = public_ports(&s);
        assert_eq!(d.len(), 1);
        assert!(d[0]
            .message
            .ends_with("is not one of its ports: it has none"));
        s.config.ports.insert("http".into(), port(80, 3));
        s.config.ports.insert("metrics".into(), port(90, 3));
        assert!(public_ports(&s)[0]
            .message
            .ends_with("is not one of its ports (http, metrics)"));
        s.config.ports.insert("admin".into(), port(9000, 3));
        assert!(public_ports(&s).is_empty());
    }

    #[test]
    fn http_recipes_name_a_port_of_the_service() {
        let mut s = service("db", 5);
        let d = recipe_port(&s, &get("http"), "request", &at(10)).expect("KP108");
        assert_eq!(d.at, Some(at(10)));
        assert_eq!(d.related, [(at(5), "the service is added here".into())]);
        assert_eq!(
            d.hint.as_deref(),
            Some("declare the port in the service's ports")
        );
        s.config.ports.insert("pg".into(), port(5432, 5));
        let d = recipe_port(&s, &get("http"), "wait", &at(10)).expect("KP108");
        assert_eq!(d.hint.as_deref(), Some("its ports are: pg"));
        assert!(recipe_port(&s, &get("pg"), "wait", &at(10)).is_none());
    }
}
