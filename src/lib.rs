//! kplan: compile Kurtosis-compatible Starlark packages into a typed plan, validate it,
//! and lower it to Docker Compose, Helm, Terraform, or apply it to Docker.
//!
//! Pipeline: `frontend` (Starlark -> `ir::Plan`) -> `validate` (`ir::Plan` -> `ir::PlanInfo`)
//! -> `backend::*` (pure lowering to files) or `executor` (diff against Docker, apply).
//! Dependencies point one way: `cli -> {frontend, validate, backend, executor} -> ir`;
//! `gotemplate` is a leaf used by the frontend (and the executor) to render templates;
//! `console` is a leaf through which everything is printed; `memory` is a leaf that
//! counts what the evaluation allocates (the binary installs its allocator).

// All output goes through `console`, so a closed pipe cannot make kplan panic.
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod backend;
pub mod cli;
pub mod console;
pub mod diagnostic;
pub mod executor;
pub mod frontend;
pub mod gotemplate;
pub mod ir;
pub mod memory;
pub mod validate;
