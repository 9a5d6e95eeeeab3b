//! The kplan binary: runs the CLI on a thread with a large stack, because deeply
//! nested Starlark (and the templates it renders) is parsed and evaluated recursively;
//! the frontend also bounds nesting, so input cannot overflow even this stack.

/// Counts what the evaluation thread allocates, to stop a package at its budget
/// (`--max-eval-memory`, see `kplan::memory`).
#[global_allocator]
static ALLOCATOR: kplan::memory::Accounting<std::alloc::System> =
    kplan::memory::Accounting(std::alloc::System);

/// 512 MiB of address space; pages are only touched when used.
const STACK_BYTES: usize = 512 << 20;

fn main() {
    let args: Vec<_> = std::env::args_os().collect();
    let code = std::thread::Builder::new()
        .name("kplan".into())
        .stack_size(STACK_BYTES)
        .spawn(move || kplan::cli::run(args))
        .map(|h| h.join().unwrap_or(101))
        .unwrap_or_else(|e| {
            kplan::console::write(
                kplan::console::Stream::Err,
                format_args!("error: cannot start kplan: {e}\n"),
            );
            1
        });
    std::process::exit(code);
}
