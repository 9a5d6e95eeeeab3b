//! kplan's integration tests, as one test binary: each file here was a test crate of
//! its own, and is now a module of this one, so `support` and the kplan library are
//! compiled and linked once instead of once per file. Tests are named by module:
//! `cargo test --test it golden::` runs the golden tests, `cargo test --test it
//! diagnostic_codes::` the registry's.
//!
//! `mutations` installs the accounting allocator for the whole binary (as the kplan
//! binary does); it counts only threads with a budget, the evaluation threads.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking, also in its helpers (clippy.toml covers #[test] only)"
)]
#![allow(
    clippy::print_stderr,
    reason = "helpers report skips and failed clean-ups on libtest's captured stderr"
)]
#![allow(
    unsafe_code,
    reason = "libc calls std has no API for (kill, atexit, a socket with backlog 0)"
)]

mod support;

mod ahead;
mod apply_watch;
mod artifact_versions;
mod attacks;
mod cli;
mod closed_output;
mod color;
mod completions;
mod compose_cli;
mod compose_e2e;
mod compose_escaping;
mod diagnostic_codes;
mod escaping_fixture;
mod executor_archives;
mod executor_diff;
mod executor_e2e;
mod executor_preflight;
mod executor_tty;
mod golden;
mod graph;
mod helm;
mod helm_pods;
mod helm_support;
mod help;
mod http_client;
mod infra;
mod json_output;
mod limits;
mod man;
mod mutations;
mod packages;
mod plan_info;
mod pre_commit;
mod readme_example;
mod runtime_values;
mod task_scripts;
mod template_numbers;
mod terraform_cli;
mod terraform_escaping;
