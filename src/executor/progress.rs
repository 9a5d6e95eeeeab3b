//! Progress of an apply, on stderr: one timestamped line per event (a service being
//! created, ready, a task running, done), and `print` messages on stdout (quiet, for
//! `--output json`: no progress, and the messages kept for the document).
//!
//! On a terminal, an indicatif spinner under the event lines shows what is in flight
//! and for how long (`⠙ 2 in progress: db 3s, web 1s`); it exists only while something
//! is in flight and is cleared before each event line is written, so the lines above it
//! are the same as anywhere else. Elsewhere (a pipe, a file, CI logs) no spinner is
//! made: only the plain lines, with no escape codes. The timestamps are dimmed when
//! stderr is coloured (see [`crate::console`]). Every line goes through the console,
//! written whole, so parallel steps never interleave within a line.

use crate::console::{self, errln, outln, style, Palette, Stream};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What is in flight, since when.
type Running = Arc<Mutex<BTreeMap<String, Instant>>>;

/// The in-flight summary is cut to this many characters (then `...`).
const FOOTER_CHARS: usize = 150;

/// Where progress goes.
pub struct Progress {
    start: Instant,
    quiet: bool,
    /// Whether stderr is a terminal that gets the live spinner.
    live: bool,
    palette: Palette,
    running: Running,
    /// The spinner, while something is in flight on a live terminal. Its lock is taken
    /// before any call into indicatif and never by the spinner's own drawing, which
    /// takes only `running`; `running` is never held across a call into indicatif.
    spinner: Mutex<Option<ProgressBar>>,
    /// The `print` messages, when quiet.
    messages: Mutex<Vec<String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        Progress {
            start: Instant::now(),
            quiet,
            live: !quiet && console::is_terminal(Stream::Err),
            palette: Palette::of(Stream::Err),
            running: Arc::default(),
            spinner: Mutex::new(None),
            messages: Mutex::new(Vec::new()),
        }
    }

    /// The `print` messages kept when quiet, in order.
    pub fn messages(&self) -> Vec<String> {
        lock(&self.messages).clone()
    }

    /// Runs `write` with the spinner (if any) cleared, redrawing it after.
    fn above_spinner(&self, write: impl FnOnce()) {
        let spinner = lock(&self.spinner);
        match spinner.as_ref() {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }

    /// One event line, prefixed with the seconds since the apply started.
    pub fn line(&self, msg: &str) {
        if self.quiet {
            return;
        }
        let at = format!("[{:6.1}s]", self.start.elapsed().as_secs_f64());
        let at = self.palette.paint(style::DIM, at);
        self.above_spinner(|| errln!("{at} {msg}"));
    }

    /// Marks `what` as in flight (shown by the spinner).
    pub fn begin(&self, what: &str) {
        if !self.live {
            return;
        }
        let mut spinner = lock(&self.spinner);
        lock(&self.running).insert(what.to_string(), Instant::now());
        if spinner.is_none() {
            *spinner = Some(self.new_spinner());
        }
    }

    /// Marks `what` as finished; the spinner goes when nothing is left in flight.
    pub fn end(&self, what: &str) {
        let mut spinner = lock(&self.spinner);
        let empty = {
            let mut running = lock(&self.running);
            running.remove(what);
            running.is_empty()
        };
        if empty {
            if let Some(bar) = spinner.take() {
                bar.finish_and_clear();
            }
        }
    }

    /// Clears the spinner.
    pub fn finish(&self) {
        let mut spinner = lock(&self.spinner);
        lock(&self.running).clear();
        if let Some(bar) = spinner.take() {
            bar.finish_and_clear();
        }
    }

    /// A `plan.print` message: on stdout, or kept when quiet.
    pub fn print(&self, msg: &str) {
        if self.quiet {
            lock(&self.messages).push(msg.to_owned());
            return;
        }
        self.above_spinner(|| outln!("{msg}"));
    }

    /// A spinner on stderr whose text is what is in flight, redrawn ten times a second.
    fn new_spinner(&self) -> ProgressBar {
        let running = Arc::clone(&self.running);
        let palette = self.palette;
        let in_flight = move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
            let text = footer(&lock(&running));
            let _ = write!(w, "{}", palette.paint(style::DIM, text));
        };
        #[expect(
            clippy::expect_used,
            reason = "a constant template, parsed the same on every run; a test renders it"
        )]
        let style = ProgressStyle::with_template("{spinner} {in_flight}")
            .expect("the template is valid")
            .with_key("in_flight", in_flight);
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(100));
        bar
    }
}

/// `2 in progress: db 3s, web 1s`, cut to [`FOOTER_CHARS`].
fn footer(running: &BTreeMap<String, Instant>) -> String {
    let items: Vec<String> = running
        .iter()
        .map(|(k, t)| format!("{k} {:.0}s", t.elapsed().as_secs_f64()))
        .collect();
    let text = format!("{} in progress: {}", items.len(), items.join(", "));
    if text.chars().count() > FOOTER_CHARS {
        text.chars().take(FOOTER_CHARS - 3).collect::<String>() + "..."
    } else {
        text
    }
}
