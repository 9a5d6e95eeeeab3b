//! The kplan binary: runs the CLI on a thread with a large stack, because deeply
//! nested Starlark (and the templates it renders) is parsed and evaluated recursively,
//! on this thread (it has at least the stack the frontend asks for an evaluation); the
//! frontend also bounds nesting, so input cannot overflow even this stack.

/// Counts what the evaluation thread allocates, to stop a package at its budget
/// (`--max-eval-memory`, see `kplan::memory`), over mimalloc: compiling allocates many
/// small, short-lived values (Starlark's AST and bytecode, owned copies of arguments);
/// glibc's malloc/free were a fifth of the instructions of compiling ethereum-package;
/// mimalloc cuts the total by 22% (jemalloc by 15%).
#[global_allocator]
static ALLOCATOR: kplan::memory::Accounting<mimalloc::MiMalloc> =
    kplan::memory::Accounting(mimalloc::MiMalloc);

/// 512 MiB of address space; pages are only touched when used.
const STACK_BYTES: usize = 512 << 20;

fn main() {
    let args: Vec<_> = std::env::args_os().collect();
    let code = std::thread::Builder::new()
        .name("kplan".into())
        .stack_size(STACK_BYTES)
        .spawn(move || kplan::cli::run_with_stack(args, STACK_BYTES))
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
