//! The grid at real size (issue 11): 100,000 mailboxes of the sim's own dataset (about 120
//! properties each) arrive as 100 pages of 1,000 the way the driver sends them (each page a
//! result store), then a user sorts by a header, filters, scrolls to the end and back; each
//! time the test checks what is on screen against a reference worked out with plain code, and
//! that only what is in view was laid out.

use std::time::{Duration, Instant};

use egui::{Event, Modifiers, MouseWheelSource, MouseWheelUnit, TouchPhase, vec2};
use egui_kittest::kittest::{NodeT, Queryable};

use exo_connect::model::results::ResultStore;
use exo_connect::sim::World;
use exo_connect::sim::admin::dataset;
use exo_connect::ui::bridge::UiEvent;

use super::app::{T, app_with, cid};

const ROWS: usize = 100_000;
const PAGE: usize = 1_000;

/// Each row's Name (the alias: unique, the first column), DisplayName (not unique) and
/// Department: the reference.
struct Reference {
    alias: Vec<String>,
    names: Vec<String>,
    depts: Vec<String>,
}

/// 100,000 mailboxes like the sim's, as pages, and the reference. The sim makes a mailbox from
/// scratch (seeded random draws for its ~120 properties), which in a debug build takes most of
/// a second per thousand: 1,000 are made, and each is used a hundred times with its own alias
/// (Name, Alias, Identity, Id), addresses and Guid; the other properties repeat as they would
/// across a big tenant's departments and offices (DisplayName too: ties test a stable sort).
fn mailbox_pages() -> (Vec<ResultStore>, Reference) {
    const KINDS: usize = 1_000;
    let world = World::seeded(1, KINDS);
    let tenant = world.tenants.iter().find(|t| t.mailboxes == KINDS).unwrap();
    let kinds: Vec<_> = (0..KINDS).map(|i| dataset::mailbox(1, tenant, i)).collect();
    let mut r = Reference {
        alias: Vec::with_capacity(ROWS),
        names: Vec::with_capacity(ROWS),
        depts: Vec::with_capacity(ROWS),
    };
    let mut pages = Vec::new();
    for start in (0..ROWS).step_by(PAGE) {
        let mut page = ResultStore::new();
        for i in start..start + PAGE {
            let m = &kinds[(i * 7) % KINDS];
            let text = |k: &str| m[k].as_str().unwrap_or_default().to_string();
            let alias = format!("{}-{i:06}", text("Alias"));
            let upn = serde_json::Value::from(format!("{alias}@contoso.com"));
            let own = |k: &str| -> Option<serde_json::Value> {
                match k {
                    "Name" | "Alias" | "Identity" | "Id" => Some(alias.clone().into()),
                    "PrimarySmtpAddress" | "UserPrincipalName" | "WindowsEmailAddress" => {
                        Some(upn.clone())
                    }
                    "EmailAddresses" => Some(serde_json::json!([format!(
                        "SMTP:{}",
                        upn.as_str().unwrap_or_default()
                    )])),
                    "Guid" => Some(format!("00000000-0000-4000-8000-{i:012}").into()),
                    _ => None,
                }
            };
            let mut row = page.begin_row();
            for (k, v) in m {
                match own(k) {
                    Some(mine) => row.push_value(k, &mine),
                    None => row.push_value(k, v),
                }
            }
            row.finish();
            r.alias.push(alias);
            r.names.push(text("DisplayName"));
            r.depts.push(text("Department"));
        }
        pages.push(page);
    }
    assert!(pages[0].column_count() >= 100, "about 120 properties");
    (pages, r)
}

/// Steps until the rows shown are the filter and sort asked for.
fn settle(t: &mut T) {
    let start = Instant::now();
    while !t.h.state().output(cid(1)).unwrap().view_settled() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the grid settles"
        );
        t.h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    t.h.run();
}

fn shown(t: &T) -> Vec<usize> {
    t.h.state().output(cid(1)).unwrap().shown_rows()
}

/// Accessible nodes in the window: what was laid out this frame.
fn nodes(t: &T) -> usize {
    t.h.root().children_recursive().count()
}

/// Top of the first widget labelled `label` (an alias is in four columns of its row).
fn y(t: &T, label: &str) -> f32 {
    t.h.get_all_by_label(label).next().unwrap().rect().min.y
}

fn sort(t: &T) -> Option<(String, bool)> {
    t.h.state().output(cid(1)).unwrap().sort.clone()
}

/// Stable sort by DisplayName, case-insensitively, as the grid does (descending keeps equal
/// names in arrival order too).
fn by_name(rows: &mut [usize], names: &[String], ascending: bool) {
    rows.sort_by(|&a, &b| {
        let o = names[a].to_lowercase().cmp(&names[b].to_lowercase());
        if ascending { o } else { o.reverse() }
    });
}

/// Scrolls the grid under `at` by `dy` points (negative: towards the end).
fn wheel(t: &mut T, at: egui::Pos2, dy: f32) {
    t.h.hover_at(at);
    t.h.event(Event::MouseWheel {
        unit: MouseWheelUnit::Point,
        delta: vec2(0.0, dy),
        phase: TouchPhase::Move,
        source: MouseWheelSource::Unknown,
        modifiers: Modifiers::NONE,
    });
    // The scroll is animated over a few frames.
    for _ in 0..20 {
        if t.h.try_run().is_ok() {
            return;
        }
    }
    panic!("the scroll did not settle");
}

#[test]
fn a_hundred_thousand_mailboxes_sort_filter_and_scroll() {
    let started = Instant::now();
    let (pages, r) = mailbox_pages();
    eprintln!("100,000 mailboxes generated in {:?}", started.elapsed());
    // The sim's names include other scripts the harness's one bundled font cannot draw.
    let mut t = app_with(|b| b.allow_missing_glyphs());
    t.open_session_output(0);
    t.fake.push(UiEvent::RunStarted {
        conn: cid(1),
        line: "Get-Mailbox -ResultSize Unlimited".into(),
    });
    for page in pages {
        t.fake.push(UiEvent::RunRows {
            conn: cid(1),
            rows: page,
        });
    }
    t.push(UiEvent::RunDone {
        conn: cid(1),
        rows: ROWS as u64,
        pages: (ROWS / PAGE) as u32,
        elapsed: Duration::from_secs(9),
    });
    assert!(t.has("100000 of 100000 rows"));
    assert!(
        y(&t, &r.alias[0]) < y(&t, &r.alias[1]),
        "arrival order first"
    );
    let laid_out = nodes(&t);
    assert!(
        laid_out < 1500,
        "only the rows and columns in view are laid out: {laid_out} nodes"
    );

    // Sort by DisplayName: the worker answers, the window shows it.
    t.click("DisplayName");
    settle(&mut t);
    let mut want: Vec<usize> = (0..ROWS).collect();
    by_name(&mut want, &r.names, true);
    assert_eq!(shown(&t), want);
    assert_eq!(sort(&t), Some(("DisplayName".into(), true)));
    assert!(y(&t, &r.alias[want[0]]) < y(&t, &r.alias[want[1]]));
    assert!(
        !t.has(&r.alias[want[ROWS - 1]]),
        "the last row is not laid out"
    );

    // Scroll to the end: the last rows in order, the first ones gone, still few nodes.
    let grid =
        t.h.get_all_by_label(&r.alias[want[0]])
            .next()
            .unwrap()
            .rect()
            .center();
    wheel(&mut t, grid, -10_000_000.0);
    assert!(t.has(&r.alias[want[ROWS - 1]]), "scrolled to the end");
    assert!(y(&t, &r.alias[want[ROWS - 2]]) < y(&t, &r.alias[want[ROWS - 1]]));
    assert!(!t.has(&r.alias[want[0]]));
    assert!(nodes(&t) < 1500);
    // Fifty rows' worth up: the rows above come into view, the last one goes.
    wheel(&mut t, grid, 20.0 * 50.0);
    assert!(
        !t.has(&r.alias[want[ROWS - 1]]),
        "the last row scrolled out"
    );
    assert!((ROWS - 100..ROWS - 50).any(|i| t.has(&r.alias[want[i]])));

    // Descending, then a column filter on top of the sort.
    t.click("DisplayName");
    settle(&mut t);
    assert_eq!(sort(&t), Some(("DisplayName".into(), false)));
    let dept = r.depts[7].clone();
    assert!(!dept.is_empty());
    t.type_into("Filter", &format!("Department:{dept}"));
    settle(&mut t);
    let needle = dept.to_lowercase();
    let mut want: Vec<usize> = (0..ROWS)
        .filter(|&i| r.depts[i].to_lowercase().contains(&needle))
        .collect();
    by_name(&mut want, &r.names, false);
    assert!(!want.is_empty() && want.len() < ROWS);
    assert_eq!(shown(&t), want);
    assert!(t.has(&format!("{} of 100000 rows", want.len())));
    wheel(&mut t, grid, 10_000_000.0);
    assert!(t.has(&r.alias[want[0]]), "back at the top");
    assert!(y(&t, &r.alias[want[0]]) < y(&t, &r.alias[want[1]]));

    // Clearing the filter shows every row again, still sorted.
    t.h.get_by_label("Filter").focus();
    t.h.key_press_modifiers(Modifiers::COMMAND, egui::Key::A);
    t.h.key_press(egui::Key::Backspace);
    t.h.run();
    settle(&mut t);
    assert!(t.has("100000 of 100000 rows"));
    let mut want: Vec<usize> = (0..ROWS).collect();
    by_name(&mut want, &r.names, false);
    assert_eq!(shown(&t), want);
}
