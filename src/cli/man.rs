//! `kplan man [-o DIR]`: kplan's manual pages, generated at run time by `clap_mangen`
//! from the same clap definitions that parse kplan's arguments. Without `-o`, kplan(1)
//! is printed on stdout (`kplan man | man -l -`); with `-o DIR`, kplan.1 and one page
//! per subcommand (kplan-compile.1, ...) are written there, all first to temporary files
//! and then renamed into place, so a failure leaves no half-written page.
//!
//! The pages are clap_mangen's sections in its order, plus what a man page has and a
//! `--help` does not: EXIT STATUS (kplan's exit-code contract) on kplan(1), SEE ALSO on
//! every page, and a command's `after_long_help` set as written (no-fill) under NOTES,
//! instead of clap_mangen's EXTRA, which would run its lines together. No date: the
//! pages depend only on the binary, so they are byte-stable.

use crate::console::{self, errln, Stream};
use clap::Args;
use clap_mangen::roff::{bold, roman, Roff};
use clap_mangen::Man;
use std::fs;
use std::path::{Path, PathBuf};

const SECTION: &str = "1";
const MANUAL: &str = "kplan Manual";

/// kplan's exit codes, as design.md's CLI contract states them.
const EXIT_STATUS: [(&str, &str); 3] = [
    ("0", "Success, and nothing to change."),
    ("1", "An error: the package, its arguments, the engine or the files could not be used; the message says which and how to fix it."),
    ("2", "Changes found: compile --check when the files in -o DIR are stale (a unified diff is printed on stdout); plan and apply with --detailed-exitcode when there were changes."),
];

#[derive(Debug, Args)]
#[command(after_long_help = "\
Read the page without installing it:   kplan man | man -l -
Install every page for your user:      kplan man -o ~/.local/share/man/man1
                                       (man finds it there when ~/.local/bin is on PATH)
then:                                  man kplan-compile")]
pub struct ManArgs {
    /// Write kplan.1 and one page per subcommand (kplan-compile.1, ...) into DIR instead of printing kplan(1).
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Every page, keyed by its file name: `kplan.1` first, then each subcommand's
/// (`kplan-images.1`, `kplan-images-inspect.1`, ...) in their order in `--help`.
fn pages() -> Vec<(String, Vec<u8>)> {
    let mut root = super::command().disable_help_subcommand(true);
    root.build();
    let mut pages = Vec::new();
    add_pages(&root, None, &mut pages);
    pages
}

fn add_pages(
    cmd: &clap::Command,
    parent: Option<&clap::Command>,
    pages: &mut Vec<(String, Vec<u8>)>,
) {
    pages.push(page(cmd, parent));
    for sub in visible_subcommands(cmd) {
        add_pages(sub, Some(cmd), pages);
    }
}

fn visible_subcommands(cmd: &clap::Command) -> impl Iterator<Item = &clap::Command> {
    cmd.get_subcommands().filter(|s| !s.is_hide_set())
}

/// A page's name as man knows it: `kplan-compile(1)`.
fn page_name(cmd: &clap::Command) -> String {
    let name = cmd.get_display_name().unwrap_or_else(|| cmd.get_name());
    format!("{name}({SECTION})")
}

/// One page: (file name, roff). `parent` is `None` for kplan(1).
#[expect(clippy::expect_used, reason = "rendering into a Vec cannot fail")]
fn page(cmd: &clap::Command, parent: Option<&clap::Command>) -> (String, Vec<u8>) {
    let man = Man::new(cmd.clone()).section(SECTION);
    let mut out = Vec::new();
    render(&man, cmd, parent, &mut out).expect("rendering into memory cannot fail");
    (man.get_filename(), out)
}

/// The `.TH` line. clap_mangen's own leaves an empty date out instead of quoting it,
/// which shifts the source and manual into the date's and source's places.
fn title(cmd: &clap::Command) -> Roff {
    let name = cmd.get_display_name().unwrap_or_else(|| cmd.get_name());
    let source = format!("kplan {}", env!("CARGO_PKG_VERSION"));
    let mut roff = Roff::new();
    roff.control("TH", [name, SECTION, "\"\"", &source, MANUAL]);
    roff
}

fn render(
    man: &Man,
    cmd: &clap::Command,
    parent: Option<&clap::Command>,
    w: &mut Vec<u8>,
) -> std::io::Result<()> {
    title(cmd).to_writer(w)?;
    man.render_name_section(w)?;
    man.render_synopsis_section(w)?;
    man.render_description_section(w)?;
    // Writes nothing when the command has no visible argument.
    man.render_options_section(w)?;
    if visible_subcommands(cmd).next().is_some() {
        man.render_subcommands_section(w)?;
    }
    let mut roff = Roff::new();
    if let Some(notes) = cmd.get_after_long_help().or_else(|| cmd.get_after_help()) {
        roff.control("SH", ["NOTES"]).control("nf", []);
        for line in notes.to_string().lines() {
            roff.text([roman(line)]);
        }
        roff.control("fi", []);
    }
    if parent.is_none() {
        roff.control("SH", ["EXIT STATUS"]);
        for (code, meaning) in EXIT_STATUS {
            roff.control("TP", [])
                .text([bold(code)])
                .text([roman(meaning)]);
        }
    }
    roff.control("SH", ["SEE ALSO"]);
    roff.text([roman(see_also(cmd, parent))]);
    roff.to_writer(w)?;
    if cmd.get_version().is_some() {
        man.render_version_section(w)?;
    }
    Ok(())
}

/// The pages of the command's parent and of its subcommands.
fn see_also(cmd: &clap::Command, parent: Option<&clap::Command>) -> String {
    parent
        .into_iter()
        .chain(visible_subcommands(cmd))
        .map(page_name)
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn run(args: &ManArgs) -> i32 {
    let pages = pages();
    let Some(dir) = &args.out else {
        console::write_bytes(Stream::Out, &pages[0].1);
        return 0;
    };
    match write_set(dir, &pages) {
        Ok(()) => {
            errln!(
                "wrote {} man page(s) to {} (read one with: man -l {})",
                pages.len(),
                dir.display(),
                dir.join(&pages[0].0).display()
            );
            0
        }
        Err(e) => {
            errln!(
                "error: {e}; the pages in {} were left as they were",
                dir.display()
            );
            1
        }
    }
}

/// Writes every page to a temporary file in `dir`, then renames them all into place. A
/// failed write replaces no page; every rename is atomic, so each page on disk is whole.
fn write_set(dir: &Path, pages: &[(String, Vec<u8>)]) -> Result<(), String> {
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let remove_staged = |staged: &[(PathBuf, PathBuf)]| {
        for (tmp, _) in staged {
            let _ = fs::remove_file(tmp);
        }
    };
    for (name, bytes) in pages {
        let tmp = dir.join(format!(".{name}.kplan-tmp-{}", std::process::id()));
        if let Err(e) = fs::write(&tmp, bytes) {
            let _ = fs::remove_file(&tmp);
            remove_staged(&staged);
            return Err(format!("cannot write {}: {e}", tmp.display()));
        }
        staged.push((tmp, dir.join(name)));
    }
    for (tmp, path) in &staged {
        if let Err(e) = fs::rename(tmp, path) {
            remove_staged(&staged);
            return Err(format!("cannot move {} into place: {e}", path.display()));
        }
    }
    Ok(())
}
