//! Progress of an apply, on stderr: one timestamped line per event (a service being
//! created, ready, a task running, done), and `print` messages on stdout. Lines are
//! written whole under a lock, so parallel steps never interleave within a line.

use std::io::Write;
use std::sync::Mutex;
use std::time::Instant;

/// Where progress goes.
pub struct Progress {
    start: Instant,
    quiet: bool,
    out: Mutex<()>,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        Progress {
            start: Instant::now(),
            quiet,
            out: Mutex::new(()),
        }
    }

    /// One event line, prefixed with the seconds since the apply started.
    pub fn line(&self, msg: &str) {
        if self.quiet {
            return;
        }
        let _g = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let mut e = std::io::stderr().lock();
        let _ = writeln!(e, "[{:6.1}s] {msg}", self.start.elapsed().as_secs_f64());
    }

    /// A `plan.print` message.
    pub fn print(&self, msg: &str) {
        let _g = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let mut o = std::io::stdout().lock();
        let _ = writeln!(o, "{msg}");
        let _ = o.flush();
    }
}
