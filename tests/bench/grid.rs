//! P4 (issue 11): the result grid at real size. The window's own code — the app in a headless
//! egui_kittest harness, no GPU — with the real driver and engine, signs in to a sim process and
//! runs `Get-Mailbox -ResultSize Unlimited`, then scrolls, sorts and filters like a user while
//! this program measures:
//!
//! - load: from Run to the frame that shows every row (and from the first page to it), frames
//!   stepped at 60 Hz while pages arrive, as a window woken by each page would;
//! - memory: resident set before the run, once every row is shown, and after "Close output"
//!   (the script counts the JSON bytes of the same result);
//! - CPU of the UI thread per frame (`CLOCK_THREAD_CPUTIME_ID`, nanoseconds) while scrolling a
//!   mouse wheel step per frame, down and across;
//! - sort and filter: from the click (or keystroke) to the frame that shows the new order, with
//!   frames stepped at 60 Hz meanwhile (how many were produced, the slowest one), and the
//!   worker's own time.
//!
//! `tests/bench/p4_grid.sh` starts the sim and the profile this needs and runs it in release:
//! `bench_grid --home DIR --profile NAME --password PASSWORD [--rows N]`. Prints `key=value`
//! lines.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use egui::{Event, Modifiers, MouseWheelSource, MouseWheelUnit, TouchPhase, vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable};

use exo_connect::ui::bridge::{SessionState, SignInStage};
use exo_connect::ui::dialogs::FakeDialogs;
use exo_connect::ui::driver::{self, DriverConfig, Secrets};
use exo_connect::ui::{App, AppOptions, probe};

type H = Harness<'static, App>;

const FRAME: Duration = Duration::from_millis(16);

struct Args {
    home: PathBuf,
    profile: String,
    password: String,
    rows: usize,
}

fn args() -> Args {
    let mut a = std::env::args().skip(1);
    let (mut home, mut profile, mut password, mut rows) = (None, None, None, 100_000);
    while let Some(k) = a.next() {
        let v = a
            .next()
            .unwrap_or_else(|| fail(&format!("{k} needs a value")));
        match k.as_str() {
            "--home" => home = Some(PathBuf::from(v)),
            "--profile" => profile = Some(v),
            "--password" => password = Some(v),
            "--rows" => rows = v.parse().unwrap_or_else(|_| fail("--rows N")),
            _ => fail(&format!("unknown argument {k}")),
        }
    }
    Args {
        home: home.unwrap_or_else(|| fail("--home DIR is required")),
        profile: profile.unwrap_or_else(|| fail("--profile NAME is required")),
        password: password.unwrap_or_else(|| fail("--password P is required")),
        rows,
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("bench_grid: {msg}");
    std::process::exit(2)
}

/// Whether the window's "release rows" thread (`ui::output::results`) is still running.
fn release_thread_alive() -> bool {
    std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
        .any(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == "release rows")
        })
}

/// glibc's own account of the heap (`mallinfo2`): bytes in use by live allocations and bytes
/// free but kept in its arenas; `{when}_heap_in_use=`, `{when}_heap_free_kept=`, and the
/// resident size of the biggest anonymous mappings from `/proc/self/smaps`.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn heap_figures(when: &str) {
    #[repr(C)]
    #[derive(Default)]
    struct Mallinfo2 {
        arena: usize,
        ordblks: usize,
        smblks: usize,
        hblks: usize,
        hblkhd: usize,
        usmblks: usize,
        fsmblks: usize,
        uordblks: usize,
        fordblks: usize,
        keepcost: usize,
    }
    unsafe extern "C" {
        fn mallinfo2() -> Mallinfo2;
    }
    // SAFETY: mallinfo2 takes nothing and returns a struct of ten size_t.
    let m = unsafe { mallinfo2() };
    println!("{when}_heap_in_use={}", m.uordblks + m.hblkhd);
    println!("{when}_heap_free_kept={}", m.fordblks);
    println!("{when}_heap_mmapped={}", m.hblkhd);
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
    let mut maps: Vec<(u64, String)> = Vec::new();
    let mut name = String::new();
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or_default();
        if first.contains('-') && !first.ends_with(':') {
            name = line
                .split_whitespace()
                .nth(5)
                .unwrap_or("[anon]")
                .to_string();
        } else if let Some(kb) = line.strip_prefix("Rss:") {
            let kb: u64 = kb.trim().trim_end_matches("kB").trim().parse().unwrap_or(0);
            maps.push((kb, name.clone()));
        }
    }
    maps.sort_by_key(|m| std::cmp::Reverse(m.0));
    let top: Vec<String> = maps
        .iter()
        .take(8)
        .map(|(kb, n)| format!("{} KiB {n}", kb))
        .collect();
    println!("{when}_biggest_mappings={}", top.join(", "));
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn heap_figures(_when: &str) {}

/// Resident set (bytes).
fn rss() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// CPU time of the calling thread, to the nanosecond (`probe::thread_cpu`:
/// `clock_gettime(CLOCK_THREAD_CPUTIME_ID)` brings the running thread's count up to date when
/// read, where `/proc/thread-self/schedstat` moves in scheduler ticks, too coarse for a 4 ms
/// target). Elsewhere than 64-bit Linux the probe counts wall time: the bench refuses.
fn thread_cpu() -> Duration {
    if !cfg!(all(target_os = "linux", target_pointer_width = "64")) {
        fail("the thread CPU clock is read on 64-bit Linux only");
    }
    probe::thread_cpu()
}

/// One frame; its UI-thread CPU time.
fn frame(h: &mut H) -> Duration {
    let c = thread_cpu();
    h.step();
    thread_cpu() - c
}

/// One frame with `EXO_CONNECT_FRAME_LOG=1` (`exo_connect::ui::probe`): its CPU time and where
/// it went (the app's phase marks; the remainder is egui's end of the pass and kittest).
fn frame_phases(h: &mut H) -> (Duration, String) {
    let c = probe::thread_cpu();
    h.step();
    let total = probe::thread_cpu() - c;
    let phases = probe::take_phases(c);
    let marked: Duration = phases.iter().map(|p| p.1).sum();
    let mut text: Vec<String> = phases
        .iter()
        .map(|(n, d)| format!("{n} {:.2}", d.as_secs_f64() * 1e3))
        .collect();
    text.push(format!(
        "after App::ui {:.2}",
        ms_f(total.saturating_sub(marked))
    ));
    (total, text.join("; "))
}

fn ms_f(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Frames at 60 Hz until `done` (bounded); returns (wall, frames, slowest frame CPU). With the
/// frame probe on, prints every frame's CPU and the slowest frame's phases as `{what}_…`.
fn frames_until(
    h: &mut H,
    what: &str,
    limit: Duration,
    done: impl Fn(&H) -> bool,
) -> (Duration, u32, Duration) {
    let start = Instant::now();
    let (mut n, mut slowest) = (0, Duration::ZERO);
    let (mut all, mut slowest_phases) = (Vec::new(), String::new());
    loop {
        let next = Instant::now() + FRAME;
        let cpu = if probe::on() {
            let (cpu, phases) = frame_phases(h);
            if cpu > slowest {
                slowest_phases = phases;
            }
            all.push(format!("{:.2}", ms_f(cpu)));
            cpu
        } else {
            frame(h)
        };
        slowest = slowest.max(cpu);
        n += 1;
        if done(h) {
            if probe::on() {
                println!("{what}_frames_cpu_ms={}", all.join(","));
                println!("{what}_slowest_frame_phases_ms={slowest_phases}");
            }
            return (start.elapsed(), n, slowest);
        }
        if start.elapsed() > limit {
            fail("timed out");
        }
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
}

fn wait(h: &mut H, what: &str, done: impl Fn(&App) -> bool) {
    let start = Instant::now();
    while !done(h.state()) {
        if start.elapsed() > Duration::from_secs(60) {
            fail(&format!("timed out waiting for {what}"));
        }
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Steps until a widget of that label is there (the driver's answer may take a frame or two).
fn wait_label(h: &mut H, label: &str) {
    let start = Instant::now();
    while h.query_all_by_label(label).next().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let labels: Vec<String> = h
                .root()
                .children_recursive()
                .filter_map(|n| n.accesskit_node().label().or(n.accesskit_node().value()))
                .collect();
            eprintln!("centre {:?}; labels: {labels:?}", h.state().centre);
            fail(&format!("timed out waiting for {label:?}"));
        }
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn click(h: &mut H, label: &str) {
    wait_label(h, label);
    h.get_all_by_label(label)
        .next()
        .unwrap_or_else(|| fail(label))
        .click();
    h.step();
    h.step();
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

fn main() {
    let a = args();
    let mut cfg = DriverConfig::new(a.home.clone());
    cfg.secrets = Secrets::Memory;
    let started = driver::spawn(cfg).unwrap_or_else(|e| fail(&e));
    let backend = started.backend;
    let mut h: H = Harness::builder()
        .with_size(vec2(1400.0, 900.0))
        // The sim's names include scripts the harness's one bundled font cannot draw.
        .allow_missing_glyphs()
        .with_accessibility_check(false)
        .build_eframe(move |cc| {
            App::new(
                cc,
                Box::new(backend),
                Box::new(FakeDialogs::default()),
                AppOptions::default(),
            )
        });
    wait(&mut h, "the profiles", |app| !app.profiles.is_empty());
    sign_in(&mut h, &a);
    let conn = h.state().sessions[0].conn;
    click(&mut h, "Open output");

    // Load.
    let rss0 = rss();
    heap_figures("before");
    wait_label(&mut h, "Cmdlet");
    h.get_by_label("Cmdlet").click();
    h.step();
    // Set, not typed: the window may have restored the last run's line into the field.
    h.state_mut()
        .set_cmdlet_line(conn, "Get-Mailbox -ResultSize Unlimited");
    // The window also restores the last close's filter (`workspace.json` in the home, which
    // `p4_grid.sh` keeps between runs; saved about once a second, so what the last run left is
    // whichever filter step it was on then, e.g. `Department:legal`): the load is measured to
    // every row shown, unfiltered and in arrival order, so neither a filter nor a sort is kept.
    let out = h
        .state_mut()
        .output_state_mut(conn)
        .unwrap_or_else(|| fail("output"));
    out.filter.clear();
    out.sort = None;
    h.step();
    let t0 = Instant::now();
    click(&mut h, "Run");
    let mut first_page = None;
    let mut load_frames = Vec::new();
    let want = format!("{} of {} rows", a.rows, a.rows);
    let mut seen = LoadTimeline::new(t0);
    loop {
        let next = Instant::now() + FRAME;
        load_frames.push(frame(&mut h));
        let out = h.state().output(conn).unwrap();
        seen.note(out);
        if first_page.is_none() && out.rows_received() > 0 {
            first_page = Some(Instant::now());
        }
        if let Some(e) = &out.error {
            dump_load_state(&h, conn, &want, &seen);
            fail(&format!("the run failed: {e}"));
        }
        if out.summary.is_some() && h.query_by_label(&want).is_some() {
            break;
        }
        // Every row came and the view settled, yet the grid does not say `want`: waiting longer
        // changes nothing (a filter, or another row count than --rows).
        if out.summary.is_some() && out.view_settled() && seen.since_last() > STUCK {
            dump_load_state(&h, conn, &want, &seen);
            fail(&format!(
                "the run ended with {} rows and the grid settled, but it does not show {want:?}",
                out.rows_received()
            ));
        }
        if t0.elapsed() > Duration::from_secs(300) {
            dump_load_state(&h, conn, &want, &seen);
            fail("the result did not arrive");
        }
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    let shown = Instant::now();
    let rss1 = rss();
    let store_bytes = h.state().output(conn).unwrap().results().memory_bytes();
    let columns = h.state().output(conn).unwrap().results().column_count();
    println!("rows={}", a.rows);
    println!("columns={columns}");
    println!("load_run_to_shown_ms={}", ms(shown - t0));
    println!(
        "load_first_page_to_shown_ms={}",
        ms(shown - first_page.unwrap_or(t0))
    );
    println!(
        "load_frame_cpu_median_ms={}",
        ms(percentile(&mut load_frames, 0.5))
    );
    println!("rss_before={rss0}");
    println!("rss_loaded={rss1}");
    println!("rss_added={}", rss1.saturating_sub(rss0));
    println!("store_memory_bytes={store_bytes}");

    scroll(&mut h, &a);
    sort_and_filter(&mut h, conn);

    // Close the output: its rows go.
    click(&mut h, "Close output");
    for _ in 0..5 {
        h.step();
    }
    std::thread::sleep(Duration::from_millis(300));
    println!("rss_after_close={}", rss());
    // The store is dropped and the heap trimmed on the window's "release rows" thread once the
    // sort/filter workers let go: read the memory again once that thread is gone.
    let t = Instant::now();
    println!("release_thread_at_300ms={}", release_thread_alive());
    while release_thread_alive() && t.elapsed() < Duration::from_secs(30) {
        h.step();
        std::thread::sleep(FRAME);
    }
    println!("release_thread_gone_after_ms={}", ms(t.elapsed()));
    println!("rss_after_release={}", rss());
    heap_figures("after_release");
    // What the window keeps whatever the result: egui's font atlas (one f32 of coverage per
    // pixel) grows with every script the rows showed and is never shrunk.
    let [w, h_px] = h.ctx.fonts(|f| f.font_image_size());
    println!("font_atlas_bytes={}", w * h_px * 4);
}

/// When the load's visible state last changed (for the report of a load that never ended).
struct LoadTimeline {
    t0: Instant,
    frames: u64,
    /// (rows received, store rows, running, summary set): the last value seen and since when.
    last: (usize, usize, bool, bool),
    since: Duration,
    /// Every change, as `at_ms:received/store/running/summary` (bounded).
    changes: Vec<String>,
}

/// How long a settled, ended load may show something else than every row before the bench
/// gives up (a filter worker re-runs for new rows within the time its last job took).
const STUCK: Duration = Duration::from_secs(20);

impl LoadTimeline {
    /// Time since the visible state last changed.
    fn since_last(&self) -> Duration {
        self.t0.elapsed().saturating_sub(self.since)
    }

    fn new(t0: Instant) -> LoadTimeline {
        LoadTimeline {
            t0,
            frames: 0,
            last: (usize::MAX, 0, false, false),
            since: Duration::ZERO,
            changes: Vec::new(),
        }
    }

    fn note(&mut self, out: &exo_connect::ui::output::OutputState) {
        self.frames += 1;
        let now = (
            out.rows_received(),
            out.results().len(),
            out.running.is_some(),
            out.summary.is_some(),
        );
        if now != self.last {
            self.last = now;
            self.since = self.t0.elapsed();
            if self.changes.len() < 400 {
                self.changes.push(format!(
                    "{:.0}:{}/{}/{}/{}",
                    ms_f(self.since),
                    now.0,
                    now.1,
                    u8::from(now.2),
                    u8::from(now.3)
                ));
            }
        }
    }
}

/// What the window showed when the load gave up (stderr): enough to tell a run that never
/// started (no `running`, no rows) from a lost page or end (rows stop, `running` stays), a view
/// that never settled (every row in, the rows label short) or a different end (an error).
fn dump_load_state(h: &H, conn: exo_connect::ui::bridge::ConnId, want: &str, t: &LoadTimeline) {
    let app = h.state();
    eprintln!(
        "bench_grid: load state after {:.1} s, {} frames; waited for {want:?} and a summary",
        t.t0.elapsed().as_secs_f64(),
        t.frames
    );
    eprintln!(
        "  last change at {:.1} s; changes (ms:received/store/running/summary): {}",
        t.since.as_secs_f64(),
        t.changes.join(" ")
    );
    eprintln!(
        "  centre {:?}; signin {:?}",
        app.centre,
        app.signin.as_ref().map(|s| &s.stage)
    );
    for s in &app.sessions {
        eprintln!(
            "  session {:?} {} {:?} requests {} last_error {:?}",
            s.conn, s.profile_name, s.state, s.requests, s.last_error
        );
    }
    for (level, text) in app.notices.iter().rev().take(10) {
        eprintln!("  notice {level:?}: {text}");
    }
    match app.output(conn) {
        None => eprintln!("  no output state for {conn:?}"),
        Some(o) => {
            eprintln!(
                "  line {:?}; result of {:?}; flagged {:?}",
                o.line, o.result_of, o.flagged
            );
            eprintln!(
                "  running {:?}; summary {:?}; error {:?}",
                o.running, o.summary, o.error
            );
            eprintln!(
                "  rows received {}, in the store {}, shown {}; sort {:?}, filter {:?}; view busy {:?}, settled {}",
                o.rows_received(),
                o.results().len(),
                o.shown_rows().len(),
                o.sort,
                o.filter,
                o.busy(),
                o.view_settled()
            );
            for w in o.warnings.iter().rev().take(10) {
                eprintln!("  warning: {w}");
            }
        }
    }
    let labels: Vec<String> = h
        .root()
        .children_recursive()
        .filter_map(|n| n.accesskit_node().label().or(n.accesskit_node().value()))
        .filter(|l| {
            l.contains("rows")
                || l.contains("Running")
                || l.contains("Error")
                || l.contains("Warning")
        })
        .take(20)
        .collect();
    eprintln!("  labels with rows/Running/Error/Warning: {labels:?}");
    let threads: Vec<String> = std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
        .map(|c| c.trim().to_string())
        .collect();
    eprintln!("  threads: {threads:?}");
}

fn sign_in(h: &mut H, a: &Args) {
    let node = h
        .get_all_by_label(&a.profile)
        .min_by(|x, y| x.rect().min.x.total_cmp(&y.rect().min.x))
        .unwrap_or_else(|| fail(&format!("no profile {}", a.profile)));
    node.click();
    h.step();
    h.step();
    click(h, "Connect");
    wait(h, "the password step", |app| {
        matches!(
            app.signin.as_ref().map(|v| &v.stage),
            Some(SignInStage::Password { .. })
        )
    });
    wait_label(h, "Password");
    h.get_by_label("Password").click();
    h.step();
    h.get_by_label("Password").type_text(&a.password);
    h.step();
    click(h, "Sign in");
    wait(h, "the session", |app| {
        app.signin.is_none()
            && app
                .sessions
                .iter()
                .any(|s| s.state == SessionState::Connected)
    });
}

/// A wheel event over the grid (below the toolbar's Filter field).
fn wheel(h: &mut H, delta: egui::Vec2) {
    let at = h.get_by_label("Filter").rect().center() + vec2(300.0, 200.0);
    h.hover_at(at);
    h.event(Event::MouseWheel {
        unit: MouseWheelUnit::Point,
        delta,
        phase: TouchPhase::Move,
        source: MouseWheelSource::Unknown,
        modifiers: Modifiers::NONE,
    });
}

/// Back to the first row and column (the scroll animates over a few frames).
fn to_top_left(h: &mut H) {
    wheel(h, vec2(1e9, 1e9));
    for _ in 0..30 {
        h.step();
    }
}

/// A mouse wheel step (50 points) per frame: down through the rows, then across the columns.
fn scroll(h: &mut H, a: &Args) {
    let per = |h: &mut H, delta: egui::Vec2, n: usize| {
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            wheel(h, delta);
            v.push(frame(h));
        }
        v
    };
    let mut down = per(h, vec2(0.0, -50.0), 400);
    let mut jump = per(h, vec2(0.0, -(a.rows as f32) * 4.0), 20);
    let mut across = per(h, vec2(-50.0, 0.0), 300);
    for (name, v) in [
        ("down", &mut down),
        ("jump", &mut jump),
        ("across", &mut across),
    ] {
        println!("scroll_{name}_frames={}", v.len());
        println!("scroll_{name}_cpu_median_ms={}", ms(percentile(v, 0.5)));
        println!("scroll_{name}_cpu_p95_ms={}", ms(percentile(v, 0.95)));
        println!("scroll_{name}_cpu_max_ms={}", ms(percentile(v, 1.0)));
    }
}

fn sort_and_filter(h: &mut H, conn: exo_connect::ui::bridge::ConnId) {
    let settled = move |h: &H| {
        h.state()
            .output(conn)
            .is_some_and(|o| o.view_settled() && o.busy().is_none())
    };
    let worker = |h: &H| {
        h.state()
            .output(conn)
            .and_then(|o| o.last_view_job())
            .unwrap_or_default()
    };
    to_top_left(h);
    // A header click (DisplayName is in view), then columns further right set as a click would.
    for (label, what) in [
        ("DisplayName", "sort_text"),
        ("DisplayName", "sort_text_desc"),
        ("WhenCreated", "sort_date"),
        ("RecipientLimits", "sort_number"),
    ] {
        if label == "DisplayName" {
            h.get_all_by_label(label)
                .next()
                .unwrap_or_else(|| fail(label))
                .click();
        } else {
            let out = h
                .state_mut()
                .output_state_mut(conn)
                .unwrap_or_else(|| fail("output"));
            out.sort = Some((label.to_string(), true));
        }
        let (wall, n, slowest) = frames_until(h, what, Duration::from_secs(60), settled);
        println!("{what}_ms={}", ms(wall));
        println!("{what}_worker_ms={}", ms(worker(h)));
        println!("{what}_frames_meanwhile={n}");
        println!("{what}_slowest_frame_cpu_ms={}", ms(slowest));
    }
    for (typed, what) in [
        ("sales", "filter_any"),
        ("Department:legal", "filter_column"),
        ("", "filter_cleared"),
    ] {
        h.get_by_label("Filter").click();
        h.step();
        // Select all, delete, the new text: one frame's input, as a window gets a paste over a
        // selection. Not kittest's `key_press`/`event`: the harness runs one frame per queued
        // event, so the first "frame" measured was five frames (before 2026-11-30 night).
        let events = &mut h.input_mut().events;
        for (key, modifiers) in [
            (egui::Key::A, Modifiers::COMMAND),
            (egui::Key::Backspace, Modifiers::NONE),
        ] {
            for pressed in [true, false] {
                events.push(Event::Key {
                    key,
                    physical_key: None,
                    pressed,
                    repeat: false,
                    modifiers,
                });
            }
        }
        if !typed.is_empty() {
            events.push(Event::Text(typed.to_string()));
        }
        let (wall, n, slowest) = frames_until(h, what, Duration::from_secs(60), settled);
        println!("{what}_ms={}", ms(wall));
        println!("{what}_worker_ms={}", ms(worker(h)));
        println!("{what}_frames_meanwhile={n}");
        println!("{what}_slowest_frame_cpu_ms={}", ms(slowest));
        println!(
            "{what}_rows={}",
            h.state().output(conn).map_or(0, |o| o.shown_rows().len())
        );
    }
}
