//! Compile-speed benchmark (not a test): prints, side by side in one run,
//!
//! 1. ethereum-package (ethpandaops) compiled by the release `kplan compile` for every
//!    target the binary offers (read from `kplan compile --help`, so a new target
//!    appears here by itself), the real tool reading each output where we have one
//!    (the real Compose binary's `config -q`), and a bare evaluation of the same
//!    Starlark by the same starlark crate, with the same allocator, with stub builtins
//!    (`bare.rs`): the floor;
//! 2. the scale series: generated packages of 10, 100 and 1000 chained services (each
//!    service's env refers to the previous one's hostname, and each mounts a rendered
//!    template), for every target.
//!
//! Each figure is the whole process, median of `--runs` runs (commands of one table
//! run in turn), with its peak RSS. ethereum-package is laid out into a temporary
//! package cache from a local copy (`--cache DIR`, holding `github.com/OWNER/REPO`
//! clones of it and of the kurtosis-tech packages it imports); none of its files are
//! part of this repository. Its genesis time is given (`network_params.genesis_time`)
//! so the output is the same on every run.
//!
//! Run: `cargo bench --bench compile -- --cache /path/to/cache [--runs 7]`
//! (without `--cache` only the scale series runs).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark run by hand: it prints its table and stops at the first failure"
)]
#![allow(
    unsafe_code,
    reason = "wait4 for the child's rusage; the bare floor derives ProvidesStaticType"
)]

mod bare;
mod measure;
mod scale;

/// The allocator kplan uses (src/main.rs), so the bare evaluation is a fair floor.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use measure::{compare, load_average, Figures, Job};
use std::path::{Path, PathBuf};
use std::process::Command;

const ETHEREUM: &str = "github.com/ethpandaops/ethereum-package";
/// The repositories ethereum-package imports from the cache (postgres-package imports
/// db-adminer-package).
const ETHEREUM_DEPENDENCIES: &[&str] = &[
    "github.com/kurtosis-tech/postgres-package",
    "github.com/kurtosis-tech/prometheus-package",
    "github.com/kurtosis-tech/redis-package",
    "github.com/bharath-123/db-adminer-package",
];
/// A fixed genesis time: without it the package asks for one computed at run time,
/// which is deterministic too, but a fixed one is what a CI check would pin.
const ETHEREUM_ARGS: &str = r#"{"network_params": {"genesis_time": 1700000000}}"#;

struct Options {
    cache: Option<PathBuf>,
    runs: usize,
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut opts = Options {
        cache: std::env::var_os("KPLAN_BENCH_CACHE").map(PathBuf::from),
        runs: 7,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            // `cargo bench` passes --bench to every bench binary.
            "--bench" => {}
            "--cache" => opts.cache = Some(it.next().ok_or("--cache needs a directory")?.into()),
            "--runs" => {
                opts.runs = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| *n > 0)
                    .ok_or("--runs needs a positive number")?;
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(opts)
}

/// The targets `kplan compile --target` accepts, from its help.
fn targets(kplan: &str) -> Result<Vec<String>, String> {
    let out = Command::new(kplan)
        .args(["compile", "--help"])
        .output()
        .map_err(|e| e.to_string())?;
    let help = String::from_utf8_lossy(&out.stdout);
    // The last mention is the option's own entry (the first is the usage line).
    let (_, after) = help
        .rsplit_once("--target <TARGET>")
        .ok_or("kplan compile --help does not show --target")?;
    let values: Vec<String> = after
        .lines()
        .skip_while(|l| !l.contains("Possible values:"))
        .skip(1)
        .map_while(|l| l.trim().strip_prefix("- "))
        .filter_map(|l| l.split(':').next().map(|t| t.trim().to_owned()))
        .collect();
    if values.is_empty() {
        return Err("no possible values for --target in kplan compile --help".into());
    }
    Ok(values)
}

/// The real tool that reads a target's output, where one is installed: (what the
/// table calls it, how to run it on an output directory).
fn reader(target: &str, out: &Path, scratch: &Path) -> Option<Job> {
    match target {
        "compose" => {
            let compose = compose_binary()?;
            Some(Job {
                label: "compose config -q (reads kplan's output)".into(),
                program: compose.to_string_lossy().into_owned(),
                args: vec![
                    "-f".into(),
                    out.join("compose.yaml").to_string_lossy().into_owned(),
                    "config".into(),
                    "-q".into(),
                ],
                env: vec![(
                    "DOCKER_CONFIG".into(),
                    scratch.join("docker-config").to_string_lossy().into_owned(),
                )],
            })
        }
        _ => None,
    }
}

/// The Compose v2 binary that scripts/setup-test-tools.sh installs in .tools/venv.
fn compose_binary() -> Option<PathBuf> {
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/venv/lib");
    std::fs::read_dir(lib).ok()?.flatten().find_map(|d| {
        let bin = d.path().join("site-packages/compose/docker-compose");
        bin.is_file().then_some(bin)
    })
}

fn compile_job(kplan: &str, package: &Path, target: &str, out: &Path, extra: &[&str]) -> Job {
    let mut args = vec![
        "compile".to_owned(),
        package.to_string_lossy().into_owned(),
        "--target".into(),
        target.into(),
        "-o".into(),
        out.to_string_lossy().into_owned(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    Job {
        label: format!("kplan compile --target {target}"),
        program: kplan.into(),
        args,
        env: Vec::new(),
    }
}

/// Copies a directory tree, leaving out `.git` and symbolic links (a package is
/// regular files and directories).
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let t = entry.file_type()?;
        let name = entry.file_name();
        if name == ".git" {
            continue;
        }
        if t.is_dir() {
            copy_tree(&entry.path(), &to.join(&name))?;
        } else if t.is_file() {
            std::fs::copy(entry.path(), to.join(&name))?;
        }
    }
    Ok(())
}

/// One row per job: wall time (median, min-max), CPU time, peak RSS, and the wall-time
/// ratio to each baseline `(name, (wall ms, cpu ms))`, then the same for CPU time.
fn print_table(title: &str, rows: &[Figures], baseline: &[(&str, (f64, f64))]) {
    println!("\n{title}");
    print!(
        "{:<44} {:>9} {:>17} {:>9} {:>9}",
        "", "wall", "min-max", "cpu", "peak RSS"
    );
    for (name, _) in baseline {
        print!(" {:>14}", format!("/{name} wall,cpu"));
    }
    println!();
    for r in rows {
        print!(
            "{:<44} {:>7.1}ms {:>7.1}-{:>7.1}ms {:>7.1}ms {:>6.1}MiB",
            r.label, r.wall_ms, r.min_ms, r.max_ms, r.cpu_ms, r.peak_mib
        );
        for (_, (wall, cpu)) in baseline {
            print!(" {:>8.2}x,{:>4.2}x", r.wall_ms / wall, r.cpu_ms / cpu);
        }
        println!();
    }
}

fn ethereum(
    kplan: &str,
    targets: &[String],
    cache: &Path,
    runs: usize,
    scratch: &Path,
) -> Result<(), String> {
    let laid = scratch.join("cache");
    for repo in std::iter::once(&ETHEREUM).chain(ETHEREUM_DEPENDENCIES) {
        let from = cache.join(repo);
        if !from.is_dir() {
            return Err(format!(
                "{} is missing (a clone of https://{repo})",
                from.display()
            ));
        }
        copy_tree(&from, &laid.join(repo)).map_err(|e| format!("copying {repo}: {e}"))?;
    }
    let package = laid.join(ETHEREUM);
    let cache_arg = laid.to_string_lossy().into_owned();
    let extra = [
        "--offline",
        "--package-cache",
        &cache_arg,
        "--args",
        ETHEREUM_ARGS,
    ];
    let mut jobs: Vec<Job> = Vec::new();
    let mut readers: Vec<Job> = Vec::new();
    let mut refused: Vec<String> = Vec::new();
    for t in targets {
        let out = scratch.join(format!("ethereum-{t}"));
        let job = compile_job(kplan, &package, t, &out, &extra);
        // The reader needs the output to exist before it is timed.
        let first = Command::new(kplan)
            .args(&job.args)
            .output()
            .map_err(|e| e.to_string())?;
        if !first.status.success() {
            // A target may refuse what it cannot express (Helm: tasks whose files
            // services mount); that is its answer, not a number to time.
            let err = String::from_utf8_lossy(&first.stderr);
            refused.push(format!(
                "--target {t} refuses ethereum-package: {}",
                err.lines()
                    .rfind(|l| l.starts_with("error"))
                    .unwrap_or("failed")
            ));
            continue;
        }
        jobs.push(job);
        readers.extend(reader(t, &out, scratch));
    }
    std::fs::create_dir_all(scratch.join("docker-config")).map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let bare = Job {
        label: "bare Starlark evaluation (stub builtins)".into(),
        program: exe.to_string_lossy().into_owned(),
        args: vec![
            "--bare-eval".into(),
            package.to_string_lossy().into_owned(),
            cache_arg.clone(),
            ETHEREUM_ARGS.into(),
        ],
        env: Vec::new(),
    };
    let summary = Command::new(&bare.program)
        .args(&bare.args)
        .output()
        .map_err(|e| e.to_string())?;
    let summary = String::from_utf8_lossy(&summary.stdout).trim().to_owned();
    let n_kplan = jobs.len();
    let has_reader = !readers.is_empty();
    jobs.extend(readers);
    jobs.push(bare);
    let rows = compare(&jobs, runs, scratch)?;
    let mut baseline: Vec<(&str, (f64, f64))> = Vec::new();
    let figures = |r: &Figures| (r.wall_ms, r.cpu_ms);
    if has_reader {
        baseline.push(("compose", figures(&rows[n_kplan])));
    }
    baseline.push(("bare", figures(&rows[rows.len() - 1])));
    print_table(
        &format!(
            "ethereum-package -> every target, whole process, median of {runs} (bare: {summary})"
        ),
        &rows,
        &baseline,
    );
    for r in &refused {
        println!("{r}");
    }
    println!("goals: compose target <= 0.80x compose config -q, <= 1.20x bare");
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--bare-eval") {
        let [_, package, cache, json] = &args[..] else {
            eprintln!("usage: compile --bare-eval PACKAGE_DIR CACHE ARGS_JSON");
            std::process::exit(2);
        };
        match bare::evaluate(Path::new(package), Path::new(cache), json) {
            Ok(summary) => println!("{summary}"),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
        return;
    }
    let opts = parse_args(&args).unwrap_or_else(|e| {
        eprintln!(
            "compile bench: {e}\nusage: cargo bench --bench compile -- [--cache DIR] [--runs N]"
        );
        std::process::exit(2);
    });
    let kplan = env!("CARGO_BIN_EXE_kplan");
    let scratch = std::env::temp_dir().join(format!("kplan-bench-{}", std::process::id()));
    let result = (|| -> Result<(), String> {
        std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
        let targets = targets(kplan)?;
        println!(
            "kplan compile benchmark: targets {}; load average {} at start",
            targets.join(", "),
            load_average()
        );
        match &opts.cache {
            Some(cache) => ethereum(kplan, &targets, cache, opts.runs, &scratch)?,
            None => println!("\n(no --cache DIR: ethereum-package skipped)"),
        }
        scale::series(kplan, &targets, opts.runs, &scratch)?;
        println!("\nload average {} at end", load_average());
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&scratch);
    if let Err(e) = result {
        eprintln!("compile bench: {e}");
        std::process::exit(1);
    }
}
