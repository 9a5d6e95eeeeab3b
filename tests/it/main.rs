//! kplan's integration tests, as one test binary: each file here was a test crate of
//! its own, and is now a module of this one, so `support` and the kplan library are
//! compiled and linked once instead of once per file. Tests are named by module:
//! `cargo test --test it golden::` runs the golden tests, `cargo test --test it
//! diagnostic_codes::` the registry's.
//!
//! `mutations` installs the accounting allocator for the whole binary (as the kplan
//! binary does); it counts only threads with a budget, the evaluation threads.

mod support;

mod apply_watch;
mod artifact_versions;
mod attacks;
mod cli;
mod closed_output;
mod completions;
mod compose_cli;
mod compose_e2e;
mod compose_escaping;
mod diagnostic_codes;
mod executor_archives;
mod executor_diff;
mod executor_e2e;
mod executor_preflight;
mod executor_tty;
mod golden;
mod graph;
mod helm;
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
