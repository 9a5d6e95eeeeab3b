//! The console: everything kplan prints goes through here, to stdout (results: plans,
//! manifests, status tables, `plan.print` messages) or stderr (diagnostics, progress,
//! summaries). It owns what happens when a stream cannot be written.
//!
//! A reader that goes away (`kplan compile ... | head -2`) never makes kplan panic and
//! never stops work half-way: the first failed write marks the stream as lost, later
//! writes to it are dropped, and the command runs to its end (an `apply` or `destroy`
//! whose output reader left still finishes changing Docker). The exit code is then
//! decided by [`exit_code`]: a command that failed keeps its own code (1, or 2 for
//! `--check`/`--detailed-exitcode`); a command that succeeded exits 141 when output was
//! lost to a closed pipe — the status a shell reports for a program killed by SIGPIPE,
//! as `yes | head` gives — and 1, after saying why on stderr, for any other write error
//! (a full disk).
//!
//! Writes are whole: each call writes its text under the stream's lock and flushes, so
//! lines from parallel steps never interleave and stdout and stderr stay in order on a
//! terminal. Styling (colour with `--color`/`NO_COLOR`) belongs here too: [`write`]
//! and [`is_terminal`] are the one place that knows which stream goes where.

use std::fmt;
use std::io::{ErrorKind, IsTerminal, Write};
use std::sync::Mutex;

/// Exit status when output was lost to a closed pipe: 128 + SIGPIPE (13).
pub const EXIT_BROKEN_PIPE: i32 = 141;

/// One of the two output streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Out,
    Err,
}

/// The first write error of each stream (`[stdout, stderr]`); later writes are dropped.
static LOST: Mutex<[Option<ErrorKind>; 2]> = Mutex::new([None, None]);

fn index(stream: Stream) -> usize {
    match stream {
        Stream::Out => 0,
        Stream::Err => 1,
    }
}

fn lost(stream: Stream) -> Option<ErrorKind> {
    LOST.lock().unwrap_or_else(|p| p.into_inner())[index(stream)]
}

/// Records a failed write (also one made outside this module, e.g. clap's help).
pub fn record(stream: Stream, e: &std::io::Error) {
    let mut lost = LOST.lock().unwrap_or_else(|p| p.into_inner());
    lost[index(stream)].get_or_insert(e.kind());
}

/// Writes `args` whole to `stream` and flushes; a stream that failed before is skipped.
pub fn write(stream: Stream, args: fmt::Arguments) {
    emit(stream, |w| w.write_fmt(args));
}

/// Writes bytes (a generated file, which need not be UTF-8) whole to `stream`.
pub fn write_bytes(stream: Stream, bytes: &[u8]) {
    emit(stream, |w| w.write_all(bytes));
}

#[allow(
    clippy::disallowed_methods,
    reason = "the one place that writes to the real streams"
)]
fn emit(stream: Stream, f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) {
    if lost(stream).is_some() {
        return;
    }
    let result = match stream {
        Stream::Out => {
            let mut o = std::io::stdout().lock();
            f(&mut o).and_then(|()| o.flush())
        }
        Stream::Err => {
            let mut e = std::io::stderr().lock();
            f(&mut e).and_then(|()| e.flush())
        }
    };
    if let Err(e) = result {
        record(stream, &e);
    }
}

/// Whether `stream` is a terminal (for live progress and prompts).
#[allow(
    clippy::disallowed_methods,
    reason = "asks the real streams whether they are terminals"
)]
pub fn is_terminal(stream: Stream) -> bool {
    match stream {
        Stream::Out => std::io::stdout().is_terminal(),
        Stream::Err => std::io::stderr().is_terminal(),
    }
}

/// The process exit code for a command that returned `code`, given what was lost.
pub fn exit_code(code: i32) -> i32 {
    if code != 0 {
        return code;
    }
    match (lost(Stream::Out), lost(Stream::Err)) {
        (None, None) => 0,
        (Some(ErrorKind::BrokenPipe), _) | (_, Some(ErrorKind::BrokenPipe)) => EXIT_BROKEN_PIPE,
        (Some(kind), _) => {
            write(
                Stream::Err,
                format_args!("error: writing to standard output failed: {kind}\n"),
            );
            1
        }
        (None, Some(_)) => 1,
    }
}

/// `print!` to stdout through the console.
macro_rules! out {
    ($($arg:tt)*) => { $crate::console::write($crate::console::Stream::Out, format_args!($($arg)*)) };
}

/// `println!` to stdout through the console.
macro_rules! outln {
    () => { $crate::console::write($crate::console::Stream::Out, format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::console::write($crate::console::Stream::Out, format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprint!` to stderr through the console.
macro_rules! err {
    ($($arg:tt)*) => { $crate::console::write($crate::console::Stream::Err, format_args!($($arg)*)) };
}

/// `eprintln!` to stderr through the console.
macro_rules! errln {
    () => { $crate::console::write($crate::console::Stream::Err, format_args!("\n")) };
    ($($arg:tt)*) => {
        $crate::console::write($crate::console::Stream::Err, format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {err, errln, out, outln};
