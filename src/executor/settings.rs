//! What `docker update` can change on a live container, so a change made by hand is
//! seen and repaired: CPU (`--cpus`, `--cpu-shares`, `--cpu-period`, `--cpu-quota`,
//! `--cpuset-cpus`, `--cpuset-mems`), memory (`--memory`, `--memory-swap`,
//! `--memory-reservation`), `--pids-limit`, `--blkio-weight` and `--restart`.
//!
//! kplan owns all of them: what the package declares (`max_cpu`, `max_memory`,
//! `min_memory`) and, for the rest, the engine's "not set" (no limit, restart policy
//! `no`). [`compare`] lists every difference between that and what the engine reports,
//! and whether it can be repaired in place: Docker's update treats a zero as "leave
//! unchanged", so a limit set by hand where the package declares none cannot be removed
//! in place and the container is replaced instead. The pids limit (`-1` = unlimited)
//! and the restart policy (`no`) can always be reset in place.

use serde::{Deserialize, Serialize};

/// The values of a container's updatable settings (0 or empty = not set).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// 1e-9 CPUs.
    pub nano_cpus: i64,
    /// Bytes.
    pub memory: i64,
    /// Bytes of memory plus swap; -1 = unlimited swap.
    pub memory_swap: i64,
    /// Bytes.
    pub memory_reservation: i64,
    pub cpu_shares: i64,
    pub cpu_period: i64,
    pub cpu_quota: i64,
    pub cpuset_cpus: String,
    pub cpuset_mems: String,
    /// 0 = unlimited (the engine's null, 0 and -1 all mean that).
    pub pids_limit: i64,
    pub blkio_weight: u16,
    /// `no` when not set (the engine's empty name means the same).
    pub restart_policy: String,
}

impl Settings {
    /// What kplan sets on a container it creates: the declared limits, nothing else.
    pub fn declared(nano_cpus: i64, memory: i64, memory_reservation: i64) -> Settings {
        Settings {
            nano_cpus,
            memory,
            // Swap is left unlimited when memory is limited, as `docker run -m` with
            // `--memory-swap -1`.
            memory_swap: if memory > 0 { -1 } else { 0 },
            memory_reservation,
            restart_policy: "no".into(),
            ..Settings::default()
        }
    }

    /// Normalizes what the engine reports (null/-1 pids limit, empty restart policy).
    pub fn normalized(mut self) -> Settings {
        if self.pids_limit < 0 {
            self.pids_limit = 0;
        }
        if self.restart_policy.is_empty() {
            self.restart_policy = "no".into();
        }
        self
    }
}

/// One setting that differs from what kplan declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    /// For the plan: `memory limit is 64M (set by hand), the package declares 128M`.
    pub reason: String,
    /// Whether `docker update` can set the declared value.
    pub in_place: bool,
}

/// The fields to send to `docker update` (None = leave unchanged).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Update {
    pub nano_cpus: Option<i64>,
    pub memory: Option<i64>,
    pub memory_swap: Option<i64>,
    pub memory_reservation: Option<i64>,
    pub pids_limit: Option<i64>,
    pub restart_policy: Option<String>,
}

fn mib(bytes: i64) -> String {
    match bytes {
        0 => "none".into(),
        -1 => "unlimited".into(),
        b if b % (1024 * 1024) == 0 => format!("{}M", b / (1024 * 1024)),
        b => format!("{b} bytes"),
    }
}

fn cpus(nano: i64) -> String {
    if nano == 0 {
        "none".into()
    } else {
        format!("{}m", nano / 1_000_000)
    }
}

fn text(s: &str) -> String {
    if s.is_empty() {
        "none".into()
    } else {
        s.to_string()
    }
}

/// Every difference between the declared settings and the live ones.
pub fn compare(want: &Settings, live: &Settings) -> Vec<Drift> {
    let live = live.clone().normalized();
    let mut out = Vec::new();
    let mut diff = |name: &str, have: String, want_s: String, in_place: bool| {
        let fix = if in_place {
            String::new()
        } else {
            "; Docker cannot remove it in place".into()
        };
        out.push(Drift {
            reason: format!("{name} is {have} on the engine, the package declares {want_s}{fix}"),
            in_place,
        });
    };
    if live.nano_cpus != want.nano_cpus {
        diff(
            "CPU limit",
            cpus(live.nano_cpus),
            cpus(want.nano_cpus),
            want.nano_cpus > 0,
        );
    }
    if live.memory != want.memory {
        diff(
            "memory limit",
            mib(live.memory),
            mib(want.memory),
            want.memory > 0,
        );
    }
    // Swap follows memory; only worth its own line when memory itself is right.
    if live.memory_swap != want.memory_swap && live.memory == want.memory {
        diff(
            "memory+swap limit",
            mib(live.memory_swap),
            mib(want.memory_swap),
            want.memory_swap != 0,
        );
    }
    if live.memory_reservation != want.memory_reservation {
        diff(
            "memory reservation",
            mib(live.memory_reservation),
            mib(want.memory_reservation),
            want.memory_reservation > 0,
        );
    }
    let never_set = [
        ("CPU shares", live.cpu_shares, want.cpu_shares),
        ("CPU period", live.cpu_period, want.cpu_period),
        ("CPU quota", live.cpu_quota, want.cpu_quota),
        (
            "blkio weight",
            i64::from(live.blkio_weight),
            i64::from(want.blkio_weight),
        ),
    ];
    let num = |n: i64| if n == 0 { "none".into() } else { n.to_string() };
    for (name, have, w) in never_set {
        if have != w {
            diff(name, num(have), num(w), w != 0);
        }
    }
    if live.cpuset_cpus != want.cpuset_cpus {
        diff(
            "cpuset-cpus",
            text(&live.cpuset_cpus),
            text(&want.cpuset_cpus),
            false,
        );
    }
    if live.cpuset_mems != want.cpuset_mems {
        diff(
            "cpuset-mems",
            text(&live.cpuset_mems),
            text(&want.cpuset_mems),
            false,
        );
    }
    if live.pids_limit != want.pids_limit {
        let show = |n: i64| {
            if n == 0 {
                "unlimited".into()
            } else {
                n.to_string()
            }
        };
        diff(
            "pids limit",
            show(live.pids_limit),
            show(want.pids_limit),
            true,
        );
    }
    if live.restart_policy != want.restart_policy {
        diff(
            "restart policy",
            live.restart_policy,
            want.restart_policy.clone(),
            true,
        );
    }
    out
}

/// The `docker update` that sets the declared values where the live ones differ (call
/// only when every difference can be repaired in place).
pub fn update(want: &Settings, live: &Settings) -> Update {
    let live = live.clone().normalized();
    let mut u = Update::default();
    if live.nano_cpus != want.nano_cpus {
        u.nano_cpus = Some(want.nano_cpus);
    }
    if live.memory != want.memory || live.memory_swap != want.memory_swap {
        u.memory = Some(want.memory);
        u.memory_swap = Some(want.memory_swap);
    }
    if live.memory_reservation != want.memory_reservation {
        u.memory_reservation = Some(want.memory_reservation);
    }
    if live.pids_limit != want.pids_limit {
        u.pids_limit = Some(if want.pids_limit == 0 {
            -1
        } else {
            want.pids_limit
        });
    }
    if live.restart_policy != want.restart_policy {
        u.restart_policy = Some(want.restart_policy.clone());
    }
    u
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_defaults_match_nothing_declared() {
        let live = Settings {
            pids_limit: -1,
            restart_policy: String::new(),
            ..Settings::default()
        };
        assert!(compare(&Settings::declared(0, 0, 0), &live).is_empty());
    }

    #[test]
    fn a_raised_limit_is_repaired_in_place_a_new_one_needs_a_replacement() {
        let want = Settings::declared(500_000_000, 128 << 20, 0);
        let mut live = want.clone();
        live.memory = 64 << 20;
        let d = compare(&want, &live);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].in_place);
        assert_eq!(
            d[0].reason,
            "memory limit is 64M on the engine, the package declares 128M"
        );
        assert_eq!(
            update(&want, &live),
            Update {
                memory: Some(128 << 20),
                memory_swap: Some(-1),
                ..Update::default()
            }
        );

        let want = Settings::declared(0, 0, 0);
        let mut live = want.clone();
        live.memory = 64 << 20;
        live.memory_swap = 128 << 20;
        live.cpu_shares = 512;
        live.restart_policy = "always".into();
        live.pids_limit = 10;
        let d = compare(&want, &live);
        let reasons: Vec<(&str, bool)> =
            d.iter().map(|x| (x.reason.as_str(), x.in_place)).collect();
        assert_eq!(
            reasons,
            vec![
                ("memory limit is 64M on the engine, the package declares none; Docker cannot remove it in place", false),
                ("CPU shares is 512 on the engine, the package declares none; Docker cannot remove it in place", false),
                ("pids limit is 10 on the engine, the package declares unlimited", true),
                ("restart policy is always on the engine, the package declares no", true),
            ]
        );
    }
}
