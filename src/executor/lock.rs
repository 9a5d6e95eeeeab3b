//! The enclave lock, held on the engine itself so that two kplans applying (or
//! destroying) one enclave never run at once, whatever machine or state directory
//! they use.
//!
//! The lock is a Docker volume named `kplan-lock.ENCLAVE` (enclave names hold no dot,
//! so it never collides with an enclave's own volumes `ENCLAVE--KEY`), labelled with
//! its holder: user, host, pid, operation, state directory, time, and a random token.
//! Taking it is creating the volume: the engine creates volumes of one name one at a
//! time and returns the existing one unchanged, so exactly one creator finds its own
//! token on it. Releasing it removes the volume (only while it still carries the
//! holder's token). It is released when the holder finishes, fails, is refused or
//! cancelled, and on SIGINT/SIGTERM/SIGHUP (a handler removes it and exits). A holder
//! that waits between operations (`apply --watch`) takes those signals itself while it
//! waits ([`divert_signals`]) and releases the lock as it stops.
//!
//! Stale locks: a holder killed with SIGKILL (or a crash) leaves the volume. When the
//! holder ran on this machine (same boot and pid namespace) kplan checks whether that
//! process still runs (pid and start time); if not, the lock is stale and the next
//! apply removes it, saying so. A holder on another machine cannot be checked, so its
//! lock stays until `kplan unlock --enclave NAME --force` removes it, as Terraform's
//! `force-unlock`. The local flock in the state directory ([`super::state`]) is taken
//! as well.

use super::engine::Engine;
use super::state::{self, EnclaveState};
use anyhow::{anyhow, Result};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, Once};

const LABEL_LOCK: &str = "kplan.lock";
const LABEL_USER: &str = "kplan.lock.user";
const LABEL_HOST: &str = "kplan.lock.host";
const LABEL_PID: &str = "kplan.lock.pid";
const LABEL_PID_START: &str = "kplan.lock.pid-start";
const LABEL_MACHINE: &str = "kplan.lock.machine";
const LABEL_OPERATION: &str = "kplan.lock.operation";
const LABEL_STATE_DIR: &str = "kplan.lock.state-dir";
const LABEL_SINCE: &str = "kplan.lock.since";
const LABEL_TOKEN: &str = "kplan.lock.token";

/// The lock volume of an enclave.
pub fn volume_name(enclave: &str) -> String {
    format!("kplan-lock.{enclave}")
}

/// Who holds a lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub user: String,
    pub host: String,
    pub pid: u32,
    /// The process's start time (clock ticks since boot), to tell a reused pid apart.
    pub pid_start: String,
    /// Boot id and pid namespace: pids are only comparable when these match.
    pub machine: String,
    /// `apply` or `destroy`.
    pub operation: String,
    pub state_dir: String,
    /// Unix seconds.
    pub since: i64,
    pub token: String,
}

/// Whether a lock's holder still runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Liveness {
    Running,
    /// It does not (why).
    Gone(String),
    /// It ran on another machine (or pid namespace): kplan cannot tell.
    Unknown,
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// The start time of process `pid` (field 22 of /proc/PID/stat), if it runs.
fn process_start(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19).map(str::to_string)
}

fn this_machine() -> String {
    let boot = read_trimmed("/proc/sys/kernel/random/boot_id");
    let pidns = std::fs::read_link("/proc/self/ns/pid")
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    if boot.is_empty() || pidns.is_empty() {
        String::new()
    } else {
        format!("{boot}/{pidns}")
    }
}

#[allow(unsafe_code, reason = "libc FFI: std has no gethostname")]
fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into a buffer we own.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr() as *mut libc::c_char, buf.len()) };
    if rc != 0 {
        return "unknown-host".into();
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// The user's name: `$USER`, else the password database's name for the uid, else
/// `uid N`.
#[allow(unsafe_code, reason = "libc FFI: std has no getuid/getpwuid_r")]
fn username() -> String {
    if let Some(u) = std::env::var("USER").ok().filter(|u| !u.is_empty()) {
        return u;
    }
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: a zeroed passwd is a valid value to be overwritten.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer refers to memory we own, sized as passed; on success
    // `result` points to `pwd`, whose strings live in `buf`.
    let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc == 0 && !result.is_null() && !pwd.pw_name.is_null() {
        // SAFETY: pw_name is a NUL-terminated string inside `buf`.
        let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
        if let Ok(n) = name.to_str() {
            return n.to_string();
        }
    }
    format!("uid {uid}")
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Holder {
    /// This process, about to run `operation` with state in `state_dir`.
    pub fn me(operation: &str, state_dir: &std::path::Path) -> Holder {
        let pid = std::process::id();
        let since = now();
        Holder {
            user: username(),
            host: hostname(),
            pid,
            pid_start: process_start(pid).unwrap_or_default(),
            machine: this_machine(),
            operation: operation.to_string(),
            state_dir: state_dir.display().to_string(),
            since,
            token: super::upstream::new_run_id(&format!("lock:{pid}:{since}")),
        }
    }

    fn labels(&self, enclave: &str) -> BTreeMap<String, String> {
        [
            (LABEL_LOCK, enclave.to_string()),
            (LABEL_USER, self.user.clone()),
            (LABEL_HOST, self.host.clone()),
            (LABEL_PID, self.pid.to_string()),
            (LABEL_PID_START, self.pid_start.clone()),
            (LABEL_MACHINE, self.machine.clone()),
            (LABEL_OPERATION, self.operation.clone()),
            (LABEL_STATE_DIR, self.state_dir.clone()),
            (LABEL_SINCE, self.since.to_string()),
            (LABEL_TOKEN, self.token.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// The holder a lock volume names (fields it lacks are empty).
    fn from_labels(labels: &BTreeMap<String, String>) -> Holder {
        let l = |k: &str| labels.get(k).cloned().unwrap_or_default();
        Holder {
            user: l(LABEL_USER),
            host: l(LABEL_HOST),
            pid: l(LABEL_PID).parse().unwrap_or(0),
            pid_start: l(LABEL_PID_START),
            machine: l(LABEL_MACHINE),
            operation: l(LABEL_OPERATION),
            state_dir: l(LABEL_STATE_DIR),
            since: l(LABEL_SINCE).parse().unwrap_or(0),
            token: l(LABEL_TOKEN),
        }
    }

    /// `root@build-1 (pid 4242, kplan apply, state dir /x) since 2025-01-02T03:04:05Z
    /// (5 minutes ago)`.
    pub fn describe(&self) -> String {
        let when = chrono::DateTime::from_timestamp(self.since, 0)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_else(|| "an unknown time".into());
        let age = (now() - self.since).max(0);
        let ago = match age {
            0..=119 => format!("{age} seconds ago"),
            120..=7199 => format!("{} minutes ago", age / 60),
            _ => format!("{} hours ago", age / 3600),
        };
        format!(
            "{}@{} (pid {}, kplan {}, state dir {}) since {when} ({ago})",
            self.user, self.host, self.pid, self.operation, self.state_dir
        )
    }

    /// Whether the holder still runs (see the module doc for the rule).
    pub fn liveness(&self) -> Liveness {
        if self.machine.is_empty() || self.machine != this_machine() {
            return Liveness::Unknown;
        }
        match process_start(self.pid) {
            None => Liveness::Gone(format!("pid {} no longer runs", self.pid)),
            Some(start) if start != self.pid_start => Liveness::Gone(format!(
                "pid {} no longer runs (another process has that pid now)",
                self.pid
            )),
            Some(_) => Liveness::Running,
        }
    }
}

/// The lock is held by someone else.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", held_message(.enclave, .holder, .liveness))]
pub struct Held {
    pub enclave: String,
    pub holder: Holder,
    pub liveness: Liveness,
}

fn held_message(enclave: &str, holder: &Holder, liveness: &Liveness) -> String {
    let head = format!("enclave \"{enclave}\" is locked by {}", holder.describe());
    match liveness {
        Liveness::Running => format!(
            "{head}; wait for it to finish or stop it (Ctrl-C releases the lock); nothing was changed"
        ),
        Liveness::Unknown => format!(
            "{head}; it ran on another machine, so kplan cannot tell whether it still runs; nothing was changed. If it no longer runs, remove the lock with `kplan unlock --enclave {enclave} --force`"
        ),
        Liveness::Gone(why) => format!(
            "{head}; {why}; remove the lock with `kplan unlock --enclave {enclave}`"
        ),
    }
}

/// Locks held by this process, released by the signal handler.
struct Registered {
    engine: Engine,
    volume: String,
    token: String,
    /// The local lock file, once taken.
    lock_file: Option<PathBuf>,
}

static HELD: Mutex<Vec<Registered>> = Mutex::new(Vec::new());

fn held_locks() -> std::sync::MutexGuard<'static, Vec<Registered>> {
    HELD.lock().unwrap_or_else(|p| p.into_inner())
}

/// Removes the lock volume when it still carries `token`.
fn release(engine: &Engine, volume: &str, token: &str) -> Result<()> {
    match engine.volume_inspect(volume)? {
        Some(v) if v.labels.get(LABEL_TOKEN).map(String::as_str) == Some(token) => {
            engine.volume_remove(volume)
        }
        _ => Ok(()),
    }
}

/// Where signals go instead of ending the process, while a [`Diverted`] lives.
type Divert = Box<dyn Fn(i32) + Send>;
static DIVERT: Mutex<Option<Divert>> = Mutex::new(None);

fn divert() -> std::sync::MutexGuard<'static, Option<Divert>> {
    DIVERT.lock().unwrap_or_else(|p| p.into_inner())
}

/// While this lives, SIGINT, SIGTERM and SIGHUP are handed to the function given to
/// [`divert_signals`] instead of releasing the locks and ending the process.
pub struct Diverted(());

impl Drop for Diverted {
    fn drop(&mut self) {
        *divert() = None;
    }
}

/// Hands SIGINT, SIGTERM and SIGHUP to `to` (with the signal's number) until the
/// returned guard is dropped; then a signal again releases the locks and exits. For a
/// holder that waits between operations (`apply --watch`) and stops cleanly itself when
/// a signal arrives while it waits, but not while it changes the enclave.
pub fn divert_signals(to: impl Fn(i32) + Send + 'static) -> Diverted {
    install_signal_handler();
    *divert() = Some(Box::new(to));
    Diverted(())
}

/// On SIGINT, SIGTERM or SIGHUP: release every lock this process holds, say so, and
/// exit as the signal would (128 + its number); or, while diverted, hand it on.
/// Installed once, when a lock is taken or signals are diverted.
fn install_signal_handler() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
        else {
            return;
        };
        std::thread::spawn(move || {
            for sig in signals.forever() {
                if let Some(to) = divert().as_ref() {
                    to(sig);
                    continue;
                }
                let held = held_locks();
                for r in held.iter() {
                    let _ = release(&r.engine, &r.volume, &r.token);
                    if let Some(f) = &r.lock_file {
                        let _ = std::fs::remove_file(f);
                    }
                }
                if !held.is_empty() {
                    crate::console::errln!(
                        "\ninterrupted: stopped and released the enclave lock; what finished is kept, apply again to finish"
                    );
                }
                std::process::exit(128 + sig);
            }
        });
    });
}

/// The enclave lock (on the engine, and the local one); released when dropped.
pub struct EnclaveLock {
    engine: Engine,
    volume: String,
    token: String,
    /// A stale lock that was removed to take this one: its holder and why it was stale.
    pub broke_stale: Option<(Holder, String)>,
    /// The local lock; `None` only while dropping.
    local: Option<state::Lock>,
}

impl Drop for EnclaveLock {
    fn drop(&mut self) {
        // The registry stays locked until both locks are gone, so a signal arriving
        // meanwhile waits for this and finds nothing left to release (were the entry
        // dropped first, the signal's exit could leave the local lock file behind).
        let mut held = held_locks();
        let _ = release(&self.engine, &self.volume, &self.token);
        drop(self.local.take());
        held.retain(|r| r.token != self.token);
    }
}

/// Takes the lock of `enclave` for `operation`, or fails at once naming its holder
/// (a [`Held`] error). A stale lock (see the module doc) is removed first.
pub fn acquire(
    engine: &Engine,
    state: &EnclaveState,
    enclave: &str,
    operation: &str,
) -> Result<EnclaveLock> {
    install_signal_handler();
    let volume = volume_name(enclave);
    let me = Holder::me(operation, state.dir.parent().unwrap_or(&state.dir));
    let labels = me.labels(enclave);
    let mut broke_stale = None;
    for _ in 0..3 {
        // Registered before it exists, so a signal between creating and registering
        // still removes it.
        held_locks().push(Registered {
            engine: engine.clone(),
            volume: volume.clone(),
            token: me.token.clone(),
            lock_file: None,
        });
        let found = engine.volume_create(&volume, &labels);
        let found = match found {
            Ok(v) => v,
            Err(e) => {
                held_locks().retain(|r| r.token != me.token);
                return Err(e.context(format!("cannot take the lock of enclave \"{enclave}\"")));
            }
        };
        if found.labels.get(LABEL_TOKEN) == Some(&me.token) {
            // Ours: now the local one (same state directory used on two engines),
            // taken and registered under one hold of the registry, so a signal never
            // sees the file existing but unregistered.
            let local = {
                let mut held = held_locks();
                let local = state.lock();
                if let Ok(l) = &local {
                    for r in held.iter_mut().filter(|r| r.token == me.token) {
                        r.lock_file = Some(l.path().to_path_buf());
                    }
                }
                local
            };
            let local = match local {
                Ok(l) => l,
                Err(e) => {
                    // Released before it leaves the registry, for the same reason.
                    let _ = release(engine, &volume, &me.token);
                    held_locks().retain(|r| r.token != me.token);
                    return Err(e);
                }
            };
            return Ok(EnclaveLock {
                engine: engine.clone(),
                volume,
                token: me.token,
                broke_stale,
                local: Some(local),
            });
        }
        held_locks().retain(|r| r.token != me.token);
        let holder = Holder::from_labels(&found.labels);
        match holder.liveness() {
            Liveness::Gone(why) => {
                release(engine, &volume, &holder.token)?;
                broke_stale = Some((holder, why));
            }
            liveness @ (Liveness::Running | Liveness::Unknown) => {
                return Err(anyhow::Error::new(Held {
                    enclave: enclave.to_string(),
                    holder,
                    liveness,
                }))
            }
        }
    }
    Err(anyhow!(
        "cannot take the lock of enclave \"{enclave}\": other kplans keep taking it; try again"
    ))
}

/// Who holds the lock of `enclave`, if anyone (for `plan` and `status`, which do not
/// take it).
pub fn holder(engine: &Engine, enclave: &str) -> Result<Option<Holder>> {
    Ok(engine
        .volume_inspect(&volume_name(enclave))?
        .map(|v| Holder::from_labels(&v.labels)))
}

/// What [`unlock`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unlocked {
    NotLocked,
    /// The lock was removed: its holder and how it stood.
    Removed(Box<Holder>, Liveness),
}

/// Removes the lock of `enclave`: when its holder no longer runs, or with `force`
/// whatever its holder. Otherwise fails (a [`Held`] error) naming the holder.
pub fn unlock(engine: &Engine, enclave: &str, force: bool) -> Result<Unlocked> {
    let Some(holder) = holder(engine, enclave)? else {
        return Ok(Unlocked::NotLocked);
    };
    let liveness = holder.liveness();
    let removable = force || matches!(liveness, Liveness::Gone(_));
    if !removable {
        return Err(anyhow::Error::new(Held {
            enclave: enclave.to_string(),
            holder,
            liveness,
        }));
    }
    engine.volume_remove(&volume_name(enclave))?;
    Ok(Unlocked::Removed(Box::new(holder), liveness))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_and_this_process_runs() {
        let me = Holder::me("apply", std::path::Path::new("/tmp/state"));
        let back = Holder::from_labels(&me.labels("e"));
        assert_eq!(back, me);
        assert_eq!(me.liveness(), Liveness::Running);
        assert!(me.describe().contains(&format!(
            "(pid {}, kplan apply, state dir /tmp/state)",
            me.pid
        )));
    }

    #[test]
    fn a_dead_or_reused_pid_is_gone_another_machine_is_unknown() {
        let me = Holder::me("apply", std::path::Path::new("/tmp/state"));
        let mut child = std::process::Command::new("true").spawn().expect("spawn");
        let pid = child.id();
        child.wait().expect("wait");
        let dead = Holder { pid, ..me.clone() };
        assert!(
            matches!(dead.liveness(), Liveness::Gone(_)),
            "{:?}",
            dead.liveness()
        );
        let reused = Holder {
            pid_start: "1".into(),
            ..me.clone()
        };
        assert!(matches!(reused.liveness(), Liveness::Gone(_)));
        let elsewhere = Holder {
            machine: "another-boot/pid:[1]".into(),
            ..me
        };
        assert_eq!(elsewhere.liveness(), Liveness::Unknown);
    }
}
