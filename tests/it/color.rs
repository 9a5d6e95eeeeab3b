//! Colour: `--color always` styles diagnostics and the plan; `--color never` and
//! `NO_COLOR` win over `CLICOLOR_FORCE`; output that goes to a pipe (as here) is plain
//! by default and byte-for-byte what `--color never` prints.

use crate::support::{busybox_image, kplan_bin, repo_root, require_docker, unique_name};
use std::process::{Command, Output};

const ESC: char = '\x1b';

/// Runs kplan with `env` set and the colour variables of the test's own environment
/// removed, so only what the test says counts.
fn kplan(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(kplan_bin());
    cmd.current_dir(repo_root())
        .env("KPLAN_PACKAGE_CACHE", repo_root().join("fixtures/cache"))
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run kplan")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const INVALID: &str = "fixtures/invalid/validation-errors.star";

#[test]
fn diagnostics_are_coloured_only_when_asked() {
    let always = kplan(&["--color", "always", "validate", INVALID], &[]);
    let err = text(&always.stderr);
    assert_eq!(always.status.code(), Some(1), "{err}");
    // The severity and code in bold bright red, as rustc prints them.
    assert!(err.contains("\x1b[1m\x1b[91merror[KP101]"), "{err:?}");
    // The count line's `error:` too.
    assert!(err.contains("\x1b[1m\x1b[91merror:\x1b[0m"), "{err:?}");

    // Piped, with nothing set: plain, and the same bytes as --color never.
    let piped = kplan(&["validate", INVALID], &[]);
    assert!(
        !text(&piped.stderr).contains(ESC),
        "{}",
        text(&piped.stderr)
    );
    let never = kplan(&["--color", "never", "validate", INVALID], &[]);
    assert_eq!(piped.stderr, never.stderr);
    // Without the escapes, always says exactly what plain says.
    let stripped = anstream::adapter::strip_str(&err).to_string();
    assert_eq!(stripped, text(&piped.stderr));

    // CLICOLOR_FORCE colours a pipe; NO_COLOR (any non-empty value) and --color never
    // win over it; an empty NO_COLOR is no NO_COLOR.
    let forced = kplan(&["validate", INVALID], &[("CLICOLOR_FORCE", "1")]);
    assert!(text(&forced.stderr).contains(ESC));
    for (args, env) in [
        (
            &["validate", INVALID][..],
            &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")][..],
        ),
        (
            &["--color", "never", "validate", INVALID][..],
            &[("CLICOLOR_FORCE", "1")][..],
        ),
    ] {
        let o = kplan(args, env);
        assert_eq!(o.stderr, piped.stderr, "{args:?} {env:?}");
    }
    let empty = kplan(
        &["validate", INVALID],
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "")],
    );
    assert!(text(&empty.stderr).contains(ESC));
    // An explicit --color always is the user's word over NO_COLOR (no-color.org).
    let over = kplan(
        &["validate", INVALID, "--color", "always"],
        &[("NO_COLOR", "1")],
    );
    assert!(text(&over.stderr).contains(ESC));
}

#[test]
fn generated_files_and_json_are_never_coloured() {
    for args in [
        &["compile", "fixtures/valid/web-db", "--target", "compose"][..],
        &["validate", INVALID, "--output", "json"][..],
    ] {
        let plain = kplan(args, &[]);
        let always = kplan(&[&["--color", "always"][..], args].concat(), &[]);
        assert_eq!(always.stdout, plain.stdout, "{args:?}");
        assert!(!text(&always.stdout).contains(ESC), "{args:?}");
    }
}

#[test]
fn plan_is_coloured_as_terraform_colours_it() {
    if !require_docker() {
        return;
    }
    busybox_image();
    let enclave = unique_name("kp-color");
    let state = tempfile::tempdir().expect("state dir");
    let state = state.path().to_string_lossy().into_owned();
    let args = [
        "plan",
        "fixtures/valid/web-db",
        "--enclave",
        &enclave,
        "--state-dir",
        &state,
    ];
    let always = kplan(&[&["--color", "always"][..], &args[..]].concat(), &[]);
    let out = text(&always.stdout);
    assert!(always.status.success(), "{}", text(&always.stderr));
    // Adds green, task runs cyan, the summary bold.
    assert!(
        out.contains("  \x1b[32m+\x1b[0m service \"db\" will be created"),
        "{out:?}"
    );
    assert!(out.contains("\x1b[36m>\x1b[0m exec on 'web'"), "{out:?}");
    assert!(out.contains("\x1b[1mPlan:\x1b[0m 2 to add"), "{out:?}");
    // The legend shows replace as red minus, green plus; destroy red.
    assert!(
        out.contains("\x1b[31m-\x1b[0m/\x1b[32m+\x1b[0m replace, \x1b[31m-\x1b[0m destroy"),
        "{out:?}"
    );

    let piped = kplan(&args, &[]);
    let plain = text(&piped.stdout);
    assert!(!plain.contains(ESC), "{plain}");
    assert!(
        plain.contains("  + service \"db\" will be created"),
        "{plain}"
    );
    assert_eq!(anstream::adapter::strip_str(&out).to_string(), plain);
    let no_color = kplan(&args, &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]);
    assert_eq!(no_color.stdout, piped.stdout);
}

#[test]
fn clap_help_and_usage_errors_follow_the_color_flag() {
    let help = kplan(&["--color", "always", "compile", "--help"], &[]);
    assert!(text(&help.stdout).contains(ESC), "{:?}", text(&help.stdout));
    let usage = kplan(&["compile", "--no-such-flag", "--color=always"], &[]);
    assert_eq!(usage.status.code(), Some(1));
    assert!(
        text(&usage.stderr).contains(ESC),
        "{:?}",
        text(&usage.stderr)
    );
    for args in [
        &["--color", "never", "compile", "--help"][..],
        &["compile", "--help"][..],
    ] {
        let out = kplan(args, &[]);
        assert!(!text(&out.stdout).contains(ESC), "{args:?}");
    }
    let no_color = kplan(
        &["compile", "--help"],
        &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")],
    );
    assert!(!text(&no_color.stdout).contains(ESC));
}
