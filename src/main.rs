//! The `burgerpeiling` binary: everything lives in the library; see `cli`.

/// mimalloc instead of the system allocator: glibc's per-thread arenas kept the freed memory of
/// one survey year for the next, so a run's peak resident memory was far above what it held at
/// any moment (issue 17, BENCHMARKS.md "Memory").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(burgerpeiling::cli::main());
}
