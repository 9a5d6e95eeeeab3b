//! `kplan man`: the pages render with the real groff and man without a warning, list
//! every subcommand and flag, are byte-stable, and are found where `kplan man --help`
//! says to install them.

use crate::support;

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// kplan's clap definitions as the pages see them (built, without `help`).
fn cli() -> clap::Command {
    let mut cmd = kplan::cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// Every (sub)command below `cmd` with its parent, depth first.
fn below(cmd: &clap::Command) -> Vec<(clap::Command, clap::Command)> {
    let mut out = Vec::new();
    for sub in cmd.get_subcommands() {
        out.push((cmd.clone(), sub.clone()));
        out.extend(below(sub));
    }
    out
}

/// A command's page name: `kplan-images-inspect`.
fn name(cmd: &clap::Command) -> String {
    cmd.get_display_name().unwrap_or(cmd.get_name()).to_owned()
}

/// `kplan man -o DIR` into a new directory.
fn write_pages() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = support::run_kplan(&["man", "-o", dir.path().to_str().expect("UTF-8 path")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    dir
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read the directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Renders a page with `man -l` as plain ASCII text, wide enough not to break lines.
fn man_text(man: &Path, page: &Path) -> String {
    let o = Command::new(man)
        .arg("-l")
        .arg(page)
        .env("MANWIDTH", "200")
        .env("LC_ALL", "C")
        .env("MAN_KEEP_FORMATTING", "0")
        .stdin(Stdio::null())
        .output()
        .expect("run man");
    assert!(
        o.status.success() && o.stderr.is_empty(),
        "man -l {}: {}",
        page.display(),
        stderr(&o)
    );
    // Overstrike bold (`c\bc`) to plain text.
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let mut plain = String::new();
    for c in text.chars() {
        if c == '\u{8}' {
            plain.pop();
        } else {
            plain.push(c);
        }
    }
    plain
}

#[test]
fn one_page_per_subcommand_and_stdout_is_kplan_1() {
    let dir = write_pages();
    let mut want: Vec<String> = below(&cli())
        .iter()
        .map(|(_, sub)| format!("{}.1", name(sub)))
        .collect();
    want.push("kplan.1".to_owned());
    want.sort();
    assert_eq!(file_names(dir.path()), want, "no temporary file may remain");

    let o = support::run_kplan(&["man"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let page = std::fs::read(dir.path().join("kplan.1")).expect("read kplan.1");
    assert_eq!(o.stdout, page, "`kplan man` prints kplan.1");
    assert_eq!(support::run_kplan(&["man"]).stdout, page, "byte-stable");
}

#[test]
fn groff_renders_every_page_without_a_warning() {
    let Some(groff) = support::debian_tool("groff") else {
        return;
    };
    let dir = write_pages();
    for name in file_names(dir.path()) {
        let o = Command::new(&groff)
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(dir.path().join(&name))
            .stdin(Stdio::null())
            .output()
            .expect("run groff");
        assert!(
            o.status.success() && o.stderr.is_empty(),
            "groff warns about {name}:\n{}",
            stderr(&o)
        );
    }
}

#[test]
fn man_shows_every_subcommand_and_flag() {
    let Some(man) = support::debian_tool("man") else {
        return;
    };
    let dir = write_pages();
    let cli = cli();
    let root = man_text(&man, &dir.path().join("kplan.1"));
    for heading in ["NAME", "SYNOPSIS", "SUBCOMMANDS", "EXIT STATUS", "SEE ALSO"] {
        assert!(
            root.contains(&format!("\n{heading}\n")),
            "{heading}:\n{root}"
        );
    }
    // The .TH fields where man puts them: the manual's name in the header, the source
    // (kplan and its version) at the left of the footer.
    let header = root.lines().next().unwrap_or("");
    let footer = root.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
    assert!(header.contains("kplan Manual"), "header: {header}");
    let source = format!("kplan {}", env!("CARGO_PKG_VERSION"));
    assert!(footer.trim_start().starts_with(&source), "footer: {footer}");
    // Each page lists its subcommands' pages with their help texts; each subcommand's
    // page has its name and help text, and shows every argument.
    for (parent, sub) in below(&cli) {
        let parent_page = man_text(&man, &dir.path().join(format!("{}.1", name(&parent))));
        let page_name = name(&sub);
        let about = sub.get_about().expect("about").to_string();
        assert!(
            parent_page.contains(&format!("{page_name}(1)")) && parent_page.contains(&about),
            "{}(1) does not list {page_name}(1) with its help text:\n{parent_page}",
            name(&parent)
        );
        let page = man_text(&man, &dir.path().join(format!("{page_name}.1")));
        assert!(
            page.contains(&format!("{page_name} - {about}")),
            "NAME of {page_name}:\n{page}"
        );
        for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
            let shown = match (arg.get_long(), arg.get_value_names()) {
                (Some(long), _) => format!("--{long}"),
                (None, names) => {
                    let value = names.map_or_else(
                        || arg.get_id().as_str().to_uppercase(),
                        |names| names[0].to_string(),
                    );
                    // A positional argument: <CODE> when it is required, [CODE] when not.
                    if arg.is_required_set() {
                        format!("<{value}>")
                    } else {
                        format!("[{value}]")
                    }
                }
            };
            assert!(
                page.contains(&shown),
                "{page_name}(1) does not show {shown}:\n{page}"
            );
        }
    }
}

#[test]
fn man_finds_the_pages_where_the_help_says_to_install_them() {
    let Some(man) = support::debian_tool("man") else {
        return;
    };
    let home = tempfile::tempdir().expect("tempdir");
    let pages = home.path().join(".local/share/man/man1");
    let bin = home.path().join(".local/bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    let o = support::run_kplan(&["man", "-o", pages.to_str().expect("UTF-8 path")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let help = String::from_utf8_lossy(&support::run_kplan(&["man", "--help"]).stdout).into_owned();
    assert!(
        help.contains("kplan man -o ~/.local/share/man/man1"),
        "{help}"
    );

    // man-db derives its search path from PATH: ~/.local/bin -> ~/.local/share/man.
    let path = std::env::join_paths([bin.as_path(), Path::new("/usr/bin"), Path::new("/bin")])
        .expect("PATH");
    let o = Command::new(&man)
        .args(["-w", "kplan-compile"])
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", path)
        .stdin(Stdio::null())
        .output()
        .expect("run man");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        pages.join("kplan-compile.1").to_str().expect("UTF-8 path"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_closed_stdout_ends_kplan_quietly() {
    let o = support::run_kplan_closed_stdout(&["man"]);
    assert!(o.stderr.is_empty(), "{}", stderr(&o));
    // 0 when the whole page fitted into the pipe before the reader closed it.
    assert!(matches!(o.status.code(), Some(0 | 141)), "{:?}", o.status);
}

#[test]
fn an_unwritable_out_dir_fails_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").expect("write");
    let o = support::run_kplan(&["man", "-o", file.to_str().expect("UTF-8 path")]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.starts_with("error: cannot create") && !err.contains("panicked"),
        "{err}"
    );
    assert_eq!(file_names(dir.path()), ["not-a-dir"]);
}
