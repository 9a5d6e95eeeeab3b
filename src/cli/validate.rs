//! `kplan validate`: interpret and validate, report every problem at once.

use super::pipeline::{self, PackageArgs};
use super::OutputFormat;
use crate::console::errln;
use crate::diagnostic::Diagnostic;
use crate::frontend::ClusterType;
use clap::Args;
use serde::Serialize;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub package: PackageArgs,
    /// How to print the result: text for people, json for scripts.
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
    /// Also check that every image exists in the local Docker engine (as apply does).
    #[arg(long)]
    pub check_images: bool,
}

/// The `--output json` document (schemas/validate.schema.json).
#[derive(Serialize)]
struct Report<'a> {
    valid: bool,
    services: usize,
    artifacts: usize,
    tasks: usize,
    diagnostics: &'a [Diagnostic],
}

pub fn run(args: &ValidateArgs) -> i32 {
    let loaded = pipeline::load_quiet(&args.package, ClusterType::Docker);
    let loaded = match loaded {
        Ok((l, mut warnings)) if args.check_images => match image_problems(&l) {
            Ok(d) if d.is_empty() => Ok((l, warnings)),
            Ok(d) => {
                warnings.extend(d);
                Err(Box::new((warnings, l.sources)))
            }
            Err(e) => {
                errln!("error: {e:#}");
                return 1;
            }
        },
        other => other,
    };
    match (loaded, args.output) {
        (Ok((loaded, warnings)), OutputFormat::Text) => {
            pipeline::print_diagnostics(&warnings, &loaded.sources);
            let p = &loaded.plan;
            errln!(
                "{} is valid: {} services, {} files artifacts, {} tasks, {} steps",
                p.package.name,
                p.services.len(),
                p.artifacts.len(),
                p.tasks.len(),
                p.steps.len()
            );
            0
        }
        (Err(failure), OutputFormat::Text) => {
            pipeline::print_diagnostics(&failure.0, &failure.1);
            1
        }
        (Ok((loaded, warnings)), OutputFormat::Json) => {
            let p = &loaded.plan;
            print_json(&Report {
                valid: true,
                services: p.services.len(),
                artifacts: p.artifacts.len(),
                tasks: p.tasks.len(),
                diagnostics: &warnings,
            });
            0
        }
        (Err(failure), OutputFormat::Json) => {
            print_json(&Report {
                valid: false,
                services: 0,
                artifacts: 0,
                tasks: 0,
                diagnostics: &failure.0,
            });
            1
        }
    }
}

fn print_json(report: &Report) {
    super::json::print(report);
}

/// Missing images, checked against the local engine exactly as `kplan apply` does.
fn image_problems(l: &pipeline::Loaded) -> anyhow::Result<Vec<Diagnostic>> {
    let engine = crate::executor::engine::Engine::connect()?;
    crate::executor::images::missing_images(&engine, &l.plan)
}
