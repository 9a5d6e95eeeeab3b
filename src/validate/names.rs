//! Name rules (KP101-KP103): service names and persistent directory keys are RFC 1035
//! labels (they become DNS names and volume names), port ids are RFC 6335 service
//! names (they become Kubernetes port names). Each invalid name gets a suggestion.

use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{is_name, lower, lower_digit, lower_digit_dash};
use crate::ir::{Mount, Plan, Service};

/// An RFC 1035 label: `^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$`.
fn rfc1035(name: &str) -> bool {
    is_name(name, 63, lower, lower_digit_dash, lower_digit)
}

/// An RFC 6335 service name as Kubernetes checks it: `^[a-z]([-a-z0-9]{0,13}[a-z0-9])?$`.
fn rfc6335(name: &str) -> bool {
    is_name(name, 15, lower, lower_digit_dash, lower_digit)
}

/// A suggestion for an invalid RFC 1035 name: lower-cased, other characters as '-'.
fn suggest(name: &str, max: usize) -> String {
    let s = crate::ir::dns_slug(name);
    let s = s
        .trim_matches(|c: char| c == '-' || c.is_ascii_digit())
        .to_owned();
    let mut s: String = s.chars().take(max).collect();
    while s.ends_with('-') {
        s.pop();
    }
    if s.is_empty() {
        "svc".into()
    } else {
        s
    }
}

pub fn check(plan: &Plan, diags: &mut Vec<Diagnostic>) {
    for s in &plan.services {
        diags.extend(service_name(s));
        diags.extend(port_ids(s));
        diags.extend(persistent_keys(s));
    }
}

/// KP101: the service's name.
fn service_name(s: &Service) -> Option<Diagnostic> {
    if rfc1035(&s.name) {
        return None;
    }
    Some(
        Diagnostic::error(
            Code::KP101,
            format!("service name '{}' is invalid: it must be 1-63 lower-case letters, digits and '-', start with a letter and end with a letter or digit", s.name),
            Some(s.at.clone()),
        )
        .with_hint(format!("rename it, e.g. '{}'", suggest(&s.name, 63))),
    )
}

/// KP102: the ids of the service's ports.
fn port_ids(s: &Service) -> Vec<Diagnostic> {
    s.config
        .ports
        .iter()
        .filter(|(id, _)| !rfc6335(id))
        .map(|(id, p)| {
            Diagnostic::error(
                Code::KP102,
                format!("port id '{id}' of service '{}' is invalid: it must be 1-15 lower-case letters, digits and '-', start with a letter and end with a letter or digit", s.name),
                Some(p.id_at.clone()),
            )
            .with_hint(format!("rename it, e.g. '{}'", suggest(id, 15)))
        })
        .collect()
}

/// KP103: the keys of the service's persistent directories.
fn persistent_keys(s: &Service) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (dir, m) in &s.config.files {
        match m {
            Mount::Persistent { key, .. } if !rfc1035(key) => out.push(
                Diagnostic::error(
                    Code::KP103,
                    format!("persistent directory key '{key}' (mounted at {dir} in '{}') is invalid: it must be 1-63 lower-case letters, digits and '-', starting with a letter", s.name),
                    Some(s.at.clone()),
                )
                .with_hint(format!("use e.g. '{}'", suggest(key, 63))),
            ),
            Mount::Persistent { .. } | Mount::Artifacts(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::testing::{port, service};

    #[test]
    fn name_rules_say_what_their_regexes_say() {
        let r1035 = regex::Regex::new(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$").expect("regex");
        let r6335 = regex::Regex::new(r"^[a-z]([-a-z0-9]{0,13}[a-z0-9])?$").expect("regex");
        // Every name of up to 4 characters over each class's members and neighbours.
        let alphabet = ['a', 'z', 'A', '0', '9', '-', '_', '.', 'é'];
        let mut names = crate::ir::strings_over(&alphabet, 4);
        for len in [14, 15, 16, 62, 63, 64] {
            names.push(format!("a{}", "-".repeat(len - 2)) + "1");
        }
        for n in &names {
            assert_eq!(rfc1035(n), r1035.is_match(n), "RFC 1035 {n:?}");
            assert_eq!(rfc6335(n), r6335.is_match(n), "RFC 6335 {n:?}");
        }
    }

    #[test]
    fn service_names_are_rfc1035_labels() {
        assert!(service_name(&service("web-1", 1)).is_none());
        let d = service_name(&service("Web_1", 1)).expect("KP101");
        assert_eq!(d.code, Code::KP101);
        assert_eq!(d.hint.as_deref(), Some("rename it, e.g. 'web'"));
        assert!(service_name(&service(&"a".repeat(64), 1)).is_some());
        assert!(service_name(&service("1web", 1)).is_some());
    }

    #[test]
    fn port_ids_are_rfc6335_names() {
        let mut s = service("web", 1);
        s.config.ports.insert("http".into(), port(80, 2));
        s.config
            .ports
            .insert("HTTP_PORT_NUMBER_1".into(), port(81, 3));
        let d = port_ids(&s);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].at, Some(port(81, 3).id_at));
        assert_eq!(
            d[0].hint.as_deref(),
            Some("rename it, e.g. 'http-port-numbe'")
        );
    }

    #[test]
    fn persistent_keys_are_rfc1035_labels() {
        let mut s = service("db", 1);
        let dir = |key: &str| Mount::Persistent {
            key: key.into(),
            size_mb: None,
        };
        s.config.files.insert("/ok".into(), dir("data"));
        s.config.files.insert("/bad".into(), dir("Data_Dir"));
        s.config
            .files
            .insert("/cfg".into(), Mount::Artifacts(vec!["Not_A_Key".into()]));
        let d = persistent_keys(&s);
        assert_eq!(d.len(), 1);
        assert!(d[0]
            .message
            .contains("'Data_Dir' (mounted at /bad in 'db')"));
        assert_eq!(d[0].hint.as_deref(), Some("use e.g. 'data-dir'"));
    }

    #[test]
    fn suggestions_are_valid_names() {
        assert_eq!(suggest("9_Lives-", 63), "lives");
        assert_eq!(suggest("___", 63), "svc");
        assert_eq!(suggest("abcdefghijklmno-p", 15), "abcdefghijklmno");
    }
}
