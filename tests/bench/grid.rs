//! P4, the grid at tenant scale (issue 11), headless: the real `App` (egui_kittest harness, a
//! scripted backend, no window, no GPU) gets a `Get-Mailbox -ResultSize Unlimited` of the sim's
//! mailboxes page by page, then the grid is scrolled with the mouse wheel, sorted by a header
//! click and filtered by typing, and each frame's CPU time is taken.
//!
//! Frame times are `Harness::step` (the app's UI code and egui's layout; not tessellation or
//! painting; kittest also builds the AccessKit tree every frame, which the real window does only
//! for a screen reader). Memory is the heap the result added (a counting allocator) against the
//! JSON bytes of the pages. It drives the window through its accessible labels only (the
//! session's "Open output", a column header, "Filter"), so the grid work can keep it.
//!
//! `cargo bench --bench grid` (options after `--`: `--mailboxes N`, `--steps N`).

#[path = "counting_alloc.rs"]
mod counting_alloc;

use std::time::{Duration, Instant};

use counting_alloc::live;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use exo_connect::model::{Profile, Service};
use exo_connect::sim::World;
use exo_connect::sim::admin::dataset;
use exo_connect::ui::bridge::{ConnId, FakeBackend, SessionState, SessionView, UiEvent};
use exo_connect::ui::dialogs::FakeDialogs;
use exo_connect::ui::{App, AppOptions};
use serde_json::Value;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Time of one frame (one step of the harness), ms.
fn frame(h: &mut Harness<'static, App>) -> f64 {
    let t = Instant::now();
    h.step();
    ms(t.elapsed())
}

fn main() {
    let mut mailboxes = 100_000usize;
    let mut steps = 30usize;
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        match k.as_str() {
            "--mailboxes" => mailboxes = it.next().and_then(|v| v.parse().ok()).expect("N"),
            "--steps" => steps = it.next().and_then(|v| v.parse().ok()).expect("N"),
            "--bench" => {}
            other => panic!("unknown option {other} (--mailboxes N, --steps N)"),
        }
    }
    let world = World::seeded(1, mailboxes);
    let tenant = world
        .tenants
        .iter()
        .find(|t| t.mailboxes == mailboxes)
        .expect("the big tenant");

    let (backend, fake) = FakeBackend::new();
    // The sim's names include Japanese and Arabic: draw them as boxes rather than fail (the
    // window finds system fonts for them; the harness has egui's built-in fonts only).
    let mut h = Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .allow_missing_glyphs()
        .build_eframe(move |cc| {
            App::new(
                cc,
                Box::new(backend),
                Box::new(FakeDialogs::default()),
                AppOptions::default(),
            )
        });
    let p = Profile::new("Contoso EXO", "ops@contoso.com", Service::ExchangeOnline);
    let conn = ConnId(1);
    fake.push(UiEvent::ProfilesLoaded(vec![p.clone()]));
    fake.push(UiEvent::SessionsChanged(vec![SessionView {
        conn,
        profile_id: p.id,
        profile_name: p.name.clone(),
        color: None,
        service: p.service,
        account: p.upn.clone(),
        tenant: "contoso.com".into(),
        endpoint_host: "127.0.0.1".into(),
        state: SessionState::Connected,
        token_expires_at: Some(chrono::Utc::now() + chrono::Duration::hours(1)),
        last_activity: chrono::Utc::now(),
        requests: 1,
    }]));
    h.run();
    h.get_by_label("Open output").click();
    h.run();
    let line = "Get-Mailbox -ResultSize Unlimited".to_string();
    fake.push(UiEvent::RunStarted {
        conn,
        line: line.clone(),
    });
    h.run();

    // Loading: a page of 1,000 rows per frame, as they would arrive.
    let base = live();
    let (mut json_bytes, mut load_frames, mut make) = (0usize, Vec::new(), Duration::ZERO);
    for start in (0..mailboxes).step_by(1000) {
        let t = Instant::now();
        let rows: Vec<_> = (start..(start + 1000).min(mailboxes))
            .map(|i| dataset::mailbox(1, tenant, i))
            .collect();
        json_bytes += serde_json::to_vec(&Value::Array(
            rows.iter().cloned().map(Value::Object).collect(),
        ))
        .map_or(0, |v| v.len());
        make += t.elapsed();
        fake.push(UiEvent::RunRows { conn, rows });
        load_frames.push(frame(&mut h));
    }
    fake.push(UiEvent::RunDone {
        conn,
        rows: mailboxes as u64,
        pages: load_frames.len() as u32,
        elapsed: Duration::from_secs(1),
    });
    h.run();
    let added = live() - base;
    println!(
        "result: {mailboxes} rows, {:.1} MiB of JSON (rows made in {:.1} s, not counted)",
        json_bytes as f64 / 1048576.0,
        make.as_secs_f64()
    );
    println!(
        "loading, a page per frame: median {:.1} ms/frame, last {:.1} ms, total {:.2} s",
        median(load_frames.clone()),
        load_frames.last().copied().unwrap_or_default(),
        load_frames.iter().sum::<f64>() / 1e3
    );
    println!(
        "heap added by the result: {:.1} MiB = {:.2} × the JSON bytes",
        added as f64 / 1048576.0,
        added as f64 / json_bytes as f64
    );

    // Idle and scrolling frames over the grid.
    let idle: Vec<f64> = (0..5).map(|_| frame(&mut h)).collect();
    h.hover_at(egui::pos2(800.0, 500.0));
    h.step();
    let mut scroll = Vec::new();
    for _ in 0..steps {
        h.event(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Line,
            delta: egui::vec2(0.0, -3.0),
            modifiers: egui::Modifiers::NONE,
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Wheel,
        });
        scroll.push(frame(&mut h));
    }
    println!(
        "frame with the grid showing: idle {:.1} ms; one wheel step median {:.1} ms, {steps} steps {:.2} s",
        median(idle),
        median(scroll.clone()),
        scroll.iter().sum::<f64>() / 1e3
    );

    // Sort: a header click; the sort runs in the frames that follow.
    h.get_by_label("DisplayName").click();
    let sort: Vec<f64> = (0..3).map(|_| frame(&mut h)).collect();
    println!(
        "sort by DisplayName: frames after the click {:.0} / {:.0} / {:.0} ms",
        sort[0], sort[1], sort[2]
    );

    // Filter: typing "sales", a frame per key.
    h.get_by_label("Filter").click();
    h.step();
    let mut typing = Vec::new();
    for ch in "sales".chars() {
        h.event(egui::Event::Text(ch.to_string()));
        typing.push(frame(&mut h));
    }
    println!(
        "filter, typing 'sales': {} ms per key",
        typing
            .iter()
            .map(|t| format!("{t:.0}"))
            .collect::<Vec<_>>()
            .join(" / ")
    );
}
