//! The checks of Kurtosis type constructors that are more than one argument-kind check
//! (see [`super::types`]): port specs, labels, assertions, mounts, tolerations, GPU
//! drivers. Each adds its failures to the call's [`Args`], in argument order.

use super::check::Args;
use super::value::Owned;
use crate::ir::Assertion;
use crate::ir::{is_name, lower_digit};

/// A Kubernetes label key's name part: `^[a-z0-9]([a-z0-9\-_.]*[a-z0-9])?$`, at most 63.
fn label_key(key: &str) -> bool {
    let middle = |c| lower_digit(c) || punct(c);
    is_name(key, 63, lower_digit, middle, lower_digit)
}

/// A Kubernetes label value: empty or `^[A-Za-z0-9]([A-Za-z0-9\-_.]*[A-Za-z0-9])?$`, at
/// most 63.
fn label_value(value: &str) -> bool {
    let middle = |c| alnum(c) || punct(c);
    value.is_empty() || is_name(value, 63, alnum, middle, alnum)
}

/// An ASCII letter or digit.
fn alnum(c: u8) -> bool {
    c.is_ascii_alphanumeric()
}

/// What label keys and values may hold between their first and last character.
fn punct(c: u8) -> bool {
    matches!(c, b'-' | b'_' | b'.')
}

pub fn check_port_spec(
    a: &mut Args,
    number: &Option<Owned>,
    transport: &Option<Owned>,
    app: &Option<Owned>,
    wait: &Option<Owned>,
    url: &Option<Owned>,
) {
    if let Some(n) = a.int("number", number) {
        if !(1..=65535).contains(&n) {
            a.fail(
                "number",
                format!("port number should be in range [1 - 65535], got {n}"),
            );
        }
    }
    if let Some(t) = a.string("transport_protocol", transport) {
        if !matches!(t.as_str(), "" | "TCP" | "UDP" | "SCTP") {
            a.fail(
                "transport_protocol",
                format!("must be one of TCP, UDP, SCTP, got '{t}'"),
            );
        }
    }
    if let Some(p) = a.string("application_protocol", app) {
        if !p
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'.' | b'-'))
        {
            a.fail(
                "application_protocol",
                format!("'{p}' may only contain letters, digits, '+', '.' and '-'"),
            );
        }
    }
    match wait {
        None | Some(Owned::None) => {}
        Some(Owned::Str(s)) if s.is_empty() => a.fail(
            "wait",
            "must not be empty; use None to disable the port check",
        ),
        w @ Some(_) => {
            a.duration("wait", w);
        }
    }
    a.non_empty_string("url", url);
}

pub fn check_label(a: &mut Args, key: &str, value: &str) {
    if super::refs::RefTable::contains_ref(value) {
        a.fail("labels", format!("the value of label '{key}' is known only at run time (a service's address or a task's output); labels must be known when the package is interpreted, e.g. use service.name"));
        return;
    }
    if !label_key(key) {
        a.fail("labels", format!("label key '{key}' is invalid: use at most 63 lower-case letters, digits, '-', '_' and '.', starting and ending with a letter or digit"));
    }
    if !label_value(value) {
        a.fail("labels", format!("label value '{value}' of '{key}' is invalid: use at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit (or empty)"));
    }
}

pub fn check_assertion(a: &mut Args, v: &Option<Owned>, target: &Option<Owned>) {
    if let Some(s) = a.string("assertion", v) {
        match Assertion::parse(&s) {
            None => a.fail(
                "assertion",
                format!("'{s}' is not one of ==, !=, >=, <=, >, <, IN, NOT_IN"),
            ),
            Some(Assertion::In | Assertion::NotIn) => {
                if !matches!(
                    target,
                    Some(Owned::List(_) | Owned::Tuple(_) | Owned::Dict(_))
                ) {
                    a.fail(
                        "target_value",
                        format!("assertion '{s}' needs a list as target_value"),
                    );
                }
            }
            Some(_) => {}
        }
    }
}

/// `image`: a non-empty image reference or an image spec.
pub fn image(a: &mut Args, image: &Option<Owned>) {
    if !matches!(image, Some(Owned::Str(_)) | None) {
        a.ktype("image", image, IMAGES);
    }
    if let Some(Owned::Str(s)) = image {
        if s.trim().is_empty() {
            a.fail("image", "must not be empty");
        }
    }
}

/// The image specs `ServiceConfig(image=...)` accepts besides a name.
const IMAGES: &[&str] = &["ImageSpec", "ImageBuildSpec", "NixBuildSpec"];

/// The recipes `ReadyCondition(recipe=...)` accepts.
pub const RECIPES: &[&str] = &[
    "ExecRecipe",
    "GetHttpRequestRecipe",
    "PostHttpRequestRecipe",
];

/// `ports` and `public_ports`: dicts of `PortSpec`s (checked together, after both are
/// read).
pub fn port_specs(a: &mut Args, ports: &Option<Owned>, public_ports: &Option<Owned>) {
    for (name, p) in [("ports", ports), ("public_ports", public_ports)] {
        if let Some(entries) = a.dict(name, p) {
            for (k, v) in entries {
                if v.as_kurtosis("PortSpec").is_none() {
                    a.fail(
                        name,
                        format!(
                            "value of '{k}' must be a PortSpec, got {} {}",
                            v.type_name(),
                            v.repr()
                        ),
                    );
                }
            }
        }
    }
}

/// `files`: a dict of mount paths to artifact names or `Directory`s.
pub fn mounts(a: &mut Args, files: &Option<Owned>) {
    if let Some(entries) = a.dict("files", files) {
        for (k, v) in entries {
            if !(matches!(v, Owned::Str(_)) || v.as_kurtosis("Directory").is_some()) {
                a.fail(
                    "files",
                    format!(
                        "value of '{k}' must be an artifact name or a Directory, got {} {}",
                        v.type_name(),
                        v.repr()
                    ),
                );
            }
        }
    }
}

/// A memory size in megabytes: 0 (no limit) or at least 6, as Docker requires.
pub fn memory(a: &mut Args, arg: &str, v: &Option<Owned>) {
    if let Some(m) = a.int(arg, v) {
        if m != 0 && m < 6 {
            a.fail(arg, format!("must be at least 6 (megabytes), got {m}"));
        }
    }
}

/// `labels`: a string dict of valid Docker/Kubernetes labels.
pub fn labels(a: &mut Args, labels: &Option<Owned>) {
    if let Some(entries) = a.string_dict("labels", labels) {
        for (k, v) in entries {
            check_label(a, &k, &v);
        }
    }
}

/// `tolerations`: a list of `Toleration`s.
pub fn tolerations(a: &mut Args, tolerations: &Option<Owned>) {
    match tolerations {
        Some(Owned::List(items)) => {
            for t in items {
                if t.as_kurtosis("Toleration").is_none() {
                    a.fail(
                        "tolerations",
                        format!(
                            "items must be Toleration, got {} {}",
                            t.type_name(),
                            t.repr()
                        ),
                    );
                }
            }
        }
        None => {}
        Some(o) => a.fail(
            "tolerations",
            format!("expected a list of Toleration, got {}", o.type_name()),
        ),
    }
}

/// `bind_mounts`: only the Docker socket may be bind-mounted.
pub fn bind_mounts(a: &mut Args, bind_mounts: &Option<Owned>) {
    if let Some(entries) = a.string_dict("bind_mounts", bind_mounts) {
        for (host, _) in entries {
            if host != "/var/run/docker.sock" {
                a.fail("bind_mounts", format!("host path '{host}' is not allowed; only /var/run/docker.sock may be bind-mounted"));
            }
        }
    }
}

/// `Directory`: a list of non-empty artifact names.
pub fn artifact_names(a: &mut Args, names: &Option<Owned>) {
    if let Some(list) = a.string_list("artifact_names", names) {
        if list.iter().any(String::is_empty) {
            a.fail("artifact_names", "artifact names must not be empty");
        }
    }
}

/// `Directory`: exactly one of `artifact_names` and `persistent_key`.
pub fn one_kind_of_directory(a: &mut Args, names: &Option<Owned>, key: &Option<Owned>) {
    if names.is_some() == key.is_some() {
        a.fail(
            "artifact_names",
            "set exactly one of 'artifact_names' and 'persistent_key' on a Directory",
        );
    }
}

/// `ExecRecipe`: a non-empty command.
pub fn command(a: &mut Args, command: &Option<Owned>) {
    if let Some(c) = a.string_list("command", command) {
        if c.is_empty() {
            a.fail("command", "must not be empty");
        }
    }
}

/// `Toleration`: the operator is `Exists` or `Equal`.
pub fn operator(a: &mut Args, operator: &Option<Owned>) {
    if let Some(o) = a.string("operator", operator) {
        if !matches!(o.as_str(), "Exists" | "Equal") {
            a.fail(
                "operator",
                format!("must be 'Exists' or 'Equal', got '{o}'"),
            );
        }
    }
}

/// `Toleration`: a Kubernetes taint effect (or empty: all effects).
pub fn effect(a: &mut Args, effect: &Option<Owned>) {
    if let Some(e) = a.string("effect", effect) {
        if !matches!(
            e.as_str(),
            "" | "NoSchedule" | "NoExecute" | "PreferNoSchedule"
        ) {
            a.fail(
                "effect",
                format!("must be NoSchedule, NoExecute or PreferNoSchedule, got '{e}'"),
            );
        }
    }
}

/// `Toleration`: a key unless the operator is `Exists`, and then no value.
pub fn toleration_operands(
    a: &mut Args,
    key: &Option<Owned>,
    operator: &Option<Owned>,
    value: &Option<Owned>,
) {
    let text = |v: &Option<Owned>| v.as_ref().and_then(Owned::as_str).unwrap_or("").to_owned();
    let exists = operator.as_ref().and_then(Owned::as_str) == Some("Exists");
    if text(key).is_empty() && !exists {
        a.fail("key", "is required unless operator is 'Exists'");
    }
    if exists && !text(value).is_empty() {
        a.fail("value", "must be empty when operator is 'Exists'");
    }
}

/// `GpuConfig`: `device_ids`, a list of strings, which may not be set together with a
/// non-zero (valid) `count`.
pub fn device_ids(a: &mut Args, count: &Option<Owned>, device_ids: &Option<Owned>) {
    let count = match count {
        Some(Owned::Int(i)) if *i >= -1 => *i,
        _ => 0,
    };
    let ids = a.string_list("device_ids", device_ids);
    if count != 0 && !ids.unwrap_or_default().is_empty() {
        a.fail("device_ids", "set either 'count' or 'device_ids', not both");
    }
}

/// `GpuConfig`: `ulimits` values are ints.
pub fn ulimits(a: &mut Args, ulimits: &Option<Owned>) {
    if let Some(entries) = a.dict("ulimits", ulimits) {
        for (k, v) in entries {
            if !matches!(v, Owned::Int(_)) {
                a.fail("ulimits", format!("value of '{k}' must be an int"));
            }
        }
    }
}

/// `GpuConfig`: a driver name, or a dict with `docker` and `kubernetes` names.
pub fn gpu_driver(a: &mut Args, driver: &Option<Owned>) {
    match driver {
        None | Some(Owned::Str(_)) => {}
        Some(Owned::Dict(_)) => {
            if let Some(entries) = a.string_dict("driver", driver) {
                for (k, _) in entries {
                    if k != "docker" && k != "kubernetes" {
                        a.fail(
                            "driver",
                            format!("unknown key '{k}'; use 'docker' and 'kubernetes'"),
                        );
                    }
                }
            }
        }
        Some(o) => a.fail(
            "driver",
            format!("expected a string or a dict, got {}", o.type_name()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::{label_key, label_value};
    use regex::Regex;

    /// Every string of up to 4 characters over an alphabet holding each class's
    /// members, its neighbours and a non-ASCII letter.
    fn strings() -> Vec<String> {
        let alphabet = ['a', 'z', 'A', '0', '9', '-', '_', '.', '+', ' ', 'é'];
        crate::ir::strings_over(&alphabet, 4)
    }

    #[test]
    fn label_checks_say_what_their_regexes_say() {
        let key = Regex::new(r"^[a-z0-9]([a-z0-9\-_.]*[a-z0-9])?$").expect("regex");
        let value = Regex::new(r"^[A-Za-z0-9]([A-Za-z0-9\-_.]*[A-Za-z0-9])?$").expect("regex");
        for s in strings() {
            assert_eq!(label_key(&s), key.is_match(&s), "key {s:?}");
            assert_eq!(
                label_value(&s),
                s.is_empty() || value.is_match(&s),
                "value {s:?}"
            );
        }
        assert!(label_key(&"a".repeat(63)) && !label_key(&"a".repeat(64)));
        assert!(label_value(&"A".repeat(63)) && !label_value(&"A".repeat(64)));
    }
}
