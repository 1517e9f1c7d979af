//! Idle means idle (issue 11): once nothing moves, the window asks to be repainted only for the
//! next moment something it shows changes — a countdown's next minute, a hovered row's next
//! second, the demo phone's code count while the phone is on screen — and not at all when
//! nothing it shows will change. Read from the delay egui's last frame asked for.

use std::time::Duration;

use egui::ViewportId;
use egui_kittest::kittest::Queryable;

use exo_connect::ui::bridge::{
    DemoAccountView, DeviceCodeState, SessionState, SessionView, SignInStage, UiEvent,
};

use super::app::{
    T, app, app_with, cid, device_code_view, mailbox, now, page, session, three_profiles,
};

/// How long until the window repaints by itself (Duration::MAX: never).
fn repaint_delay(t: &T) -> Duration {
    t.h.output().viewport_output[&ViewportId::ROOT].repaint_delay
}

/// `session` with `token_secs` left and idle for 90 s.
fn at(conn: u64, token_secs: i64) -> SessionView {
    session(
        conn,
        &three_profiles()[0],
        SessionState::Connected,
        token_secs,
    )
}

/// Settles with the pointer outside the window.
fn settle(t: &mut T) {
    t.h.remove_cursor();
    t.h.run();
}

#[test]
fn sessions_and_a_100k_grid_left_alone_repaint_at_the_next_minute() {
    let mut t = app();
    let profiles = three_profiles();
    t.push(UiEvent::ProfilesLoaded(profiles));
    // 45.5 and 50.75 minutes of token left and 90 s idle at 09:00:00: minutes, counted from
    // 09:01 for the tokens (never more than is left) and up to 09:00 for the idle times; all
    // change at 09:01.
    t.push(UiEvent::SessionsChanged(vec![
        at(1, 2730),
        at(2, 3000 + 45),
    ]));
    t.h.get_all_by_label("Open output").next().unwrap().click();
    t.h.run();
    t.push(UiEvent::RunStarted {
        conn: cid(1),
        line: "Get-Mailbox".into(),
    });
    t.push(UiEvent::RunRows {
        conn: cid(1),
        rows: page(
            (0..100_000).map(|i| mailbox(&format!("User {i:06}"), &format!("u{i}@x.com"), i)),
        ),
    });
    t.push(UiEvent::RunDone {
        conn: cid(1),
        rows: 100_000,
        pages: 1,
        elapsed: Duration::from_secs(3),
    });
    settle(&mut t);
    assert!(t.has("100000 of 100000 rows"));
    assert!(t.has("44 min") && t.has("49 min"), "countdowns in minutes");
    assert_eq!(
        repaint_delay(&t),
        Duration::from_secs(60),
        "the next repaint is the next minute, not a 1 s tick"
    );

    // A row under the pointer shows seconds, and asks for the next second.
    t.h.get_by_label("44 min").hover();
    t.h.run();
    assert!(
        t.has("45:30") && t.has("01:30"),
        "the hovered row in seconds"
    );
    let d = repaint_delay(&t);
    assert!(d <= Duration::from_millis(1_001), "{d:?}");
    settle(&mut t);
    assert!(t.has("44 min"), "back to minutes");
    assert!(repaint_delay(&t) >= Duration::from_secs(29));
}

/// Two sessions' token countdowns and idle times, each at its own second of the minute, change
/// together on the wall clock's minute: one frame a minute, not one per time shown (each a
/// full-window frame: ~0.1 s of CPU under a software renderer, which is what `idle.py` found
/// with two sessions). And the frame that shows them keeps the grid's column widths, where
/// "< 1 min" becoming "1 min" made egui's Grid ask for two more frames.
#[test]
fn times_at_different_seconds_change_together_once_a_minute_in_one_frame() {
    let clock = std::sync::Arc::new(std::sync::Mutex::new(now() + chrono::Duration::seconds(20)));
    let mut t = app();
    let c = clock.clone();
    t.h.state_mut().set_clock(move || *c.lock().unwrap());
    t.push(UiEvent::ProfilesLoaded(three_profiles()));
    // At 09:00:20: tokens end at 09:45:10 and 09:50:40, idle since 08:58:30 and 08:59:50.
    let mut quiet = at(2, 50 * 60 + 40);
    quiet.last_activity = now() - chrono::Duration::seconds(10);
    t.push(UiEvent::SessionsChanged(vec![at(1, 45 * 60 + 10), quiet]));
    settle(&mut t);
    assert_eq!(
        repaint_delay(&t),
        Duration::from_secs(40),
        "one repaint at 09:01 for all four (each on its own clock: in 10 s, 20 s, 30 s, 50 s)"
    );
    for shown in ["44 min", "49 min", "1 min", "< 1 min"] {
        assert!(t.has(shown), "{shown}");
    }
    *clock.lock().unwrap() = now() + chrono::Duration::seconds(60);
    let frames = t.h.run();
    for shown in ["43 min", "48 min", "2 min", "1 min"] {
        assert!(t.has(shown), "{shown} at 09:01");
    }
    assert_eq!(
        frames, 1,
        "one frame shows the new minute: the grid keeps its widths"
    );
    assert_eq!(repaint_delay(&t), Duration::from_secs(60));
}

#[test]
fn nothing_shown_changes_no_repaint_at_all() {
    let mut t = app();
    t.push(UiEvent::ProfilesLoaded(three_profiles()));
    settle(&mut t);
    assert_eq!(repaint_delay(&t), Duration::MAX);
}

#[test]
fn the_last_five_minutes_count_seconds() {
    let mut t = app();
    t.push(UiEvent::ProfilesLoaded(three_profiles()));
    let mut s = at(1, 240);
    s.state = SessionState::Expiring;
    t.push(UiEvent::SessionsChanged(vec![s]));
    settle(&mut t);
    assert!(t.has("Expiring in 04:00"));
    assert!(repaint_delay(&t) <= Duration::from_millis(1_001));
}

#[test]
fn the_device_code_countdown_shows_minutes_until_its_last_five() {
    let mut t = app();
    let p = three_profiles()[0].clone();
    let mut view = device_code_view(&p, DeviceCodeState::Waiting);
    if let SignInStage::DeviceCode { expires_at, .. } = &mut view.stage {
        *expires_at = now() + chrono::Duration::seconds(630);
    }
    t.push(UiEvent::SignIn(view));
    settle(&mut t);
    // 10:30 left at 09:00:00, counted from 09:01 (never more than is left).
    assert!(t.has_containing("code expires in 9 min"));
    let d = repaint_delay(&t);
    assert!(d >= Duration::from_secs(29), "{d:?}");
}

#[test]
fn the_demo_phone_counts_down_in_ten_second_steps_only_while_it_is_shown() {
    let mut t = app();
    t.push(UiEvent::ProfilesLoaded(three_profiles()));
    let phone = |left: i64| {
        UiEvent::DemoPhone(vec![DemoAccountView {
            upn: "admin@contoso.com".into(),
            password: "demo".into(),
            code: Some("123456".into()),
            valid_until: now() + chrono::Duration::milliseconds(left),
        }])
    };
    t.push(phone(17_400));
    settle(&mut t);
    assert!(t.has("under 20 s"), "10-second steps, rounded up");
    assert_eq!(repaint_delay(&t), Duration::from_millis(7_400));
    // No phone, nothing ticking.
    t.push(UiEvent::DemoPhone(Vec::new()));
    settle(&mut t);
    assert_eq!(repaint_delay(&t), Duration::MAX);
    // A code at its end waits for the next one (the driver sends it): no repaint.
    t.push(phone(0));
    settle(&mut t);
    assert!(t.has("expired"));
    assert_eq!(repaint_delay(&t), Duration::MAX);
}

#[test]
fn a_focused_field_stops_blinking_after_ten_seconds() {
    let mut t = app_with(|b| b.with_step_dt(0.5));
    t.push(UiEvent::ProfilesLoaded(three_profiles()));
    t.click("Contoso EXO");
    t.h.get_by_label("Name").focus();
    t.h.run();
    assert!(t.h.state().caret_blinks());
    assert!(repaint_delay(&t) <= Duration::from_millis(500), "blinking");
    for _ in 0..22 {
        t.h.step();
    }
    t.h.run();
    assert!(!t.h.state().caret_blinks(), "ten seconds without input");
    assert_eq!(repaint_delay(&t), Duration::MAX);
    // A pointer passing over the window (idle.py parks the mouse) or a wheel scroll is not
    // work: it must not restart ten seconds of full-window blink frames.
    for (x, y) in [(700.0, 450.0), (300.0, 200.0), (1000.0, 600.0)] {
        t.h.hover_at(egui::pos2(x, y));
        t.h.run();
    }
    t.h.event(egui::Event::MouseWheel {
        unit: egui::MouseWheelUnit::Line,
        delta: egui::vec2(0.0, -1.0),
        phase: egui::TouchPhase::Move,
        source: egui::MouseWheelSource::Unknown,
        modifiers: egui::Modifiers::NONE,
    });
    t.h.run();
    settle(&mut t);
    assert!(
        !t.h.state().caret_blinks(),
        "the pointer moved: no typing, no blinking"
    );
    assert_eq!(
        repaint_delay(&t),
        Duration::MAX,
        "hovering left repaints asked for"
    );
    // Typing blinks again.
    t.h.get_by_label("Name").type_text("x");
    t.h.run();
    assert!(t.h.state().caret_blinks());
}
