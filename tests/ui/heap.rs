//! The window's process caps glibc's malloc arenas when its driver starts (`ui::driver::heap`):
//! the engine's threads then share a few arenas, so what a closed output freed lies in fewer,
//! emptier heaps that `malloc_trim` can hand back (memory after "Close output", P4).
//!
//! glibc fixes its arena limit per process, so the check runs in a child process of this test
//! binary (this test alone, flagged by an environment variable) and counts the arenas glibc's
//! `malloc_stats` lists on the child's stderr.

#![cfg(all(target_os = "linux", target_env = "gnu"))]

use std::process::Command;
use std::sync::{Arc, Barrier};

use exo_connect::ui::driver::{self, DriverConfig, Secrets, heap::ARENA_MAX};

const CHILD: &str = "EXO_CONNECT_TEST_ARENAS_CHILD";
const NAME: &str = "heap::the_window_process_keeps_to_a_few_malloc_arenas";

#[test]
fn the_window_process_keeps_to_a_few_malloc_arenas() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", NAME, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the child failed: {stderr}");
    let arenas = stderr.lines().filter(|l| l.starts_with("Arena ")).count();
    assert!(
        arenas > 0,
        "glibc's malloc_stats printed no arena: {stderr}"
    );
    // The main thread's and the test thread's arenas were made before the driver started.
    assert!(
        arenas <= ARENA_MAX as usize,
        "{arenas} arenas after the driver and 8 allocating threads started (cap {ARENA_MAX})"
    );
}

/// The window's start (the driver), then eight threads allocating at once, as the engine's
/// threads do while pages arrive; then glibc's per-arena figures on stderr.
fn child() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = DriverConfig::new(dir.path().to_path_buf());
    cfg.secrets = Secrets::Memory;
    let started = driver::spawn(cfg).unwrap();
    let all = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|k| {
            let all = all.clone();
            std::thread::spawn(move || {
                all.wait();
                let v: Vec<Vec<u8>> = (0..64).map(|i| vec![k as u8; 1024 + i]).collect();
                all.wait();
                v.len()
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), 64);
    }
    unsafe extern "C" {
        fn malloc_stats();
    }
    // SAFETY: malloc_stats takes nothing and prints malloc's figures to stderr.
    unsafe { malloc_stats() };
    drop(started);
}
