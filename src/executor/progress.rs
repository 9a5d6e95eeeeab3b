//! Progress of an apply, on stderr: one timestamped line per event (a service being
//! created, ready, a task running, done), and `print` messages on stdout (quiet, for
//! `--output json`: no progress, and the messages kept for the document). On a
//! terminal a live footer line under the events shows what is in flight and for how
//! long; elsewhere only the plain lines are written. Output is written whole under a
//! lock, so parallel steps never interleave within a line.

use crate::console::{self, err, errln, outln, Stream};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

/// Where progress goes.
pub struct Progress {
    start: Instant,
    quiet: bool,
    live: bool,
    /// What is in flight, since when.
    running: Mutex<BTreeMap<String, Instant>>,
    /// The `print` messages, when quiet.
    messages: Mutex<Vec<String>>,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        Progress {
            start: Instant::now(),
            quiet,
            live: !quiet && console::is_terminal(Stream::Err),
            running: Mutex::new(BTreeMap::new()),
            messages: Mutex::new(Vec::new()),
        }
    }

    /// The `print` messages kept when quiet, in order.
    pub fn messages(&self) -> Vec<String> {
        self.messages
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn with_footer(&self, write: impl FnOnce()) {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if self.live {
            err!("\r\x1b[K");
        }
        write();
        if self.live && !running.is_empty() {
            let items: Vec<String> = running
                .iter()
                .map(|(k, t)| format!("{k} {:.0}s", t.elapsed().as_secs_f64()))
                .collect();
            let mut footer = format!("… {} in progress: {}", items.len(), items.join(", "));
            if footer.chars().count() > 150 {
                footer = footer.chars().take(147).collect::<String>() + "...";
            }
            err!("{footer}");
        }
    }

    /// One event line, prefixed with the seconds since the apply started.
    pub fn line(&self, msg: &str) {
        if self.quiet {
            return;
        }
        self.with_footer(|| {
            errln!("[{:6.1}s] {msg}", self.start.elapsed().as_secs_f64());
        });
    }

    /// Marks `what` as in flight (shown in the live footer).
    pub fn begin(&self, what: &str) {
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(what.to_string(), Instant::now());
    }

    /// Marks `what` as finished.
    pub fn end(&self, what: &str) {
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(what);
    }

    /// Clears the live footer.
    pub fn finish(&self) {
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        if self.live {
            err!("\r\x1b[K");
        }
    }

    /// A `plan.print` message: on stdout, or kept when quiet.
    pub fn print(&self, msg: &str) {
        if self.quiet {
            self.messages
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(msg.to_owned());
            return;
        }
        self.with_footer(|| {
            outln!("{msg}");
        });
    }
}
