//! The shared front half of every command: package arguments -> interpreted, validated
//! plan, with diagnostics printed on failure.

use crate::console::{errln, Palette, Stream};
use crate::diagnostic::{self, Diagnostic};
use crate::frontend::{self, Sources};
use crate::ir::{Plan, PlanInfo};
use crate::validate;
use clap::Args;
use std::path::PathBuf;

/// Arguments that say which package to load and with what inputs.
#[derive(Debug, Clone, Args)]
pub struct PackageArgs {
    /// A package directory (with kurtosis.yml), a single .star file, or a
    /// `github.com/OWNER/REPO[/PATH][@REF]` locator.
    pub package: String,
    /// Package arguments as a JSON or YAML object.
    #[arg(long)]
    pub args: Option<String>,
    /// A file holding the package arguments (JSON or YAML object).
    #[arg(long, value_name = "FILE")]
    pub args_file: Option<PathBuf>,
    /// The file holding the main function, relative to the package root.
    #[arg(long, default_value = "main.star")]
    pub main_file: String,
    /// The function to run.
    #[arg(long, default_value = "run")]
    pub main_function: String,
    /// Where github.com packages are cached (default: $KPLAN_PACKAGE_CACHE, then the
    /// user's cache directory).
    #[arg(long, value_name = "DIR")]
    pub package_cache: Option<PathBuf>,
    /// Never clone missing packages; fail instead.
    #[arg(long)]
    pub offline: bool,
    /// Allow privileged services, the host PID namespace, docker.sock bind mounts,
    /// devices and capabilities beyond the unprivileged set (e.g. SYS_ADMIN).
    #[arg(long)]
    pub privileged: bool,
    /// Most memory the package's evaluation may allocate (bytes, or with K, M, G,
    /// KiB, MiB, GiB); past it, evaluation stops with KP014 at the statement.
    #[arg(long, value_name = "SIZE", default_value = "1GiB", value_parser = parse_size)]
    pub max_eval_memory: usize,
    /// Most bytes one template of render_templates may produce (same units).
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = parse_size)]
    pub max_template_output: usize,
}

/// A size: a number of bytes, optionally followed by K, M, G (or KiB, MiB, GiB;
/// powers of 1024 either way).
pub fn parse_size(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let digits = t.len() - t.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let (number, unit) = t.split_at(digits);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        other => {
            return Err(format!(
                "unknown unit '{other}'; use K, M or G (KiB, MiB, GiB)"
            ))
        }
    };
    let n: usize = number
        .parse()
        .map_err(|_| format!("'{text}' is not a size; write e.g. 512MiB or 4GiB"))?;
    match n.checked_mul(1 << shift) {
        Some(0) => Err("the size must be more than 0".into()),
        Some(b) => Ok(b),
        None => Err(format!("'{text}' is too large")),
    }
}

/// A loaded package: the plan, what validation proved, and the sources for snippets.
pub struct Loaded {
    pub plan: Plan,
    pub info: PlanInfo,
    pub sources: Sources,
}

impl PackageArgs {
    pub fn frontend_options(&self, cluster: frontend::ClusterType) -> frontend::Options {
        frontend::Options {
            package: self.package.clone(),
            args: self.args.clone(),
            args_file: self.args_file.clone(),
            main_file: self.main_file.clone(),
            main_function: self.main_function.clone(),
            package_cache: frontend::cache_dir(self.package_cache.as_deref()),
            offline: self.offline,
            cluster_type: cluster,
            allow_privileged: self.privileged,
            max_eval_memory: self.max_eval_memory,
            max_template_output: self.max_template_output,
            exits_after: false,
        }
    }
}

/// Interprets and validates; on failure prints every diagnostic and returns `Err(1)`.
/// Warnings are printed either way. For commands that load once and exit (see
/// `frontend::Options::exits_after`).
pub fn load(args: &PackageArgs, cluster: frontend::ClusterType) -> Result<Loaded, i32> {
    let opts = frontend::Options {
        exits_after: true,
        ..args.frontend_options(cluster)
    };
    printed(validated(frontend::interpret(&opts)))
}

/// [`load`], also saying which paths the interpretation looked at, whether it
/// succeeded or not (for `apply --watch`).
pub fn load_recording(
    args: &PackageArgs,
    cluster: frontend::ClusterType,
) -> (Result<Loaded, i32>, frontend::Reads) {
    let (interpreted, reads) = frontend::interpret_recording(&args.frontend_options(cluster));
    (printed(validated(interpreted)), reads)
}

/// Prints the diagnostics of a load: the warnings of one that worked, every problem of
/// one that did not (then `Err(1)`).
fn printed(result: Result<(Loaded, Vec<Diagnostic>), Box<LoadFailure>>) -> Result<Loaded, i32> {
    match result {
        Ok((loaded, warnings)) => {
            print_diagnostics(&warnings, &loaded.sources);
            Ok(loaded)
        }
        Err(failure) => {
            let (diags, sources) = *failure;
            print_diagnostics(&diags, &sources);
            Err(1)
        }
    }
}

/// What `load_quiet` returns on failure: every diagnostic, and sources for snippets.
pub type LoadFailure = (Vec<Diagnostic>, Sources);

/// Interprets and validates without printing: the loaded plan and its warnings, or
/// every diagnostic.
pub fn load_quiet(
    args: &PackageArgs,
    cluster: frontend::ClusterType,
) -> Result<(Loaded, Vec<Diagnostic>), Box<LoadFailure>> {
    validated(frontend::interpret(&args.frontend_options(cluster)))
}

/// Validates what an interpretation gave.
fn validated(
    interpreted: Result<frontend::Interpreted, frontend::Failure>,
) -> Result<(Loaded, Vec<Diagnostic>), Box<LoadFailure>> {
    let interpreted = interpreted.map_err(|f| Box::new((f.diagnostics, f.sources)))?;
    match validate::validate(&interpreted.plan) {
        Ok(info) => Ok((
            Loaded {
                plan: interpreted.plan,
                info,
                sources: interpreted.sources,
            },
            interpreted.warnings,
        )),
        Err(mut diags) => {
            diags.extend(interpreted.warnings);
            Err(Box::new((diags, interpreted.sources)))
        }
    }
}

/// Prints diagnostics to stderr, followed by a count line when there are errors.
pub fn print_diagnostics(diags: &[Diagnostic], sources: &Sources) {
    let palette = Palette::of(Stream::Err);
    for d in diags {
        errln!("{}", diagnostic::render(d, sources, palette));
    }
    let errors = diags.iter().filter(|d| d.is_error()).count();
    if errors > 0 {
        errln!(
            "error: {errors} problem{} found; nothing was written or changed",
            if errors == 1 { "" } else { "s" }
        );
    }
}
