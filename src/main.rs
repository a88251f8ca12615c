//! The `burgerpeiling` binary: everything lives in the library; see `cli`.

/// mimalloc instead of the system allocator: glibc's per-thread arenas kept the freed memory of
/// one survey year for the next, so a run's peak resident memory was far above what it held at
/// any moment (issue 17, BENCHMARKS.md "Memory").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // No transparent huge pages: mimalloc asks for them, and the kernel then zeroes 2 MiB on
    // the first touch of each, also where a run uses a few kilobytes of it. Without them a
    // nightly run that adds one delivery took a tenth less CPU and a cold run's peak resident
    // memory fell by a sixth, at the same CPU (BENCHMARKS.md "Memory"). Only a hint: where the
    // kernel refuses, the run goes on with them.
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    std::process::exit(burgerpeiling::cli::main());
}
