//! The fan-out pane (issue 12): one cmdlet line over many profiles. Its start dialog asks for
//! the line (from the tree: a folder, the selected profiles, the search results, a tag); the
//! panel shows a row per profile (state, rows, time, error, Retry) with Cancel all and Retry
//! failed, and below it the merged grid (the output pane's grid over one result store led by
//! `Profile` and `Tenant`: filter, columns, export) or the compare view (`fanout/compare.rs`).
//! Driven by the driver's `Fanout*` events.

use chrono::{DateTime, Utc};
use egui::{RichText, Ui};
use uuid::Uuid;

use crate::model::cmdline::{CmdletLine, CmdlineError, parse_cmdlet_line};

use super::action::{Action, Actions, StartRequest};
use super::bridge::{ConnId, FanoutProfileView, FanoutSummary, ProfileState, UiCommand};
use super::nav::Go;
use super::output::{self, OutputState};
use super::theme;

mod compare;
pub use compare::CompareView;

/// The id the merged grid's widgets are kept apart by (no session has it).
pub const GRID_ID: ConnId = ConnId(Uuid::from_u128(0xfa_0042));

/// Profiles running at once unless the admin picks another number.
pub const DEFAULT_CONCURRENCY: usize = 8;

/// One profile of the run, as the panel shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct FanoutRow {
    pub profile: FanoutProfileView,
    pub state: ProfileState,
    /// When it started running (for its time while it runs).
    pub since: Option<DateTime<Utc>>,
}

/// The start dialog, while it shows.
#[derive(Debug, Clone)]
struct Ask {
    req: StartRequest,
    /// The profiles' names (shown, the first few).
    names: Vec<String>,
    /// A changing cmdlet over many tenants: ticked to go ahead.
    change_ok: bool,
    focus: bool,
}

/// The fan-out pane's state: the run shown, its rows and merged grid, the start dialog.
pub struct FanoutPane {
    /// The driver's number of the run shown (events of older runs are dropped).
    pub run: Option<u64>,
    /// The run's cmdlet line.
    pub line: String,
    pub rows: Vec<FanoutRow>,
    /// Counts of the last time every profile was final.
    pub summary: Option<FanoutSummary>,
    /// The profile whose sign-in dialog shows (its turn in the sign-in queue).
    pub turn: Option<usize>,
    /// The merged result and its grid.
    pub out: OutputState,
    /// The start dialog's cmdlet line and the lines run before.
    pub input: String,
    pub history: Vec<String>,
    pub concurrency: usize,
    ask: Option<Ask>,
    /// Compare tenants: the matrix instead of the merged grid.
    pub compare: CompareView,
    /// The file dialog asked is for the comparison (not the merged grid).
    compare_export: bool,
}

impl Default for FanoutPane {
    fn default() -> Self {
        FanoutPane {
            run: None,
            line: String::new(),
            rows: Vec::new(),
            summary: None,
            turn: None,
            out: OutputState::default(),
            input: String::new(),
            history: Vec::new(),
            concurrency: DEFAULT_CONCURRENCY,
            ask: None,
            compare: CompareView::default(),
            compare_export: false,
        }
    }
}

/// A profile's state in words: "running, 120 rows so far", "throttled until 14:03:07",
/// "done, 5 rows", "failed"… (the error column has the explanation).
pub fn state_text(state: &ProfileState) -> String {
    match state {
        ProfileState::Queued => "queued".into(),
        ProfileState::SigningIn => "signing in".into(),
        ProfileState::Running { rows } => format!("running, {rows} rows so far"),
        ProfileState::Throttled { until, .. } => {
            let local = until.with_timezone(&chrono::Local);
            format!("throttled until {}", local.format("%H:%M:%S"))
        }
        ProfileState::Done { rows, .. } => format!("done, {rows} rows"),
        ProfileState::Failed { .. } => "failed".into(),
        ProfileState::Skipped { .. } => "skipped".into(),
        ProfileState::Cancelled => "cancelled".into(),
    }
}

/// Whether a profile in this state can be started again on its own.
fn retryable(state: &ProfileState) -> bool {
    matches!(
        state,
        ProfileState::Failed { .. } | ProfileState::Cancelled | ProfileState::Skipped { .. }
    )
}

/// The events: what the driver says about the run.
impl FanoutPane {
    /// Opens the start dialog for these profiles (`names` in the same order).
    pub fn ask(&mut self, req: StartRequest, names: Vec<String>) {
        if req.ids.is_empty() {
            return;
        }
        self.ask = Some(Ask {
            req,
            names,
            change_ok: false,
            focus: true,
        });
    }

    pub fn is_asking(&self) -> bool {
        self.ask.is_some()
    }

    /// A run started: it replaces what the panel showed.
    pub fn started(&mut self, run: u64, line: String, profiles: Vec<FanoutProfileView>) {
        self.run = Some(run);
        self.summary = None;
        self.turn = None;
        self.rows = profiles
            .into_iter()
            .map(|profile| FanoutRow {
                profile,
                state: ProfileState::Queued,
                since: None,
            })
            .collect();
        self.out.clear_results();
        self.compare.reset();
        self.out.begin(line.clone());
        self.line = line;
    }

    /// Profile `index` changed state (at `now`); returns its profile id when its sign-in turn
    /// ended with it (the sign-in dialog, if it is still this profile's, closes).
    pub fn state(
        &mut self,
        run: u64,
        index: usize,
        state: ProfileState,
        now: DateTime<Utc>,
    ) -> Option<Uuid> {
        if self.run != Some(run) {
            return None;
        }
        let row = self.rows.get_mut(index)?;
        match &state {
            ProfileState::Running { .. } if row.since.is_none() => row.since = Some(now),
            ProfileState::Queued => row.since = None,
            _ => {}
        }
        if !state.is_final() {
            self.summary = None;
        }
        row.state = state;
        let id = row.profile.profile_id;
        // Queued or signing in may arrive after the turn (it is told on another path).
        if self.turn == Some(index) && row.state.is_past_sign_in() {
            self.turn = None;
            return Some(id);
        }
        None
    }

    /// The rows of a done profile go into the merged grid.
    pub fn rows(&mut self, run: u64, rows: crate::model::results::ResultStore) {
        if self.run == Some(run) {
            self.out.add_rows(rows);
        }
    }

    pub fn sign_in_turn(&mut self, run: u64, index: usize) {
        if self.run == Some(run) {
            self.turn = Some(index);
        }
    }

    /// Profile id of the profile whose sign-in dialog shows, if any.
    pub fn turn_profile(&self) -> Option<Uuid> {
        let i = self.turn?;
        self.rows.get(i).map(|r| r.profile.profile_id)
    }

    pub fn idle(&mut self, run: u64, summary: FanoutSummary) {
        if self.run == Some(run) {
            self.summary = Some(summary);
            let n = self.rows.len() as u32;
            self.out
                .done(summary.rows as u64, n, std::time::Duration::ZERO);
        }
    }

    /// The live summary of the rows.
    pub fn counts(&self) -> FanoutSummary {
        FanoutSummary::of(self.rows.iter().map(|r| &r.state))
    }
}

/// Drawing: the panel with the merged grid, and the start dialog.
impl FanoutPane {
    /// The panel (a row per profile) and the merged grid below it.
    pub fn ui(&mut self, ui: &mut Ui, now: DateTime<Utc>, actions: &mut Actions) {
        if self.run.is_none() {
            ui.label("No fan-out run yet. Right-click a folder, or select profiles, to run a cmdlet on many.");
            return;
        }
        self.header(ui, actions);
        ui.separator();
        let height = (ui.available_height() * 0.4).clamp(80.0, 360.0);
        egui::ScrollArea::vertical()
            .id_salt("fanout_rows")
            .max_height(height)
            .auto_shrink([false, true])
            .show(ui, |ui| self.table(ui, now, actions));
        ui.separator();
        self.merged(ui, actions);
    }

    /// The line, the counts, Cancel all, Retry failed and Close.
    fn header(&mut self, ui: &mut Ui, actions: &mut Actions) {
        let counts = self.counts();
        ui.horizontal(|ui| {
            ui.heading("Fan-out");
            ui.label(RichText::new(&self.line).monospace().strong());
        });
        ui.horizontal(|ui| {
            ui.label(format!(
                "{} profiles · {counts} · {} rows",
                self.rows.len(),
                counts.rows
            ));
            let running = counts.pending > 0;
            if ui
                .add_enabled(running, egui::Button::new("Cancel all"))
                .clicked()
            {
                actions.send(UiCommand::CancelFanout);
            }
            let failed = self
                .rows
                .iter()
                .filter(|r| {
                    matches!(
                        r.state,
                        ProfileState::Failed { .. } | ProfileState::Cancelled
                    )
                })
                .count();
            if ui
                .add_enabled(!running && failed > 0, egui::Button::new("Retry failed"))
                .on_hover_text(format!(
                    "Runs the {failed} failed or cancelled profile(s) again"
                ))
                .clicked()
            {
                actions.send(UiCommand::RetryFanout { index: None });
            }
            if ui.button("Close fan-out").clicked() {
                actions.go(Go::Editor);
            }
        });
    }

    /// "Compare tenants", and below it the comparison or the merged grid (Export asks a file).
    fn merged(&mut self, ui: &mut Ui, actions: &mut Actions) {
        let with_rows = self
            .rows
            .iter()
            .filter(|r| matches!(r.state, ProfileState::Done { rows, .. } if rows > 0))
            .count();
        ui.add_enabled(
            with_rows >= 2,
            egui::Checkbox::new(&mut self.compare.on, "Compare tenants"),
        )
        .on_disabled_hover_text("Needs rows from two profiles or more");
        let compare = self.compare.on && with_rows >= 2;
        let export = if compare {
            let store = self.out.results();
            self.compare.ui(ui, store).then_some(true)
        } else {
            self.out.grid_ui(ui, GRID_ID)
        };
        if let Some(csv) = export {
            self.compare_export = compare;
            let name = if compare {
                "fan-out-comparison"
            } else {
                "fan-out"
            };
            actions.push(Action::AskFile(output::export_request(name, csv)));
        }
    }

    /// What Export writes: the comparison, or the merged rows shown.
    pub fn export_job(&mut self) -> Option<output::ExportJob> {
        if self.compare_export {
            let bom = self.out.csv_bom();
            return self.compare.export_job(self.out.results(), bom);
        }
        Some(self.out.export_job())
    }

    /// A row per profile: name, tenant, state, rows, time, error, Retry and "Only its rows".
    fn table(&mut self, ui: &mut Ui, now: DateTime<Utc>, actions: &mut Actions) {
        let mut filter = None;
        egui::Grid::new("fanout_table")
            .striped(true)
            .num_columns(7)
            .show(ui, |ui| {
                for h in ["Profile", "Tenant", "State", "Rows", "Time", "Error", ""] {
                    ui.label(RichText::new(h).strong());
                }
                ui.end_row();
                for (i, r) in self.rows.iter().enumerate() {
                    let name = &r.profile.name;
                    ui.label(name);
                    ui.label(&r.profile.tenant);
                    let (text, color) = (state_text(&r.state), state_color(&r.state));
                    let s = ui.label(RichText::new(&text).color(color));
                    let label = format!("{name}: {text}");
                    s.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, &label));
                    ui.label(rows_of(&r.state));
                    ui.label(time_of(r, now));
                    match &r.state {
                        ProfileState::Failed { message } => {
                            ui.label(RichText::new(message).color(theme::RED));
                        }
                        ProfileState::Skipped { reason } => {
                            ui.label(RichText::new(reason).weak());
                        }
                        _ => {
                            ui.label("");
                        }
                    }
                    ui.horizontal(|ui| {
                        if retryable(&r.state)
                            && ui
                                .button("Retry")
                                .on_hover_text(format!("Run {name} again"))
                                .clicked()
                        {
                            actions.send(UiCommand::RetryFanout { index: Some(i) });
                        }
                        if matches!(r.state, ProfileState::Done { rows, .. } if rows > 0)
                            && ui
                                .button("Only its rows")
                                .on_hover_text(format!("Filter the grid to {name}"))
                                .clicked()
                        {
                            filter = Some(format!("Profile:{name}"));
                        }
                    });
                    ui.end_row();
                }
            });
        if let Some(f) = filter {
            self.out.filter = f;
        }
        if self.counts().pending > 0 {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(1_000));
        }
    }

    /// The start dialog while it shows: the cmdlet line, profiles at once, Run / Cancel.
    pub fn dialogs(&mut self, ctx: &egui::Context, actions: &mut Actions) {
        let Some(mut ask) = self.ask.take() else {
            return;
        };
        let parsed = parse_cmdlet_line(self.input.trim());
        let changing = output::is_changing(&self.input);
        let mut clicked = StartClick::default();
        let r = egui::Modal::new(egui::Id::unique("fanout_start")).show(ctx, |ui| {
            clicked = self.start_form(ui, &mut ask, &parsed, changing);
        });
        let ok = parsed.is_ok() && (!changing || ask.change_ok);
        if clicked.go && ok {
            self.start_run(&ask, actions);
            return;
        }
        if !(clicked.close || r.should_close()) {
            self.ask = Some(ask);
        }
    }

    /// The start dialog's content: the profiles, the line (its error), profiles at once, the
    /// change confirmation, Run / Cancel.
    fn start_form(
        &mut self,
        ui: &mut Ui,
        ask: &mut Ask,
        parsed: &Result<CmdletLine, CmdlineError>,
        changing: bool,
    ) -> StartClick {
        let mut clicked = StartClick::default();
        let n = ask.req.ids.len();
        ui.set_width(480.0);
        ui.heading(format!("Run on {n} profiles"));
        ui.label(format!("On {}:", ask.req.what));
        let shown: Vec<&str> = ask.names.iter().take(8).map(String::as_str).collect();
        let more = n.saturating_sub(shown.len());
        let mut list = shown.join(", ");
        if more > 0 {
            list.push_str(&format!(" and {more} more"));
        }
        ui.label(RichText::new(list).weak());
        ui.separator();
        ui.horizontal(|ui| {
            let l = ui.label("Cmdlet");
            let edit = ui
                .add(
                    egui::TextEdit::singleline(&mut self.input)
                        .hint_text("Get-TransportRule")
                        .code_editor()
                        .desired_width(360.0),
                )
                .labelled_by(l.id);
            if std::mem::take(&mut ask.focus) {
                edit.request_focus();
            }
            if edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                clicked.go = true;
            }
        });
        if let (Err(e), false) = (parsed, self.input.trim().is_empty()) {
            ui.label(RichText::new(&e.message).color(theme::RED));
        }
        ui.horizontal(|ui| {
            let l = ui.label("Profiles at once");
            ui.add(egui::DragValue::new(&mut self.concurrency).range(1..=32))
                .labelled_by(l.id);
        });
        if changing {
            ui.checkbox(
                &mut ask.change_ok,
                format!("Yes, change {n} tenants with this line"),
            );
        }
        let going = self.counts();
        if going.pending > 0 {
            ui.label(RichText::new(format!(
                "The run of {} is still going ({} of {} profiles done): running this one cancels it and replaces its results.",
                self.line,
                self.rows.len() - going.pending,
                self.rows.len()
            ))
            .color(theme::AMBER));
        }
        ui.separator();
        ui.horizontal(|ui| {
            let ok = parsed.is_ok() && (!changing || ask.change_ok);
            let run = if going.pending > 0 {
                "Cancel it and run"
            } else {
                "Run"
            };
            if ui.add_enabled(ok, egui::Button::new(run)).clicked() {
                clicked.go = true;
            }
            if ui.button("Cancel").clicked() {
                clicked.close = true;
            }
        });
        clicked
    }

    /// Run clicked: the line goes into the history and the run starts; the centre shows it.
    fn start_run(&mut self, ask: &Ask, actions: &mut Actions) {
        let line = self.input.trim().to_string();
        if self.history.last() != Some(&line) {
            self.history.push(line.clone());
        }
        actions.send(UiCommand::RunFanout {
            profile_ids: ask.req.ids.clone(),
            line,
            concurrency: self.concurrency.max(1),
        });
        actions.go(Go::Fanout);
    }
}

/// What the start dialog's buttons (or Enter) asked this frame.
#[derive(Default)]
struct StartClick {
    go: bool,
    close: bool,
}

/// Busy (signing in, running).
const BLUE: egui::Color32 = egui::Color32::from_rgb(0x3b, 0x7d, 0xd8);

fn state_color(state: &ProfileState) -> egui::Color32 {
    match state {
        ProfileState::Done { .. } => theme::GREEN,
        ProfileState::Failed { .. } => theme::RED,
        ProfileState::Throttled { .. } => theme::AMBER,
        ProfileState::Running { .. } | ProfileState::SigningIn => BLUE,
        _ => theme::GREY,
    }
}

fn rows_of(state: &ProfileState) -> String {
    match state {
        ProfileState::Running { rows }
        | ProfileState::Throttled { rows, .. }
        | ProfileState::Done { rows, .. } => rows.to_string(),
        _ => String::new(),
    }
}

/// Its time: the run's when done, so far while it runs.
fn time_of(r: &FanoutRow, now: DateTime<Utc>) -> String {
    match (&r.state, r.since) {
        (ProfileState::Done { elapsed, .. }, _) => format!("{:.1} s", elapsed.as_secs_f64()),
        (ProfileState::Running { .. } | ProfileState::Throttled { .. }, Some(since)) => {
            format!("{} s", (now - since).num_seconds().max(0))
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn states_read_as_words() {
        assert_eq!(state_text(&ProfileState::Queued), "queued");
        assert_eq!(
            state_text(&ProfileState::Running { rows: 120 }),
            "running, 120 rows so far"
        );
        let until = DateTime::parse_from_rfc3339("2026-11-30T14:03:07Z")
            .unwrap()
            .with_timezone(&Utc);
        let local = until.with_timezone(&chrono::Local).format("%H:%M:%S");
        assert_eq!(
            state_text(&ProfileState::Throttled { until, rows: 3 }),
            format!("throttled until {local}")
        );
        let done = ProfileState::Done {
            rows: 5,
            elapsed: Duration::from_millis(1500),
        };
        assert_eq!(state_text(&done), "done, 5 rows");
        assert!(!retryable(&done));
        assert!(retryable(&ProfileState::Skipped { reason: "x".into() }));
    }

    #[test]
    fn events_of_an_older_run_are_dropped() {
        let mut p = FanoutPane::default();
        let view = FanoutProfileView {
            profile_id: Uuid::nil(),
            name: "a".into(),
            tenant: "a.com".into(),
        };
        p.started(2, "Get-Mailbox".into(), vec![view]);
        let now = Utc::now();
        p.state(1, 0, ProfileState::Cancelled, now);
        assert_eq!(p.rows[0].state, ProfileState::Queued);
        p.state(2, 0, ProfileState::Running { rows: 0 }, now);
        assert_eq!(p.rows[0].since, Some(now));
        p.sign_in_turn(2, 0);
        assert_eq!(p.turn_profile(), Some(Uuid::nil()));
        assert_eq!(
            p.state(2, 0, ProfileState::Cancelled, now),
            Some(Uuid::nil())
        );
        assert_eq!(p.turn, None);
    }
}
