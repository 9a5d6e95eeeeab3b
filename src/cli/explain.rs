//! `kplan explain [CODE]`: what a diagnostic code means, with an example and the fix,
//! as `rustc --explain` does; without a code, every code with its title. The text is
//! the registry's ([`crate::diagnostic::codes`]), the same as in docs/diagnostics.md.

use crate::console::{errln, out, outln};
use crate::diagnostic::codes::{self, Code, FAMILIES};
use clap::Args;

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The code to explain, as kplan prints it (KP201; kp201 and 201 work too). Without it, every code is listed with its title.
    #[arg(value_name = "CODE")]
    pub code: Option<String>,
}

pub fn run(args: &ExplainArgs) -> i32 {
    let Some(name) = &args.code else {
        list();
        return 0;
    };
    match name.parse::<Code>() {
        Ok(code) => {
            outln!("{code} ({}): {}\n", code.severity().as_str(), code.title());
            out!("{}", code.explanation());
            0
        }
        Err(_) => {
            errln!("error: '{name}' is not a kplan diagnostic code");
            errln!(
                "   = help: codes are KP and three digits: {}; `kplan explain` lists them all",
                codes::families_line()
            );
            1
        }
    }
}

/// Every code, by family: `KP201  error    a value known only at run time ...`.
fn list() {
    for (i, family) in FAMILIES.iter().enumerate() {
        if i > 0 {
            outln!();
        }
        outln!("{}: {}", family.range, family.name);
        for code in Code::ALL
            .iter()
            .filter(|c| c.family().range == family.range)
        {
            outln!("  {code}  {:<8} {}", code.severity().as_str(), code.title());
        }
    }
}
