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
//! terminal.
//!
//! Colour is decided here, per stream, and nowhere else: [`set_color`] takes
//! `--color auto|always|never`; `auto` colours a stream only when it is a terminal,
//! never when `NO_COLOR` is set to anything but the empty string (no-color.org), and
//! always when `CLICOLOR_FORCE` is (that decision is anstream's, the one clap and cargo
//! use: `NO_COLOR` wins over `CLICOLOR_FORCE`, and `--color always|never` wins over
//! both). Printers ask for a [`Palette`] for the stream they write to and style through
//! it; a palette that is off adds nothing, so piped output is byte-for-byte the plain
//! text. Text from a package or an engine is never stripped or rewritten here.

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
/// On a coloured stderr, a leading `error:` or `warning:` is styled as cargo styles it.
pub fn write(stream: Stream, args: fmt::Arguments) {
    if stream == Stream::Err && color(Stream::Err) {
        let text = args.to_string();
        for (label, style) in [("error:", style::ERROR), ("warning:", style::WARNING)] {
            if let Some(rest) = text.strip_prefix(label) {
                let painted = Palette::of_choice(true).paint(style, label);
                return emit(stream, |w| write!(w, "{painted}{rest}"));
            }
        }
        return emit(stream, |w| w.write_all(text.as_bytes()));
    }
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

/// Sets the colour choice of `--color` for every stream (before anything is printed).
pub fn set_color(choice: clap::ColorChoice) {
    match choice {
        clap::ColorChoice::Auto => anstream::ColorChoice::Auto,
        clap::ColorChoice::Always => anstream::ColorChoice::Always,
        clap::ColorChoice::Never => anstream::ColorChoice::Never,
    }
    .write_global();
}

/// Whether text written to `stream` is coloured (see the module doc).
#[allow(
    clippy::disallowed_methods,
    reason = "asks about the real streams, writes nothing"
)]
pub fn color(stream: Stream) -> bool {
    let choice = match stream {
        Stream::Out => anstream::AutoStream::choice(&std::io::stdout()),
        Stream::Err => anstream::AutoStream::choice(&std::io::stderr()),
    };
    choice != anstream::ColorChoice::Never
}

/// Styles text for one stream, or leaves it as it is when that stream is not coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Palette {
    on: bool,
}

impl Palette {
    /// No styling, whatever the streams are (for text kept or compared, not shown).
    pub const PLAIN: Palette = Palette { on: false };

    /// The palette for text written to `stream`.
    pub fn of(stream: Stream) -> Palette {
        Palette { on: color(stream) }
    }

    /// A palette that styles when `on` (for tests and forced choices).
    pub fn of_choice(on: bool) -> Palette {
        Palette { on }
    }

    /// Whether this palette styles at all.
    pub fn is_on(self) -> bool {
        self.on
    }

    /// `text` in `style`, or `text` alone when the palette is off.
    pub fn paint<T: fmt::Display>(self, style: anstyle::Style, text: T) -> Painted<T> {
        Painted {
            style: if self.on {
                style
            } else {
                anstyle::Style::new()
            },
            text,
        }
    }
}

/// The styles kplan uses, named for what they mean (Terraform's and cargo's colours).
pub mod style {
    use anstyle::{AnsiColor, Style};

    /// Something made: `+ create`.
    pub const ADD: Style = AnsiColor::Green.on_default();
    /// Something changed in place: `~ update`.
    pub const CHANGE: Style = AnsiColor::Yellow.on_default();
    /// Something removed: `- destroy`.
    pub const REMOVE: Style = AnsiColor::Red.on_default();
    /// Something run: `> task`.
    pub const RUN: Style = AnsiColor::Cyan.on_default();
    /// A heading or a name to find at a glance.
    pub const EMPHASIS: Style = Style::new().bold();
    /// Secondary detail (timestamps, reasons).
    pub const DIM: Style = Style::new().dimmed();
    /// `error:` (as cargo prints it).
    pub const ERROR: Style = AnsiColor::BrightRed.on_default().bold();
    /// `warning:` (as cargo prints it).
    pub const WARNING: Style = AnsiColor::BrightYellow.on_default().bold();
}

/// Text with its style; `Display` writes the escapes only around non-empty styles.
pub struct Painted<T> {
    style: anstyle::Style,
    text: T,
}

impl<T: fmt::Display> fmt::Display for Painted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.style;
        write!(f, "{s}{}{s:#}", self.text)
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
