//! No input may panic, abort or run away: a mutation fuzzer over our own fixture
//! packages (every `fixtures/valid` package's main.star) and argument sets. Each
//! mutant is interpreted in process, on kplan's evaluation thread with its memory
//! budget (this test binary installs the accounting allocator, as the kplan binary
//! does), and must end in a plan or in diagnostics.
//!
//! The test suite runs a bounded count (`KPLAN_FUZZ_RUNS`, default 200 per package,
//! about 2,400 in all); a long run by hand:
//!
//! ```text
//! KPLAN_FUZZ_RUNS=5000 KPLAN_FUZZ_SEED=7 cargo test --release --test it mutations:: -- --nocapture
//! ```
//!
//! It prints `fuzz: N executions, V valid, R rejected with diagnostics, 0 crashes`.
//! A second, smaller run (`KPLAN_FUZZ_BINARY_RUNS`, default 5 per package) puts
//! allocations past the budget into the mutants and runs them through the kplan
//! binary: each must end with status 0 or 1, never a panic or a signal.

#[global_allocator]
static ALLOCATOR: kplan::memory::Accounting<std::alloc::System> =
    kplan::memory::Accounting(std::alloc::System);

use kplan::frontend::{self, ClusterType, Options};
use std::path::{Path, PathBuf};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SNIPPETS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    "\"",
    "'",
    "\t",
    "\n",
    "    ",
    "None",
    "0",
    "-1",
    "99999999999999999999999",
    "{{",
    "}}",
    "{{kurtosis:",
    ".runtime_value}}",
    "plan.",
    "=",
    "*",
    "lambda: 1",
    "struct(",
    "ServiceConfig(",
    "PortSpec(",
    "\\",
    "#",
    "\u{0}",
    "é",
    "def ",
    // Attacks on the limits (issue 13): nesting, templates, growth.
    " and not ",
    " if True else ",
    "lambda: ",
    "()()",
    "{{ printf \"%.99999f\" 1.5 }}",
    "{{ range $i := 99999999 }}x{{ end }}",
    " \\\n",
    " * 99999",
    "x = x + x\n",
];

/// Attacks whose one allocation passes twice the budget: kplan stops them with KP014
/// and exit status 1 (see `kplan::memory`), which would end this test process, so
/// they run through the binary.
const BIG: &[&str] = &[
    " * 999999999",
    "list(range(999999999))",
    "\"x\" * 999999999",
];

/// Argument sets: `--args` texts, mutated like the sources.
const ARGS: &[&str] = &[
    "{}",
    "{\"name\": \"x\", \"count\": 3}",
    "{\"a\": [1, 2, {\"b\": null}], \"c\": 1e308}",
    "a: 1\nb: [x, y]\n",
    "{\"_kurtosis_parser\": \"struct\", \"s\": {\"t\": [true]}}",
];

fn mutate(src: &str, rng: &mut Rng) -> String {
    mutate_with(src, rng, SNIPPETS)
}

fn mutate_with(src: &str, rng: &mut Rng, snippets: &[&str]) -> String {
    let mut chars: Vec<char> = src.chars().collect();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(chars.len() + 1);
        match rng.below(3) {
            0 if !chars.is_empty() => {
                let end = (at + 1 + rng.below(8)).min(chars.len());
                chars.drain(at.min(chars.len())..end);
            }
            1 => {
                let s = snippets[rng.below(snippets.len())];
                for (i, c) in s.chars().enumerate() {
                    chars.insert((at + i).min(chars.len()), c);
                }
            }
            _ if !chars.is_empty() => {
                let from = rng.below(chars.len());
                let len = rng.below(20).min(chars.len() - from);
                let piece: Vec<char> = chars[from..from + len].to_vec();
                for (i, c) in piece.into_iter().enumerate() {
                    chars.insert((at + i).min(chars.len()), c);
                }
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let p = e.path();
        let dest = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).expect("copy");
        }
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn mutated_packages_never_panic() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let runs = env_number("KPLAN_FUZZ_RUNS", 200);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ env_number("KPLAN_FUZZ_SEED", 0));
    let mut outcomes = (0u64, 0u64);
    let mut cases: Vec<String> = std::fs::read_dir(root.join("fixtures/valid"))
        .expect("fixtures/valid")
        .flatten()
        .filter(|e| e.path().join("main.star").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    cases.sort();
    for case in &cases {
        let work = tempfile::tempdir().expect("tempdir");
        let pkg = work.path().join(case);
        copy_dir(&root.join("fixtures/valid").join(case), &pkg);
        let main = std::fs::read_to_string(pkg.join("main.star")).expect("main");
        for i in 0..runs {
            let source = mutate(&main, &mut rng);
            std::fs::write(pkg.join("main.star"), &source).expect("write");
            // Every fourth run mutates the arguments too.
            let args = (i % 4 == 0).then(|| mutate(ARGS[rng.below(ARGS.len())], &mut rng));
            let opts = Options {
                package: pkg.to_string_lossy().into_owned(),
                args: args.clone(),
                args_file: None,
                main_file: "main.star".into(),
                main_function: "run".into(),
                package_cache: root.join("fixtures/cache"),
                offline: true,
                cluster_type: ClusterType::Docker,
                allow_privileged: false,
                max_eval_memory: 256 << 20,
                max_template_output: 1 << 20,
                exits_after: false,
            };
            let result = std::panic::catch_unwind(|| match frontend::interpret(&opts) {
                Ok(i) => kplan::validate::validate(&i.plan).is_ok(),
                Err(f) => {
                    assert!(
                        !f.diagnostics.is_empty(),
                        "a failure names at least one problem"
                    );
                    false
                }
            });
            match result {
                Ok(true) => outcomes.0 += 1,
                Ok(false) => outcomes.1 += 1,
                Err(_) => panic!("kplan panicked on {case} with --args {args:?}:\n{source}"),
            }
        }
    }
    eprintln!(
        "fuzz: {} executions, {} valid, {} rejected with diagnostics, 0 crashes",
        outcomes.0 + outcomes.1,
        outcomes.0,
        outcomes.1
    );
}

#[test]
fn mutants_past_the_memory_budget_stop_cleanly_in_the_binary() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let runs = env_number("KPLAN_FUZZ_BINARY_RUNS", 5);
    let mut rng = Rng(0x2545_F491_4F6C_DD1D ^ env_number("KPLAN_FUZZ_SEED", 0));
    let mut executions = 0;
    for case in [
        "web-db",
        "all-instructions",
        "args-and-imports",
        "runtime-values",
    ] {
        let work = tempfile::tempdir().expect("tempdir");
        let pkg = work.path().join(case);
        copy_dir(&root.join("fixtures/valid").join(case), &pkg);
        let main = std::fs::read_to_string(pkg.join("main.star")).expect("main");
        for _ in 0..runs {
            let source = mutate_with(&main, &mut rng, BIG);
            std::fs::write(pkg.join("main.star"), &source).expect("write");
            let o = std::process::Command::new(env!("CARGO_BIN_EXE_kplan"))
                .args([
                    "compile",
                    &pkg.to_string_lossy(),
                    "--target",
                    "plan",
                    "--offline",
                ])
                .args([
                    "--package-cache",
                    &root.join("fixtures/cache").to_string_lossy(),
                ])
                .args(["--max-eval-memory", "128MiB"])
                .output()
                .expect("run kplan");
            let err = String::from_utf8_lossy(&o.stderr);
            let clean = match o.status.code() {
                Some(0) => true,
                Some(1) => err.contains("error["),
                _ => false,
            };
            assert!(
                clean && !err.contains("panicked"),
                "kplan ended with {:?} on {case}:\n{source}\n{err}",
                o.status
            );
            executions += 1;
        }
    }
    eprintln!("fuzz (binary): {executions} executions, 0 crashes");
}
