//! The command line as `--help` shows it, checked against clap's definition: every
//! flag of every command is described, the top-level description names only the
//! targets `compile --target` accepts, and the README's flag table says exactly which
//! command takes which flag.

use std::collections::{BTreeMap, BTreeSet};

/// Every command, nested ones too (named e.g. `images inspect`), without clap's
/// `help`; built so generated flags are included.
fn commands() -> Vec<(String, clap::Command)> {
    fn walk(cmd: &clap::Command, prefix: &str, out: &mut Vec<(String, clap::Command)>) {
        for sub in cmd.get_subcommands().filter(|c| c.get_name() != "help") {
            let name = format!("{prefix}{}", sub.get_name());
            walk(sub, &format!("{name} "), out);
            out.push((name, sub.clone()));
        }
    }
    let mut cli = kplan::cli::command();
    cli.build();
    let mut out = Vec::new();
    walk(&cli, "", &mut out);
    out
}

#[test]
fn every_flag_of_every_command_has_a_help_text() {
    let mut missing = Vec::new();
    for (name, cmd) in commands() {
        if cmd.get_about().is_none() {
            missing.push(format!("kplan {name}: no description"));
        }
        for arg in cmd.get_arguments() {
            if arg.get_help().is_none() && arg.get_long_help().is_none() {
                missing.push(format!("kplan {name} {}", arg.get_id()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "without help text:\n{}",
        missing.join("\n")
    );
}

#[test]
fn top_level_help_names_only_targets_that_exist() {
    let cli = kplan::cli::command();
    let about = cli
        .get_about()
        .map(|a| a.to_string().to_lowercase())
        .unwrap_or_default();
    let (_, compile) = commands()
        .into_iter()
        .find(|(name, _)| name == "compile")
        .expect("compile command");
    let accepted: BTreeSet<String> = compile
        .get_arguments()
        .find(|a| a.get_id() == "target")
        .expect("--target")
        .get_possible_values()
        .iter()
        .map(|v| v.get_name().to_owned())
        .collect();
    for target in &accepted {
        assert!(about.contains(target.as_str()), "{about:?} omits {target}");
    }
    for planned in ["helm", "terraform", "kubernetes"] {
        assert!(
            !about.contains(planned) || accepted.contains(planned),
            "the help promises {planned}, which --target does not accept: {about:?}"
        );
    }
}

/// `--flag` names in backticks, e.g. "`--args` (JSON), `-o`/`--out`" -> [args, out].
fn flags_in(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .flat_map(|quoted| quoted.split('/'))
        .filter_map(|f| f.strip_prefix("--"))
        .map(str::to_owned)
        .collect()
}

/// Command names outside backticks, separated by commas, e.g. "compile (`--target
/// plan`), images inspect, status" -> [compile, images inspect, status].
fn commands_in(cell: &str, names: &BTreeSet<String>) -> BTreeSet<String> {
    let text: String = cell.split('`').step_by(2).collect();
    text.split(',')
        .map(|part| {
            part.split('(')
                .next()
                .unwrap_or("")
                .trim_matches([' ', '|'])
        })
        .filter(|name| names.contains(*name))
        .map(str::to_owned)
        .collect()
}

#[test]
fn readme_flag_table_matches_the_commands() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let table = readme
        .split("| flags | commands |")
        .nth(1)
        .expect("README has the flag table (| flags | commands |)");
    let mut actual: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let names: BTreeSet<String> = commands().into_iter().map(|(name, _)| name).collect();
    for (name, cmd) in commands() {
        for arg in cmd.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            // A global flag is on every command; the README names it under the table.
            if arg.is_global_set() {
                assert!(
                    readme.contains(&format!("global flag `--{long}")),
                    "README does not name the global flag --{long}"
                );
                continue;
            }
            if !["help", "version"].contains(&long) {
                actual
                    .entry(long.to_owned())
                    .or_default()
                    .insert(name.clone());
            }
        }
    }
    let mut documented: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in table.lines().skip(2).take_while(|l| l.starts_with('|')) {
        let cells: Vec<&str> = row.split(" | ").collect();
        let [flags, cmds] = cells[..] else {
            panic!("README flag table row without two cells: {row}");
        };
        for flag in flags_in(flags) {
            documented
                .entry(flag)
                .or_default()
                .extend(commands_in(cmds, &names));
        }
    }
    assert_eq!(
        documented, actual,
        "README's flag table (left) differs from the commands' flags (right)"
    );
}

/// clap gives a subcommand whose variant has no doc comment the doc comment of a struct
/// it flattens (e.g. `PackageArgs`'s "Arguments that say which package to load..."), so
/// `every_flag_of_every_command_has_a_help_text` cannot see a missing one: the source
/// must have a `///` line above every variant of `Command`.
#[test]
fn every_subcommand_variant_has_a_doc_comment() {
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/cli/mod.rs"))
        .expect("read src/cli/mod.rs");
    let body = src
        .split_once("pub enum Command {")
        .and_then(|(_, rest)| rest.split_once("\n}"))
        .expect("src/cli/mod.rs defines `pub enum Command { ... }`")
        .0;
    let lines: Vec<&str> = body.lines().map(str::trim).collect();
    let mut variants = 0;
    for (i, line) in lines.iter().enumerate() {
        let Some((name, _)) = line.split_once('(') else {
            continue;
        };
        if line.starts_with("//") || line.starts_with('#') {
            continue;
        }
        variants += 1;
        let above = lines[..i]
            .iter()
            .rev()
            .find(|l| !l.starts_with("#["))
            .unwrap_or(&"");
        assert!(
            above.starts_with("///") && above.len() > 4,
            "the subcommand variant `{name}` in src/cli/mod.rs has no `///` help text"
        );
    }
    let mut cli = kplan::cli::command();
    cli.build();
    let subcommands = cli.get_subcommands().filter(|c| c.get_name() != "help");
    assert_eq!(variants, subcommands.count(), "{body}");
}
