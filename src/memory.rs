//! What one evaluation may allocate. [`Accounting`] wraps the global allocator (the
//! binary installs it; generic over the inner allocator so a faster one can replace
//! `System` without touching this) and counts the bytes live on each thread that has
//! a budget ([`set_budget`]): only the evaluation thread has one, so every other
//! allocation costs one thread-local read more.
//!
//! A failed allocation cannot be turned into an error: Rust aborts, it does not
//! unwind, and a global allocator must not panic. So the budget is checked at safe
//! points instead: before every Starlark statement (frontend/guard.rs) and after
//! each template action (gotemplate), where exceeding it stops the evaluation with a
//! KP014 error at that line. Between two safe points one statement can still
//! allocate a lot at once (`[0] * 6 * 10**8` builds a 4.8 GB vector before starlark
//! refuses it): an allocation that would take the thread past three times its budget is the
//! backstop. It cannot be refused either, so kplan prints a KP014 error naming the
//! statement that was running and exits with status 1 at once; nothing has been
//! written then (output files are written after the evaluation).

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;

/// The default budget of one evaluation: 1 GiB. The largest real package
/// (ethereum-package) has less than 32 MiB live at any time (16 MiB is too little);
/// 1 GiB leaves thirty times that and, with the backstop at three times the budget,
/// stays below what a CI runner or laptop has free (8-16 GB), so a runaway package
/// stops with an error long before the machine swaps or the OOM killer picks a process.
pub const DEFAULT_BUDGET: usize = 1 << 30;

/// The backstop, in budgets: doubling a value (`x = x + x`) that is still under the
/// budget at a statement's start stays under three budgets, so gradual growth always
/// ends at a safe point with the error at its line.
const BACKSTOP: usize = 3;

thread_local! {
    /// This thread's budget in bytes; 0: not accounted.
    static BUDGET: Cell<usize> = const { Cell::new(0) };
    /// Bytes allocated minus bytes freed on this thread since its budget was set
    /// (memory freed here but allocated elsewhere makes it smaller, never below 0).
    static LIVE: Cell<usize> = const { Cell::new(0) };
    /// The largest `LIVE` reached.
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

/// What the backstop calls before it exits: prints the error (the budget is off
/// while it runs, so it may allocate).
static EXHAUSTED: std::sync::OnceLock<fn(usize)> = std::sync::OnceLock::new();

/// A global allocator that counts what budgeted threads allocate.
pub struct Accounting<A>(pub A);

#[inline]
fn charge(grow: usize, shrink: usize) {
    let _ = BUDGET.try_with(|budget| {
        let limit = budget.get();
        if limit == 0 {
            return;
        }
        let live = LIVE.get().saturating_add(grow).saturating_sub(shrink);
        LIVE.set(live);
        if live > PEAK.get() {
            PEAK.set(live);
            if live / BACKSTOP > limit {
                budget.set(0);
                if let Some(report) = EXHAUSTED.get() {
                    report(limit);
                }
                std::process::exit(1);
            }
        }
    });
}

// SAFETY: every method forwards to the inner allocator with the same arguments; the
// accounting only reads and writes this thread's counters.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Accounting<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        charge(layout.size(), 0);
        // SAFETY: the caller's contract, forwarded.
        unsafe { self.0.alloc(layout) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        charge(layout.size(), 0);
        // SAFETY: the caller's contract, forwarded.
        unsafe { self.0.alloc_zeroed(layout) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        charge(0, layout.size());
        // SAFETY: the caller's contract, forwarded.
        unsafe { self.0.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        charge(new_size, layout.size());
        // SAFETY: the caller's contract, forwarded.
        unsafe { self.0.realloc(ptr, layout, new_size) }
    }
}

/// Gives this thread a budget of `bytes` (0: none) and starts counting from zero.
pub fn set_budget(bytes: usize) {
    LIVE.set(0);
    PEAK.set(0);
    BUDGET.set(bytes);
}

/// Registers what prints the backstop's error (see the module doc).
pub fn on_exhausted(report: fn(usize)) {
    let _ = EXHAUSTED.set(report);
}

/// `Some(budget)` when this thread has allocated more than its budget.
pub fn exceeded() -> Option<usize> {
    let limit = BUDGET.get();
    (limit != 0 && LIVE.get() > limit).then_some(limit)
}
