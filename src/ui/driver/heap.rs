//! The window process's allocator set-up (Linux/glibc only): at most [`ARENA_MAX`] malloc
//! arenas, set before the engine's threads start.
//!
//! glibc gives each thread that allocates its own arena (up to 8 per core). The engine's threads
//! parse a big result's pages, so its memory is spread over several arenas; after "Close output"
//! the store is freed and `malloc_trim(0)` runs (`ui/output/results.rs`), but an arena whose pages
//! still hold a few live chunks cannot hand them back: 36 MiB stayed resident above the start
//! after a 100,000-row result, only 2.4 MiB of it live heap. With fewer arenas the freed memory
//! lies in fewer, emptier heaps that the trim can return: 9 MiB above the start instead of
//! 36 MiB, for 3–4% more CPU in the load (tests/bench/README.md, 2026-12-01: memory after Close
//! output).
//! The UI thread keeps the main arena; the engine's two workers share the other.

/// glibc's `M_ARENA_MAX` for the window's process: the main arena and one more.
pub const ARENA_MAX: i32 = 2;

/// Caps glibc's arenas (a no-op elsewhere). Effective for arenas not made yet: call it before
/// the engine's threads start (glibc fixes its limit once a process has more than 8 arenas).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn limit_arenas() {
    /// `M_ARENA_MAX` of glibc's malloc.h.
    const M_ARENA_MAX: std::ffi::c_int = -8;
    unsafe extern "C" {
        fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
    }
    // SAFETY: mallopt takes two ints by value and only changes malloc's own settings.
    unsafe {
        mallopt(M_ARENA_MAX, ARENA_MAX);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn limit_arenas() {}
