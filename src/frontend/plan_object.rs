//! The `plan` object passed to the main function: its 20 instructions, split by family
//! (`plan_services`, `plan_tasks`, `plan_artifacts`), registered here. What the
//! instructions share lives in [`super::instruction`], so the families do not import
//! this module (no import loop).

#![allow(
    unsafe_code,
    reason = "derive(ProvidesStaticType) expands to an `unsafe impl`"
)]

use allocative::Allocative;
use starlark::any::ProvidesStaticType;
use starlark::environment::{Methods, MethodsBuilder};
use starlark::starlark_simple_value;
use starlark::values::{starlark_value, NoSerialize, StarlarkValue};
use std::fmt;

/// The `plan` value. It carries no state: instructions record into the context
/// (`super::context::Context`) reached through the evaluator, so a `plan` smuggled out of `run` records nothing
/// after interpretation ends.
#[derive(Debug, ProvidesStaticType, NoSerialize, Allocative)]
pub struct PlanValue;
starlark_simple_value!(PlanValue);

impl fmt::Display for PlanValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<plan>")
    }
}

fn plan_methods(builder: &mut MethodsBuilder) {
    super::plan_services::methods(builder);
    super::plan_tasks::methods(builder);
    super::plan_artifacts::methods(builder);
}
starlark::methods_static!(PLAN_METHODS = plan_methods);

#[starlark_value(type = "plan")]
impl<'v> StarlarkValue<'v> for PlanValue {
    fn get_methods() -> Option<&'static Methods> {
        Some(PLAN_METHODS.methods())
    }
}
