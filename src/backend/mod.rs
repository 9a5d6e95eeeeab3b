//! Backends: pure lowerings of a validated plan into files.
//!
//! Every backend has the shape `(&Plan, &PlanInfo, &Options) -> Result<Output, Vec<Diagnostic>>`
//! and never touches the file system; `output` writes (or checks) the result.

pub mod compose;
pub mod output;
pub mod plan;

pub use output::Output;
