//! `kplan completions SHELL`: print a shell completion script, generated at run time by
//! `clap_complete` from the same clap definitions that parse kplan's arguments, so the
//! script always knows every subcommand, flag and value of the binary that printed it.

use crate::console::{self, Stream};
use clap::Args;
use clap_complete::Shell;

/// Where each shell looks for the script; shown by `kplan completions --help`.
const INSTALL: &str = "\
Install the script where your shell looks for it, then start a new shell:
  bash        kplan completions bash > ~/.local/share/bash-completion/completions/kplan
              (needs the bash-completion package; without it, put this line in
              ~/.bashrc: source <(kplan completions bash))
  zsh         kplan completions zsh > ~/.zfunc/_kplan
              (and in ~/.zshrc, before compinit runs: fpath=(~/.zfunc $fpath))
  fish        kplan completions fish > ~/.config/fish/completions/kplan.fish
  powershell  put this line in $PROFILE:
              kplan completions powershell | Out-String | Invoke-Expression
  elvish      put this line in ~/.config/elvish/rc.elv:
              eval (kplan completions elvish | slurp)
Regenerate the script after upgrading kplan.";

#[derive(Debug, Args)]
#[command(after_long_help = INSTALL)]
pub struct CompletionsArgs {
    /// The shell to print the completion script for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// The completion script for `shell`, for the command named `kplan`.
fn script(shell: Shell) -> Vec<u8> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut super::command(), "kplan", &mut script);
    script
}

pub fn run(args: &CompletionsArgs) -> i32 {
    // Generated into memory first, then printed through the console: clap_complete
    // panics when its writer fails, as stdout does when the reader of a pipe has gone.
    console::write_bytes(Stream::Out, &script(args.shell));
    0
}
