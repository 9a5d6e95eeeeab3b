//! The evaluation boundary: starlark-rust panics on some inputs instead of returning
//! an error (a list, string or tuple of 4 GiB or more: "AlignedSize must not exceed
//! u32::MAX", from `list(range(10**9))` or `[0] * 10**9`). Such a panic is caught here,
//! its message kept instead of printed, and turned into a KP014 diagnostic at the
//! statement that was running.
//!
//! That statement is known from a before-statement hook ([`Watch`]) every evaluator
//! runs: a panic leaves no span (an operator such as `x + x` pushes no call frame, and
//! starlark folds calls with constant arguments while compiling, outside any frame).
//! The hook is starlark's `before_stmt_for_dap` (doc-hidden, used by its debugger;
//! starlark is pinned to one version in Cargo.toml). It costs one call and a span copy
//! per statement (measured with the memory accounting, in the commit that added it).

use super::instruction::to_span;
use crate::diagnostic::{Code, Diagnostic};
use crate::ir::Span;
use starlark::codemap::{FileSpan, FileSpanRef};
use starlark::eval::{BeforeStmtFunc, BeforeStmtFuncDyn, Evaluator};
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};

/// The code of an evaluation stopped by a resource limit.
pub const LIMIT: Code = Code::KP014;

thread_local! {
    /// Set while this thread runs a guarded evaluation: its panics are caught.
    static GUARDED: Cell<bool> = const { Cell::new(false) };
    /// The message of the last panic caught on this thread.
    static MESSAGE: RefCell<Option<String>> = const { RefCell::new(None) };
    /// The statement the innermost evaluator on this thread is running.
    static STATEMENT: RefCell<Option<FileSpan>> = const { RefCell::new(None) };
    /// Set from another thread to stop this thread's evaluations (see [`cancel_with`]).
    static CANCEL: RefCell<Option<Arc<AtomicBool>>> = const { RefCell::new(None) };
}

/// Evaluations on this thread stop at their next statement once `flag` is set (the
/// second thread's, when the evaluation thread no longer needs it).
pub fn cancel_with(flag: Arc<AtomicBool>) {
    CANCEL.with(|c| *c.borrow_mut() = Some(flag));
}

/// Stopped by [`cancel_with`]'s flag.
#[derive(Debug, thiserror::Error)]
#[error("stopped: the evaluation no longer needs this module")]
struct Cancelled;

/// The before-statement hook: records where evaluation is.
struct Watch;

impl<'e> BeforeStmtFuncDyn<'e> for Watch {
    fn call<'v>(
        &mut self,
        span: FileSpanRef,
        _continued: bool,
        _eval: &mut Evaluator<'v, '_, 'e>,
    ) -> starlark::Result<()> {
        STATEMENT.with(|s| *s.borrow_mut() = Some(span.to_file_span()));
        if CANCEL.with(|c| {
            c.borrow()
                .as_ref()
                .is_some_and(|f| f.load(Ordering::Relaxed))
        }) {
            return Err(starlark::Error::new_other(anyhow::Error::new(Cancelled)));
        }
        match crate::memory::exceeded() {
            Some(limit) => Err(starlark::Error::new_other(anyhow::Error::new(OverBudget {
                limit,
            }))),
            None => Ok(()),
        }
    }
}

/// Makes `eval` record each statement it starts (call before evaluating anything:
/// statements are instrumented when they are compiled).
pub fn watch(eval: &mut Evaluator<'_, '_, '_>) {
    eval.before_stmt_for_dap(BeforeStmtFunc::from_dyn(Box::new(Watch)));
}

/// The statement running now (the last one a watched evaluator started).
pub fn statement() -> Option<Span> {
    STATEMENT.with(|s| s.borrow().as_ref().map(|f| to_span(Some(f))))
}

/// Installs (once per process) a panic hook that keeps the message of a panic on a
/// guarded thread and passes every other panic to the previous hook.
fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if GUARDED.with(Cell::get) {
                let msg = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".to_owned());
                MESSAGE.with(|m| *m.borrow_mut() = Some(msg));
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `f`, turning a panic inside it into `Err(message)`.
pub fn catching<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    install_hook();
    let outer = GUARDED.with(|g| g.replace(true));
    STATEMENT.with(|s| s.borrow_mut().take());
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(outer));
    result.map_err(|_| {
        MESSAGE
            .with(|m| m.borrow_mut().take())
            .unwrap_or_else(|| "unknown panic".to_owned())
    })
}

/// The evaluation allocated more than `--max-eval-memory`.
#[derive(Debug, thiserror::Error)]
#[error("the package allocated more than {} of memory (--max-eval-memory)", mib(*.limit))]
pub struct OverBudget {
    pub limit: usize,
}

fn mib(bytes: usize) -> String {
    format!("{} MiB", bytes >> 20)
}

const OVER_BUDGET_HINT: &str = "look for a loop or repetition that grows without bound; if the package needs more, raise --max-eval-memory (e.g. --max-eval-memory 8GiB)";

/// The code and hint of an [`OverBudget`] error.
pub fn over_budget(e: &starlark::Error) -> Option<(Code, Option<String>)> {
    match e.kind() {
        starlark::ErrorKind::Other(a) => a
            .downcast_ref::<OverBudget>()
            .map(|_| (LIMIT, Some(OVER_BUDGET_HINT.to_owned()))),
        _ => None,
    }
}

/// The budget's backstop (see `crate::memory`): one allocation would take the
/// evaluation past three times its budget, which cannot be refused, so the error is printed
/// here, at the statement running, and kplan exits.
pub fn report_exhausted(limit: usize) {
    let d = Diagnostic::error(LIMIT, OverBudget { limit }.to_string(), statement())
        .with_hint(OVER_BUDGET_HINT);
    let text = crate::diagnostic::render(
        &d,
        &crate::diagnostic::NoSources,
        crate::console::Palette::of(crate::console::Stream::Err),
    );
    crate::console::write(
        crate::console::Stream::Err,
        format_args!("{text}\nerror: 1 problem found; nothing was written or changed\n"),
    );
}

/// The diagnostic for a panic caught while evaluating, at `at` (the running call).
pub fn panic_diagnostic(message: &str, at: Option<Span>) -> Diagnostic {
    if message.contains("AlignedSize") {
        Diagnostic::error(
            LIMIT,
            "this builds a value of 4 GiB or more (a list, tuple or string), more than Starlark can hold",
            at,
        )
        .with_hint("build smaller values: check the sizes given to range(), `*` and `+`")
    } else {
        Diagnostic::error(
            LIMIT,
            format!("the Starlark interpreter stopped: {message}"),
            at,
        )
        .with_hint("this is a limit of the interpreter; simplify the expression at this line")
    }
}
