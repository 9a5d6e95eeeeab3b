//! What every `plan.*` instruction shares: its call site as an IR span, converting its
//! arguments into IR with the errors collected, and its `description`.

use super::context::{other, Context};
use super::convert::Conv;
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
    let resolve_dir = |loc: &str| -> Result<String, String> {
        let file = ctx
            .resolve(loc, from)
            .map_err(|e| e.without_diagnostic().to_string())?;
        if !file.path.is_dir() {
            return Err(format!("'{loc}' is not a directory of the package"));
        }
        Ok(file.display)
    };
    let (out, errors, warnings) = {
        let rec = ctx.rec.borrow();
        let mut conv = Conv::new(&rec.refs, at, &resolve_dir);
        let out = f(&mut conv);
        (out, conv.errors, conv.warnings)
    };
    if !warnings.is_empty() {
        let mut rec = ctx.rec.borrow_mut();
        for w in warnings {
            let d = crate::diagnostic::Diagnostic::warning("KP020", w, Some(at.clone()));
            if !rec.warnings.contains(&d) {
                rec.warnings.push(d);
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(other(format!(
            "Cannot call '{instruction}':\n  - {}",
            errors.join("\n  - ")
        )))
    }
}

/// The optional `description` of an instruction.
pub fn description(d: &Option<Owned>) -> Option<String> {
    d.as_ref().and_then(Owned::as_str).map(str::to_owned)
}
