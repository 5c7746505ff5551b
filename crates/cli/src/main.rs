//! The `stockwire` binary: parses arguments and hands over to the library.

fn main() -> std::process::ExitCode {
    tune_allocator();
    stockwire_cli::main()
}

/// glibc keeps memory freed by a thread in that thread's arena (up to eight per core) and
/// rarely gives it back: with large request bodies read on one thread and processed on
/// another, each arena kept its own free space and the mock's peak resident memory was
/// well above what was live. One arena shares it (small allocations still go through each
/// thread's cache).
///
/// Blocks up to 8 MiB come from the heap, not from a fresh `mmap`: glibc's own threshold
/// rises to the size of the last mapped block freed, and a block of exactly that size is
/// mapped again, so a steady load of equal batches (the item list of a 1,000-item request,
/// about 300 KB) mapped, faulted in page by page and unmapped it on every request (page
/// faults and `munmap` were a fifth of the mock's time). Up to 8 MiB freed at the top of the
/// heap is kept for the next request. Measured with `run-all.sh`'s load: 1,000 items
/// 3,000 → 3,900 req/s at +1 MB, 10,000 items 330 → 410 req/s at +6 MB peak RSS.
///
/// Set here, before any thread starts, because it is a choice for this process, not for
/// every program that embeds the mock. A no-op off glibc.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes glibc's allocator settings; it takes no pointers and is
        // called before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
            libc::mallopt(libc::M_MMAP_THRESHOLD, 8 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 8 << 20);
        }
    }
}
