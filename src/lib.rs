//! kplan: compile Kurtosis-compatible Starlark packages into a typed plan, validate it,
//! and lower it to Docker Compose, Helm, Terraform, or apply it to Docker.
//!
//! Pipeline: `frontend` (Starlark -> `ir::Plan`) -> `validate` (`ir::Plan` -> `ir::PlanInfo`)
//! -> `backend::*` (pure lowering to files) or `executor` (diff against Docker, apply).
//! Dependencies point one way: `cli -> {frontend, validate, backend, executor} -> ir`.

pub mod gotemplate;
pub mod ir;
