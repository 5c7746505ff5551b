//! The `stockwire` binary: parses arguments and hands over to the library.

fn main() -> std::process::ExitCode {
    tune_allocator();
    stockwire_cli::main()
}

/// glibc keeps memory freed by a thread in that thread's arena (up to eight per core) and
/// rarely gives it back: with large request bodies read on one thread and processed on
/// another, each arena kept its own free space and the mock's peak resident memory was
/// well above what was live. One arena shares it (small allocations still go through each
/// thread's cache). Set here, before any thread starts, because it is a choice for this
/// process, not for every program that embeds the mock. A no-op off glibc.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes glibc's allocator settings; it takes no pointers and is
        // called before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
}
