//! What one evaluation may allocate. [`Accounting`] wraps the global allocator (the
//! binary installs it over mimalloc, see main.rs; it is generic over the inner
//! allocator, so choosing another does not touch this) and counts the bytes live on each thread that has
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

#![allow(
    unsafe_code,
    reason = "a GlobalAlloc is an `unsafe impl`; each method forwards to the inner allocator"
)]

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

/// One thread's account; all in one cell, so a charge costs one thread-local access.
#[derive(Clone, Copy)]
struct Account {
    /// The budget in bytes; 0: this thread is not accounted.
    budget: usize,
    /// Bytes allocated minus bytes freed on this thread since its budget was set
    /// (memory freed here but allocated elsewhere makes it smaller, never below 0).
    live: usize,
    /// Where the backstop stops the process: [`BACKSTOP`] budgets.
    backstop: usize,
}

thread_local! {
    static ACCOUNT: Cell<Account> = const {
        Cell::new(Account { budget: 0, live: 0, backstop: usize::MAX })
    };
}

/// What the backstop calls before it exits: prints the error (the budget is off
/// while it runs, so it may allocate).
static EXHAUSTED: std::sync::OnceLock<fn(usize)> = std::sync::OnceLock::new();

/// A global allocator that counts what budgeted threads allocate.
pub struct Accounting<A>(pub A);

#[inline]
fn charge(grow: usize, shrink: usize) {
    let _ = ACCOUNT.try_with(|cell| {
        let mut account = cell.get();
        if account.budget == 0 {
            return;
        }
        account.live = account.live.saturating_add(grow).saturating_sub(shrink);
        if account.live > account.backstop {
            cell.set(Account {
                budget: 0,
                ..account
            });
            if let Some(report) = EXHAUSTED.get() {
                report(account.budget);
            }
            std::process::exit(1);
        }
        cell.set(account);
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
    ACCOUNT.set(Account {
        budget: bytes,
        live: 0,
        backstop: bytes.saturating_mul(BACKSTOP),
    });
}

/// Runs `f` with this thread's account set aside (what `f` allocates is not charged)
/// and restores it after.
pub fn unbudgeted<T>(f: impl FnOnce() -> T) -> T {
    let saved = ACCOUNT.get();
    ACCOUNT.set(Account { budget: 0, ..saved });
    let result = f();
    ACCOUNT.set(saved);
    result
}

/// Registers what prints the backstop's error (see the module doc).
pub fn on_exhausted(report: fn(usize)) {
    let _ = EXHAUSTED.set(report);
}

/// `Some(budget)` when this thread has allocated more than its budget.
pub fn exceeded() -> Option<usize> {
    let account = ACCOUNT.get();
    (account.budget != 0 && account.live > account.budget).then_some(account.budget)
}
