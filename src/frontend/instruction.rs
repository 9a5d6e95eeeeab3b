//! What every `plan.*` instruction shares: its call site as an IR span, converting its
//! arguments into IR with the errors collected, and its `description`.

use super::context::{other, refused, Context};
use super::convert::Conv;
use super::package::Refused;
use super::value::Owned;
use crate::ir::Span;
use starlark::codemap::FileSpan;
use starlark::eval::Evaluator;

/// Turns a starlark location into an IR span (1-based line and column).
pub fn to_span(at: Option<&FileSpan>) -> Span {
    match at {
        Some(fs) => {
            let r = fs.resolve_span();
            Span::new(
                fs.filename(),
                r.begin.line as u32 + 1,
                r.begin.column as u32 + 1,
            )
        }
        None => Span::new("<unknown>", 0, 0),
    }
}

/// Where the current builtin was called from.
pub fn call_site(eval: &Evaluator) -> (Option<FileSpan>, Span) {
    let at = eval.call_stack_top_location();
    let span = to_span(at.as_ref());
    (at, span)
}

/// Runs a conversion with a fresh [`Conv`] and turns collected errors into one error.
pub fn convert<T>(
    ctx: &Context,
    at: &Span,
    from: Option<&FileSpan>,
    instruction: &str,
    f: impl FnOnce(&mut Conv) -> T,
) -> starlark::Result<T> {
    let build_context = |loc: &str, inside: &[(&str, &str)]| -> Result<String, Refused> {
        ctx.build_context(loc, from, inside)
    };
    let (out, errors, refused_path, warnings) = {
        let rec = ctx.rec.borrow();
        let mut conv = Conv::new(&rec.refs, at, &build_context);
        let out = f(&mut conv);
        (out, conv.errors, conv.refused, conv.warnings)
    };
    if !warnings.is_empty() {
        let mut rec = ctx.rec.borrow_mut();
        for w in warnings {
            let d = crate::diagnostic::Diagnostic::warning(
                crate::diagnostic::Code::KP020,
                w,
                Some(at.clone()),
            );
            if !rec.warnings.contains(&d) {
                rec.warnings.push(d);
            }
        }
    }
    if errors.is_empty() {
        return Ok(out);
    }
    let message = format!(
        "Cannot call '{instruction}':\n  - {}",
        errors.join("\n  - ")
    );
    if refused_path {
        Err(refused(Refused::new(message).with_hint(
            "build contexts, build files and flake directories must be inside the package",
        )))
    } else {
        Err(other(message))
    }
}

/// The optional `description` of an instruction.
pub fn description(d: &Option<Owned>) -> Option<String> {
    d.as_ref().and_then(Owned::as_str).map(str::to_owned)
}
