//! The process's heap allocator: mimalloc (glibc's malloc and free were a fifth of the
//! engine's CPU under load, and glibc keeps what a burst freed — see `endure bench idle`),
//! built with its feature `no_thp`, and the process refuses transparent huge pages
//! ([`refuse_huge_pages`]). mimalloc otherwise asks Linux for them (`MADV_HUGEPAGE`), and the
//! kernel then zeroes 2 MiB at each first touch — a quarter of the process's CPU in
//! `perf record` of `endure bench steps`, with stalls of 16–30 ms inside commits (the slow
//! mode of the local steps) and 20–30 MB more resident when idle.
//! A build with the feature `count-allocations` instead counts every allocation
//! (`stats_alloc` around the system allocator: how many blocks a program asks for does not
//! depend on which allocator serves them), and `endure bench` prints them per unit of work
//! (`allocations_per_wf`) — exact where CPU time is noise. For measurement builds only.

/// The allocator of a normal build.
#[cfg(not(feature = "count-allocations"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The allocator of a measurement build.
#[cfg(feature = "count-allocations")]
#[global_allocator]
static ALLOCATOR: &stats_alloc::StatsAlloc<std::alloc::System> = &stats_alloc::INSTRUMENTED_SYSTEM;

/// Asks Linux not to back this process's memory with transparent huge pages
/// (`PR_SET_THP_DISABLE`), so that a system whose THP setting is `always` gives it no 2 MiB
/// pages either (`no_thp` only stops mimalloc asking for them). Called first in `main`;
/// memory touched later is in 4 KiB pages. A refusal by the kernel is logged, not fatal.
pub(crate) fn refuse_huge_pages() {
    #[cfg(target_os = "linux")]
    if let Err(error) = rustix::thread::disable_transparent_huge_pages(true) {
        eprintln!("warning: could not turn transparent huge pages off for this process: {error}");
    }
}

/// Blocks allocated so far (a reallocation counts as one), when this build counts them.
pub(crate) fn allocated() -> Option<u64> {
    #[cfg(feature = "count-allocations")]
    {
        let stats = ALLOCATOR.stats();
        Some((stats.allocations + stats.reallocations) as u64)
    }
    #[cfg(not(feature = "count-allocations"))]
    {
        None
    }
}
