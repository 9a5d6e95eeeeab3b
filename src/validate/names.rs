//! Name rules: service names, port ids, persistent keys, images (KP101-KP103, KP109,
//! KP111).

use crate::diagnostic::{Code, Diagnostic};
use crate::ir::{Image, Mount, Plan, Service};
use regex::Regex;
use std::sync::OnceLock;

fn rfc1035() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$").unwrap_or_else(|e| unreachable!("{e}"))
    })
}

fn rfc6335() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^[a-z]([-a-z0-9]{0,13}[a-z0-9])?$").unwrap_or_else(|e| unreachable!("{e}"))
    })
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
        check_service(s, diags);
    }
}

fn check_service(s: &Service, diags: &mut Vec<Diagnostic>) {
    if !rfc1035().is_match(&s.name) {
        diags.push(
            Diagnostic::error(
                Code::KP101,
                format!("service name '{}' is invalid: it must be 1-63 lower-case letters, digits and '-', start with a letter and end with a letter or digit", s.name),
                Some(s.at.clone()),
            )
            .with_hint(format!("rename it, e.g. '{}'", suggest(&s.name, 63))),
        );
    }
    for (id, p) in &s.config.ports {
        if !rfc6335().is_match(id) {
            diags.push(
                Diagnostic::error(
                    Code::KP102,
                    format!("port id '{id}' of service '{}' is invalid: it must be 1-15 lower-case letters, digits and '-', start with a letter and end with a letter or digit", s.name),
                    Some(p.id_at.clone()),
                )
                .with_hint(format!("rename it, e.g. '{}'", suggest(id, 15))),
            );
        }
    }
    for (id, p) in &s.config.public_ports {
        if !s.config.ports.contains_key(id) {
            diags.push(
                Diagnostic::error(
                    Code::KP109,
                    if s.config.ports.is_empty() {
                        format!("public port '{id}' of service '{}' is not one of its ports: it has none", s.name)
                    } else {
                        format!("public port '{id}' of service '{}' is not one of its ports ({})", s.name, s.config.ports.keys().cloned().collect::<Vec<_>>().join(", "))
                    },
                    Some(p.id_at.clone()),
                )
                .with_hint("every id in public_ports must also be in ports; public_ports only pins the host port"),
            );
        }
    }
    for (dir, m) in &s.config.files {
        match m {
            Mount::Persistent { key, .. } => {
                if !rfc1035().is_match(key) {
                    diags.push(
                        Diagnostic::error(
                            Code::KP103,
                            format!("persistent directory key '{key}' (mounted at {dir} in '{}') is invalid: it must be 1-63 lower-case letters, digits and '-', starting with a letter", s.name),
                            Some(s.at.clone()),
                        )
                        .with_hint(format!("use e.g. '{}'", suggest(key, 63))),
                    );
                }
            }
            Mount::Artifacts(_) => {}
        }
    }
    if s.config.image.reference().trim().is_empty() {
        diags.push(Diagnostic::error(
            Code::KP111,
            format!("service '{}' has an empty image", s.name),
            Some(s.at.clone()),
        ));
    }
    if let Image::Build { build_file, .. } = &s.config.image {
        if build_file.is_empty() {
            diags.push(Diagnostic::error(
                Code::KP111,
                format!("service '{}' has an empty build_file", s.name),
                Some(s.at.clone()),
            ));
        }
    }
}
