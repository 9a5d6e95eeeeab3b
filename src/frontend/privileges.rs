//! What a service may ask of the host only with `--privileged` (as `kurtosis run
//! --privileged`): privileged mode, the host PID namespace, bind mounts, devices, and
//! capabilities beyond the unprivileged set.
//!
//! The unprivileged capabilities are those of the Kubernetes Pod Security Standards'
//! "baseline" policy (the ones Docker grants every container by default, minus
//! `NET_RAW`): adding them gives a container nothing it would not have anyway. Anything
//! else (`SYS_ADMIN`, `SYS_RAWIO`, `NET_ADMIN`, `ALL`, ...) reaches the host or its
//! network, so it needs the flag, like a device (`/dev/vda`).

use crate::ir::ServiceConfig;

/// Capabilities a container may add without `--privileged`.
const BASELINE: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// True if Docker would read `cap` (any case, with or without `CAP_`) as a baseline one.
fn is_baseline(cap: &str) -> bool {
    let upper = cap.trim().to_ascii_uppercase();
    let name = upper.strip_prefix("CAP_").unwrap_or(&upper);
    BASELINE.contains(&name)
}

/// What `config` asks for that needs `--privileged`, for people: `["devices
/// (/dev/vda)", "capabilities beyond the unprivileged set (SYS_ADMIN)"]`.
pub fn asked(config: &ServiceConfig) -> Vec<String> {
    let mut out = docker_only(
        config.privileged,
        config.host_pid_namespace,
        config.bind_mounts.keys(),
    );
    if !config.devices.is_empty() {
        out.push(format!("devices ({})", config.devices.join(", ")));
    }
    let caps: Vec<&str> = config
        .capabilities
        .iter()
        .map(String::as_str)
        .filter(|c| !is_baseline(c))
        .collect();
    if !caps.is_empty() {
        out.push(format!(
            "capabilities beyond the unprivileged set ({})",
            caps.join(", ")
        ));
    }
    out
}

/// The privileges that only exist on Docker (Kubernetes has no equivalent).
pub fn docker_only<'a>(
    privileged: bool,
    host_pid: bool,
    bind_mounts: impl Iterator<Item = &'a String>,
) -> Vec<String> {
    let mut out = Vec::new();
    if privileged {
        out.push("privileged mode".to_owned());
    }
    if host_pid {
        out.push("the host PID namespace".to_owned());
    }
    let mounts: Vec<&str> = bind_mounts.map(String::as_str).collect();
    if !mounts.is_empty() {
        out.push(format!("bind mounts ({})", mounts.join(", ")));
    }
    out
}

/// `a`, `a and b`, `a, b and c`.
pub fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baseline_capabilities_in_any_spelling() {
        for c in ["CHOWN", "chown", "CAP_CHOWN", " cap_net_bind_service "] {
            assert!(is_baseline(c), "{c}");
        }
        for c in [
            "SYS_ADMIN",
            "sys_rawio",
            "CAP_SYS_ADMIN",
            "NET_ADMIN",
            "ALL",
            "NET_RAW",
        ] {
            assert!(!is_baseline(c), "{c}");
        }
        assert_eq!(list(&["a".into(), "b".into(), "c".into()]), "a, b and c");
    }
}
