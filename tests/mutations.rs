//! No input may panic: mutates our fixture sources at random (deterministic seed) and
//! interprets each mutant in process; every one must end in a plan or diagnostics.

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
];

fn mutate(src: &str, rng: &mut Rng) -> String {
    let mut chars: Vec<char> = src.chars().collect();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(chars.len() + 1);
        match rng.below(3) {
            0 if !chars.is_empty() => {
                let end = (at + 1 + rng.below(8)).min(chars.len());
                chars.drain(at.min(chars.len())..end);
            }
            1 => {
                let s = SNIPPETS[rng.below(SNIPPETS.len())];
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

#[test]
fn mutated_packages_never_panic() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut outcomes = (0, 0);
    for case in ["web-db", "all-instructions", "args-and-imports"] {
        let work = tempfile::tempdir().expect("tempdir");
        let pkg = work.path().join(case);
        copy_dir(&root.join("fixtures/valid").join(case), &pkg);
        let main = std::fs::read_to_string(pkg.join("main.star")).expect("main");
        for _ in 0..400 {
            std::fs::write(pkg.join("main.star"), mutate(&main, &mut rng)).expect("write");
            let opts = Options {
                package: pkg.to_string_lossy().into_owned(),
                args: None,
                args_file: None,
                main_file: "main.star".into(),
                main_function: "run".into(),
                package_cache: root.join("fixtures/cache"),
                offline: true,
                cluster_type: ClusterType::Docker,
                allow_privileged: false,
                max_eval_memory: kplan::memory::DEFAULT_BUDGET,
                max_template_output: kplan::gotemplate::DEFAULT_MAX_OUTPUT,
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
                Err(_) => panic!(
                    "kplan panicked on:\n{}",
                    std::fs::read_to_string(pkg.join("main.star")).unwrap_or_default()
                ),
            }
        }
    }
    eprintln!(
        "mutants: {} valid, {} rejected with diagnostics",
        outcomes.0, outcomes.1
    );
}
