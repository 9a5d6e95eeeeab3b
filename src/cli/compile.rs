//! `kplan compile`: lower a package to a target's files, on stdout or into `-o DIR`,
//! or check that `-o DIR` is current (`--check`).

use super::pipeline::{self, PackageArgs};
use crate::backend::{self, Output};
use crate::console::{self, errln, out, outln, Palette, Stream};
use crate::diagnostic::{self, Code, Diagnostic, NoSources};
use crate::frontend::ClusterType;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// The code of a problem with the `-o DIR` directory (it cannot be created, read or
/// written).
pub const OUT_DIR: Code = Code::KP005;

/// `--target`: what `compile` produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// kplan's canonical plan (YAML or JSON).
    Plan,
    /// A Docker Compose project.
    Compose,
    /// A Helm chart.
    Helm,
    /// A Terraform configuration for the Docker provider.
    Terraform,
}

impl Target {
    /// What the target produces, for the top-level help ("a Docker Compose project").
    pub fn describe(self) -> &'static str {
        match self {
            Target::Plan => "a canonical plan",
            Target::Compose => "a Docker Compose project",
            Target::Helm => "a Helm chart",
            Target::Terraform => "a Terraform configuration",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum PlanFormat {
    #[default]
    Yaml,
    Json,
}

#[derive(Debug, Args)]
pub struct CompileArgs {
    #[command(flatten)]
    pub package: PackageArgs,
    /// What to produce.
    #[arg(long, value_enum)]
    pub target: Target,
    /// Write the files into this directory instead of stdout.
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Do not write: compare with the files in -o DIR, print a diff, exit 2 if stale.
    #[arg(long, requires = "out")]
    pub check: bool,
    /// Serialization of the plan target.
    #[arg(long, value_enum, default_value_t)]
    pub output: PlanFormat,
    /// The image kplan's own one-shots run in (run-time values: preparing the value
    /// store, jq extracts, rendering files that hold run-time values, polling waits,
    /// verify). Needs sh, cat, cp, mkdir, mv, rm, chmod, sed, tail, wget and jq.
    /// Default: badouralix/curl-jq.
    #[arg(long, value_name = "IMAGE")]
    pub tools_image: Option<String>,
    /// JSON: image -> {"entrypoint": [...], "cmd": [...]}, for services whose
    /// entrypoint, cmd or env holds a run-time value and whose package sets no
    /// entrypoint (make it with `kplan images inspect PKG`).
    #[arg(long, value_name = "FILE")]
    pub image_config: Option<PathBuf>,
    /// The Helm chart's version (strict SemVer 2). Default: 0.1.0.
    #[arg(long, value_name = "SEMVER")]
    pub chart_version: Option<String>,
    /// The Helm chart's appVersion. Default: the chart version.
    #[arg(long, value_name = "VERSION")]
    pub app_version: Option<String>,
}

pub fn run(args: &CompileArgs) -> i32 {
    let cluster = match args.target {
        Target::Plan | Target::Compose | Target::Terraform => ClusterType::Docker,
        Target::Helm => ClusterType::Kubernetes,
    };
    let images = match &args.image_config {
        Some(path) => match read_image_config(path) {
            Ok(m) => m,
            Err(e) => {
                errln!("error: --image-config {}: {e}", path.display());
                return 1;
            }
        },
        None => Default::default(),
    };
    let loaded = match pipeline::load(&args.package, cluster) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let target = match args.target {
        Target::Plan => backend::Target::Plan(match args.output {
            PlanFormat::Yaml => backend::plan::Format::Yaml,
            PlanFormat::Json => backend::plan::Format::Json,
        }),
        Target::Compose => backend::Target::Compose,
        Target::Helm => backend::Target::Helm,
        Target::Terraform => backend::Target::Terraform,
    };
    let opts = backend::Options {
        to_stdout: args.out.is_none(),
        package_dir: package_dir_from_out(args),
        tools_image: args.tools_image.clone().unwrap_or_default(),
        images,
        chart_version: args.chart_version.clone(),
        app_version: args.app_version.clone(),
    };
    let output: Output = match backend::compile(target, &loaded.plan, &loaded.info, &opts) {
        Ok(c) => {
            pipeline::print_diagnostics(&c.warnings, &loaded.sources);
            c.output
        }
        Err(diags) => {
            pipeline::print_diagnostics(&diags, &loaded.sources);
            return 1;
        }
    };
    emit(&output, args.out.as_deref(), args.check)
}

/// The `--image-config` file: a JSON object, image reference -> its entrypoint and
/// cmd (as `kplan images inspect` writes it).
fn read_image_config(
    path: &std::path::Path,
) -> Result<std::collections::BTreeMap<String, backend::ImageConfig>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| {
        format!("{e}; expected a JSON object like {{\"IMAGE\": {{\"entrypoint\": [\"...\"], \"cmd\": [\"...\"]}}}}")
    })
}

/// The package directory relative to `-o DIR`, when the package is a local directory
/// (for `build:` contexts in Compose).
fn package_dir_from_out(args: &CompileArgs) -> Option<String> {
    let out = args.out.as_ref()?;
    let pkg = std::fs::canonicalize(&args.package.package).ok()?;
    let pkg = if pkg.is_file() {
        pkg.parent()?.to_path_buf()
    } else {
        pkg
    };
    let out = std::fs::canonicalize(out)
        .or_else(|_| std::path::absolute(out))
        .ok()?;
    backend::output::relative_path(&out, &pkg)
}

/// Writes `output` to stdout (no `-o DIR`), into `out`, or, with `check`, compares
/// it with the files in `out`; returns the exit code.
pub(super) fn emit(output: &Output, out: Option<&std::path::Path>, check: bool) -> i32 {
    let Some(dir) = out else {
        for bytes in output.files.values() {
            console::write_bytes(Stream::Out, bytes);
        }
        return 0;
    };
    if check {
        return match backend::output::check(output, dir) {
            Ok(report) if report.is_current() => {
                errln!(
                    "{} is up to date ({} files)",
                    dir.display(),
                    output.files.len()
                );
                0
            }
            Ok(report) => {
                for d in &report.diffs {
                    out!("{d}");
                }
                for s in &report.stale {
                    outln!(
                        "stale: {}/{s} was generated by kplan but is no longer produced",
                        dir.display()
                    );
                }
                errln!(
                    "{} is out of date: {} file(s) differ, {} stale; run the same command without --check to update it",
                    dir.display(),
                    report.diffs.len(),
                    report.stale.len()
                );
                2
            }
            Err(e) => out_dir_error(
                e,
                "nothing was compared; -o DIR must be a directory kplan can read",
            ),
        };
    }
    match backend::output::write(output, dir) {
        Ok(report) => {
            for r in &report.removed {
                errln!("removed {}/{r} (no longer generated)", dir.display());
            }
            errln!(
                "wrote {} file(s) to {} ({} unchanged)",
                report.written.len(),
                dir.display(),
                report.unchanged.len()
            );
            0
        }
        Err(e) => out_dir_error(
            e,
            &format!(
                "the files in {} were left as they were; make it a directory you can write to, or choose another -o DIR",
                dir.display()
            ),
        ),
    }
}

/// A problem reading or writing `-o DIR` (KP005), printed like every diagnostic.
fn out_dir_error(message: String, hint: &str) -> i32 {
    let d = Diagnostic::error(OUT_DIR, message, None).with_hint(hint);
    errln!(
        "{}",
        diagnostic::render(&d, &NoSources, Palette::of(Stream::Err))
    );
    1
}
