//! Benchmarks only: a frame probe switched on by `EXO_CONNECT_FRAME_LOG=1` (off, it costs one
//! cached flag test per call). With it on:
//! - the window prints one line per frame on stderr (`frame N +s.sss causes: … input: …
//!   events: …`): egui's `repaint_causes` (who asked for this frame), the raw input events and
//!   the driver's events it drained — how `tests/bench/idle.py` finds what draws an idle window;
//! - [`phase`] marks split a frame's UI-thread CPU time by what it did (the grid's view sync,
//!   its "matched in" hint, the cells…), which `bench_grid` prints for its slowest frames.
//!
//! Nothing here changes what the window does or draws.

use std::cell::RefCell;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Whether `EXO_CONNECT_FRAME_LOG=1` (read once).
pub fn on() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("EXO_CONNECT_FRAME_LOG").is_some_and(|v| v == "1"))
}

thread_local! {
    static EVENTS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    static PHASES: RefCell<Vec<(&'static str, Duration)>> = const { RefCell::new(Vec::new()) };
}

/// The variant name of a `Debug` value (`Sessions(…)` → `Sessions`).
fn variant(d: &dyn std::fmt::Debug) -> String {
    let s = format!("{d:?}");
    let end = s.find(['(', '{', ' ']).unwrap_or(s.len());
    s[..end].to_string()
}

/// A driver event drained this frame (its variant name is logged with the frame).
pub fn note_event(ev: &dyn std::fmt::Debug) {
    if on() {
        EVENTS.with(|e| e.borrow_mut().push(variant(ev)));
    }
}

/// Marks the end of a phase of the frame: the UI thread's CPU time since the previous mark goes
/// to `name`.
pub fn phase(name: &'static str) {
    if on() {
        let now = thread_cpu();
        PHASES.with(|p| p.borrow_mut().push((name, now)));
    }
}

/// The phases marked since the last call, as (name, CPU time since the previous mark or
/// `start`), merged by name in first-seen order.
pub fn take_phases(start: Duration) -> Vec<(&'static str, Duration)> {
    let marks = PHASES.with(|p| std::mem::take(&mut *p.borrow_mut()));
    let mut out: Vec<(&'static str, Duration)> = Vec::new();
    let mut last = start;
    for (name, at) in marks {
        let d = at.saturating_sub(last);
        last = at;
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 += d,
            None => out.push((name, d)),
        }
    }
    out
}

/// The frame log's line for this frame, printed on stderr (call at the start of the frame).
pub fn log_frame(ctx: &egui::Context) {
    if !on() {
        return;
    }
    static START: OnceLock<Instant> = OnceLock::new();
    let t = START.get_or_init(Instant::now).elapsed().as_secs_f64();
    let causes: Vec<String> = ctx
        .repaint_causes()
        .iter()
        .map(|c| format!("{}:{} {}", c.file, c.line, c.reason))
        .collect();
    let input: Vec<String> = ctx.input(|i| i.raw.events.iter().map(|e| variant(e)).collect());
    let events = EVENTS.with(|e| std::mem::take(&mut *e.borrow_mut()));
    eprintln!(
        "frame {} +{t:.3} causes: [{}] input: [{}] events: [{}]",
        ctx.cumulative_frame_nr(),
        causes.join(", "),
        input.join(" "),
        events.join(" "),
    );
}

/// CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`, to the nanosecond).
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
pub fn thread_cpu() -> Duration {
    #[repr(C)]
    struct Timespec {
        sec: i64,
        nsec: i64,
    }
    unsafe extern "C" {
        fn clock_gettime(clock: i32, out: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut t = Timespec { sec: 0, nsec: 0 };
    // SAFETY: clock_gettime writes one timespec (two longs on 64-bit Linux) into `t`.
    if unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut t) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(t.sec as u64, t.nsec as u32)
}

/// Elsewhere: wall time since the first call (the probe is for Linux benchmarks).
#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
pub fn thread_cpu() -> Duration {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
}

#[cfg(test)]
mod tests {
    #[test]
    fn variant_names_cut_at_the_payload() {
        assert_eq!(super::variant(&Some(3)), "Some");
        assert_eq!(super::variant(&Option::<u8>::None), "None");
        assert_eq!(super::variant(&egui::Event::Copy), "Copy");
    }
}
