//! `kplan completions SHELL` as users install it: every script names every subcommand
//! and flag of kplan's clap definitions, and the real shells accept it. bash, fish and
//! elvish also complete with it (subcommands, each subcommand's flags, `--target`'s
//! values), bash, zsh and fish from the paths `kplan completions --help` and README.md
//! give. PowerShell is not in Debian's archive: its script is checked by content only.

use crate::support;

use regex::Regex;
use std::path::Path;
use std::process::{Command, Stdio};

const SHELLS: [&str; 5] = ["bash", "zsh", "fish", "powershell", "elvish"];

/// kplan's clap definitions, built as clap_complete builds them (with `help`).
fn cli() -> clap::Command {
    let mut cmd = kplan::cli::command();
    cmd.build();
    cmd
}

/// Every (sub)command below the root with the words that name it (`["images",
/// "inspect"]`), depth first; clap's own `help` and what is below it are left out.
fn commands(cmd: &clap::Command, path: &[String]) -> Vec<(Vec<String>, clap::Command)> {
    let mut out = Vec::new();
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let mut words = path.to_vec();
        words.push(sub.get_name().to_owned());
        out.push((words.clone(), sub.clone()));
        out.extend(commands(sub, &words));
    }
    out
}

/// The long (`--x`) and short (`-x`) flags of a (sub)command.
fn flags(cmd: &clap::Command) -> Vec<String> {
    let mut out = Vec::new();
    for arg in cmd
        .get_arguments()
        .filter(|a| !a.is_positional() && !a.is_hide_set())
    {
        out.extend(arg.get_long().map(|l| format!("--{l}")));
        out.extend(arg.get_short().map(|s| format!("-{s}")));
    }
    out
}

fn script(shell: &str) -> String {
    let o = support::run_kplan(&["completions", shell]);
    assert!(
        o.status.success(),
        "kplan completions {shell}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("the script is UTF-8")
}

/// `flag` as a whole token of the script, in the shell's own spelling (fish:
/// `-l target`, `-s o`; the others: `--target`, `-o`).
fn mentions_flag(shell: &str, script: &str, flag: &str) -> bool {
    let spelled = match (shell, flag.strip_prefix("--")) {
        ("fish", Some(long)) => format!("-l {long}"),
        ("fish", None) => format!("-s {}", &flag[1..]),
        _ => flag.to_owned(),
    };
    let re = format!(r"(^|[^\w-]){}([^\w-]|$)", regex::escape(&spelled));
    Regex::new(&re).expect("regex").is_match(script)
}

fn mentions_word(script: &str, word: &str) -> bool {
    let re = format!(r"(^|[^\w-]){}([^\w-]|$)", regex::escape(word));
    Regex::new(&re).expect("regex").is_match(script)
}

#[test]
fn every_script_names_every_subcommand_and_flag() {
    let cli = cli();
    let all = commands(&cli, &[]);
    for shell in SHELLS {
        let script = script(shell);
        for (words, _) in &all {
            let name = words.last().expect("a name");
            assert!(
                mentions_word(&script, name),
                "the {shell} script does not name the subcommand {}",
                words.join(" ")
            );
        }
        let root = (Vec::new(), cli.clone());
        for (words, cmd) in std::iter::once(&root).chain(&all) {
            for flag in flags(cmd) {
                assert!(
                    mentions_flag(shell, &script, &flag),
                    "the {shell} script does not name {flag} of `kplan {}`",
                    words.join(" ")
                );
            }
        }
    }
}

#[test]
fn an_unknown_shell_is_refused_with_the_known_ones() {
    let o = support::run_kplan(&["completions", "tcsh"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    for shell in SHELLS {
        assert!(err.contains(shell), "{err}");
    }
}

/// clap_complete panics when its writer fails; kplan prints the script through its
/// console, which ends a command whose reader has gone with 141 (as SIGPIPE would).
#[test]
fn a_closed_stdout_ends_kplan_quietly() {
    let o = support::run_kplan_closed_stdout(&["completions", "bash"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.is_empty(), "{err}");
    // 0 when the whole script fitted into the pipe before the reader closed it.
    assert!(matches!(o.status.code(), Some(0 | 141)), "{:?}", o.status);
}

/// Runs `program args...` with `home` as HOME and the test build's kplan on PATH
/// (fish loads completions only for commands it finds), nothing else from the user.
fn run_in_home(program: &Path, args: &[&str], home: &Path) -> String {
    let bin_dir = support::kplan_bin()
        .parent()
        .expect("kplan's directory")
        .to_path_buf();
    let path = std::env::join_paths([bin_dir.as_path(), Path::new("/usr/bin"), Path::new("/bin")])
        .expect("PATH");
    let o = Command::new(program)
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("PATH", path)
        .env("LC_ALL", "C.UTF-8")
        .current_dir(home)
        .stdin(Stdio::null())
        .output()
        .expect("run the shell");
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "{} {args:?} failed:\n{out}{}",
        program.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

/// Writes `script` to `home/rel`.
fn install(home: &Path, rel: &str, script: &str) {
    let path = home.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, script).expect("write the script");
}

/// Splits `== NAME` headed sections of a shell's output into (NAME, lines).
fn sections(out: &str) -> Vec<(String, Vec<String>)> {
    let mut secs: Vec<(String, Vec<String>)> = Vec::new();
    for line in out.lines() {
        if let Some(name) = line.strip_prefix("== ") {
            secs.push((name.to_owned(), Vec::new()));
        } else if let Some((_, lines)) = secs.last_mut() {
            // fish prints `candidate<TAB>description`.
            let word = line.split('\t').next().unwrap_or("").trim();
            if !word.is_empty() {
                lines.push(word.to_owned());
            }
        }
    }
    secs
}

/// What every shell that completes must offer: (section, what the line completes, the
/// candidates). `kplan ` offers every subcommand (and `kplan images ` those of `images`);
/// `kplan SUB -` every flag of SUB; `kplan compile --target ` the targets.
fn expectations() -> Vec<(String, Vec<String>, Vec<String>)> {
    let cli = cli();
    let root = (Vec::new(), cli.clone());
    let all = commands(&cli, &[]);
    let mut exp = Vec::new();
    for (words, cmd) in std::iter::once(&root).chain(&all) {
        let line = |last: &str| -> Vec<String> {
            let mut line = vec!["kplan".to_owned()];
            line.extend(words.iter().cloned());
            line.push(last.to_owned());
            line
        };
        let name = if words.is_empty() {
            "kplan".to_owned()
        } else {
            words.join("-")
        };
        let subs: Vec<String> = cmd
            .get_subcommands()
            .map(|s| s.get_name().to_owned())
            .collect();
        if !subs.is_empty() {
            exp.push((format!("{name} subcommands"), line(""), subs));
        }
        if !words.is_empty() {
            exp.push((format!("{name} flags"), line("-"), flags(cmd)));
        }
    }
    exp.push((
        "target-values".to_owned(),
        ["kplan", "compile", "--target", ""]
            .map(String::from)
            .to_vec(),
        vec!["plan".to_owned(), "compose".to_owned()],
    ));
    exp
}

/// Checks a shell's `== NAME` sections against `exp` (from [`expectations`]).
fn check_offers(shell: &str, out: &str, exp: &[(String, Vec<String>, Vec<String>)]) {
    let got = sections(out);
    for (name, line, want) in exp {
        let offered = &got
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{shell}: no output for {line:?}:\n{out}"))
            .1;
        for w in want {
            assert!(
                offered.contains(w),
                "{shell} does not offer {w} for {line:?}; it offers {offered:?}"
            );
        }
    }
}

fn quote_words(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("'{w}'"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn bash_accepts_the_script_and_completes_from_the_user_completions_directory() {
    let Some(bash) = support::debian_tool("bash") else {
        return;
    };
    let loader = Path::new("/usr/share/bash-completion/bash_completion");
    if !support::debian_file(loader) {
        return;
    }
    let home = tempfile::tempdir().expect("tempdir");
    let script = script("bash");
    install(
        home.path(),
        ".local/share/bash-completion/completions/kplan",
        &script,
    );
    let file = home
        .path()
        .join(".local/share/bash-completion/completions/kplan");
    let file = file.to_str().expect("UTF-8 path");
    run_in_home(&bash, &["-n", file], home.path());

    // bash-completion loads the script on demand, as at the first <Tab> after `kplan`.
    let mut prog = format!(
        "source {}\n__load_completion kplan || exit 3\ncomplete -p kplan\n",
        loader.display()
    );
    for (name, words, _) in expectations() {
        prog.push_str(&format!(
            "COMP_WORDS=({w}); COMP_CWORD={c}; COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}\n\
             COMPREPLY=(); _kplan kplan \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
             echo '== {name}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
            w = quote_words(&words),
            c = words.len() - 1,
        ));
    }
    let out = run_in_home(&bash, &["--norc", "--noprofile", "-c", &prog], home.path());
    assert!(out.starts_with("complete "), "{out}");
    check_offers("bash", &out, &expectations());
}

#[test]
fn zsh_accepts_the_script_and_compinit_registers_it_from_fpath() {
    let Some(zsh) = support::debian_tool("zsh") else {
        return;
    };
    let home = tempfile::tempdir().expect("tempdir");
    install(home.path(), ".zfunc/_kplan", &script("zsh"));
    run_in_home(&zsh, &["-n", ".zfunc/_kplan"], home.path());
    // As ~/.zshrc does it: the directory on fpath before compinit.
    let out = run_in_home(
        &zsh,
        &[
            "-f",
            "-c",
            "fpath=(~/.zfunc $fpath); autoload -Uz compinit; compinit -u -D; print -r -- ${_comps[kplan]}",
        ],
        home.path(),
    );
    assert_eq!(out.trim(), "_kplan", "compinit did not register _kplan");
}

#[test]
fn fish_accepts_the_script_and_completes_from_its_completions_directory() {
    let Some(fish) = support::debian_tool("fish") else {
        return;
    };
    let home = tempfile::tempdir().expect("tempdir");
    install(
        home.path(),
        ".config/fish/completions/kplan.fish",
        &script("fish"),
    );
    run_in_home(
        &fish,
        &["-n", ".config/fish/completions/kplan.fish"],
        home.path(),
    );
    // fish autoloads ~/.config/fish/completions/kplan.fish at the first completion.
    let mut prog = String::new();
    for (name, words, _) in expectations() {
        prog.push_str(&format!(
            "echo '== {name}'; complete -C '{}'\n",
            words.join(" ")
        ));
    }
    let out = run_in_home(&fish, &["-c", &prog], home.path());
    check_offers("fish", &out, &expectations());
}

#[test]
fn elvish_compiles_and_runs_the_script() {
    let Some(elvish) = support::debian_tool("elvish") else {
        return;
    };
    let home = tempfile::tempdir().expect("tempdir");
    install(home.path(), "kplan.elv", &script("elvish"));
    // `edit:` (where the script registers its completer) exists only in an interactive
    // elvish: a stand-in namespace holds the completer map and `complex-candidate`.
    // clap's elvish script completes subcommands and flags, not values.
    let exp: Vec<_> = expectations()
        .into_iter()
        .filter(|(name, _, _)| name != "target-values")
        .collect();
    let mut prog = String::from(
        "var edit: = (ns [&'completion:'=(ns [&arg-completer=[&]]) &'complex-candidate~'={|c &display=''| put $c}])\n\
         eval (slurp < kplan.elv) &ns=(ns [&'edit:'=$edit:])\n",
    );
    for (name, words, _) in &exp {
        prog.push_str(&format!(
            "echo '== {name}'; $edit:completion:arg-completer[kplan] {} | to-lines\n",
            quote_words(words)
        ));
    }
    std::fs::write(home.path().join("test.elv"), prog).expect("write the test program");
    let out = run_in_home(&elvish, &["-norc", "test.elv"], home.path());
    check_offers("elvish", &out, &exp);
}
