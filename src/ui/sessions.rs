//! The session list: state, countdowns, per-row actions, "Disconnect stale (n)", "Disconnect all"
//! and the limit-guard dialog.

use std::time::Duration;

use chrono::{DateTime, Utc};
use egui::{Color32, RichText, Ui};

use super::action::Actions;
use super::bridge::{ConnId, LimitView, SessionState, SessionView, UiCommand};
use super::countdown;
use super::nav::Go;
use super::theme;
use super::widgets;

/// What a row shows as its state: the registry's state as it is, with the countdown of an
/// expiring token, the reason of a failure, and what a connect waits for (its access check
/// retrying: "retrying in 4.0 s: …").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown {
    Connecting(Option<String>),
    Connected,
    /// The countdown as shown ("4 min", "03:59").
    Expiring(String),
    Expired,
    Stale,
    Failed(String),
    Disconnected,
}

/// A row's times as shown at `now` (seconds when `seconds`: a hovered row), and when any of
/// them changes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowTimes {
    pub state: Shown,
    /// The token's countdown (None: no token, or a failed session).
    pub token: Option<String>,
    pub idle: String,
    /// When the token's countdown (and an Expiring state's) shows something else.
    pub token_next: Option<Duration>,
    /// When any of the row's times shows something else.
    pub next: Option<Duration>,
}

impl RowTimes {
    pub fn of(s: &SessionView, now: DateTime<Utc>, seconds: bool) -> RowTimes {
        let state = Shown::of(s);
        let token = s
            .token_expires_at
            .filter(|_| !matches!(state, Shown::Failed(_)))
            .map(|t| countdown::left(t, now, seconds));
        let idle = countdown::since(s.last_activity, now, seconds);
        let token_next = token.as_ref().and_then(|t| t.next);
        let next = countdown::sooner(token_next, idle.next);
        let state = match state {
            Shown::Expiring(_) => Shown::Expiring(
                token
                    .as_ref()
                    .map(|t| t.text.clone())
                    .unwrap_or_else(|| countdown::mmss(0)),
            ),
            other => other,
        };
        RowTimes {
            state,
            token: token.map(|t| t.text),
            idle: idle.text,
            token_next,
            next,
        }
    }
}

impl Shown {
    /// The row's state (an Expiring countdown is filled in by [`RowTimes::of`]).
    pub(crate) fn of(s: &SessionView) -> Shown {
        match s.state {
            SessionState::Connecting => Shown::Connecting(s.last_error.clone()),
            SessionState::Connected => Shown::Connected,
            SessionState::Expiring => Shown::Expiring(String::new()),
            SessionState::Expired => Shown::Expired,
            SessionState::Stale => Shown::Stale,
            SessionState::Failed => Shown::Failed(
                s.last_error
                    .clone()
                    .unwrap_or_else(|| s.state.label().to_string()),
            ),
            SessionState::Disconnected => Shown::Disconnected,
        }
    }
    pub fn text(&self) -> String {
        match self {
            Shown::Connecting(None) => "Connecting".into(),
            Shown::Connecting(Some(note)) => format!("Connecting, {}", short(note)),
            Shown::Connected => "Connected".into(),
            Shown::Expiring(l) => format!("Expiring in {l}"),
            Shown::Expired => "Expired".into(),
            Shown::Stale => "Stale".into(),
            Shown::Disconnected => "Disconnected".into(),
            Shown::Failed(r) => format!("Failed: {}", short(r)),
        }
    }
    pub fn color(&self) -> Color32 {
        match self {
            Shown::Connecting(_) | Shown::Disconnected => theme::GREY,
            Shown::Connected => theme::GREEN,
            Shown::Expiring(_) => theme::AMBER,
            Shown::Expired | Shown::Stale | Shown::Failed(_) => theme::RED,
        }
    }
}

/// A reason cut to 32 characters.
fn short(r: &str) -> String {
    let cut: String = r.chars().take(32).collect();
    let more = if r.chars().count() > 32 { "…" } else { "" };
    format!("{cut}{more}")
}

fn state_cell(ui: &mut Ui, shown: &Shown) -> egui::Response {
    ui.horizontal(|ui| {
        let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
        ui.painter()
            .circle_filled(rect.center(), 4.5, shown.color());
        let r = ui.label(RichText::new(shown.text()).color(shown.color()));
        if let Shown::Failed(reason) | Shown::Connecting(Some(reason)) = shown {
            r.on_hover_text(reason);
        }
    })
    .response
}

/// A button with a visible glyph and an accessible name.
fn icon_button(ui: &mut Ui, glyph: &str, name: &str) -> bool {
    ui.button(glyph)
        .on_hover_text(name)
        .accessible_name(name)
        .clicked()
}

/// How urgent a state is for the profile tree's dot: red first, then amber, grey, green; a
/// disconnected session shows nothing.
fn urgency(state: SessionState) -> Option<u8> {
    match state {
        SessionState::Failed | SessionState::Expired | SessionState::Stale => Some(0),
        SessionState::Expiring => Some(1),
        SessionState::Connecting => Some(2),
        SessionState::Connected => Some(3),
        SessionState::Disconnected => None,
    }
}

/// The open sessions of `profile_id`, the most urgent first (the one its tree dot shows).
pub fn of_profile(sessions: &[SessionView], profile_id: uuid::Uuid) -> Vec<&SessionView> {
    let mut open: Vec<(u8, &SessionView)> = sessions
        .iter()
        .filter(|s| s.profile_id == profile_id)
        .filter_map(|s| urgency(s.state).map(|u| (u, s)))
        .collect();
    open.sort_by_key(|(u, _)| *u);
    open.into_iter().map(|(_, s)| s).collect()
}

/// Is a session live enough that "Connect all in folder" leaves its profile alone?
pub fn is_live(state: SessionState) -> bool {
    matches!(
        state,
        SessionState::Connected | SessionState::Expiring | SessionState::Connecting
    )
}

/// How many of `sessions` "Disconnect stale" closes (the registry's rule: expired, idle or
/// failed).
pub fn stale_count(sessions: &[SessionView]) -> usize {
    sessions.iter().filter(|s| s.state.is_stale()).count()
}

/// The session list at the bottom of the window.
#[derive(Debug, Clone, Default)]
pub struct SessionsPane {
    /// Settings → "Stale after (minutes)", for the Stale state's explanation (0: the default).
    pub stale_after_min: u32,
    /// "Disconnect all" was clicked: the confirmation is showing.
    confirm_disconnect_all: bool,
    /// The row under the pointer (its times show seconds).
    hovered: Option<ConnId>,
    /// The list is folded to its header (the output gets the height).
    pub collapsed: bool,
}

/// A column of the list after the row's actions, in the order shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    State,
    Rate,
    Profile,
    Service,
    Account,
    Tenant,
    Token,
    Idle,
    Requests,
    Endpoint,
}

/// Each column's header and the width it needs (spacing included), in the order shown.
const COLS: [(Col, &str, f32); 10] = [
    (Col::State, "State", 115.0),
    (Col::Rate, "Rate", 130.0),
    (Col::Profile, "Profile", 160.0),
    (Col::Service, "Service", 55.0),
    (Col::Account, "Account", 170.0),
    (Col::Tenant, "Tenant", 120.0),
    (Col::Token, "Token", 90.0),
    (Col::Idle, "Idle", 90.0),
    (Col::Requests, "Requests", 75.0),
    (Col::Endpoint, "Endpoint", 130.0),
];

/// The row's actions' width (×, Open output, Refresh or Reconnect).
const ACTIONS_WIDTH: f32 = 200.0;

/// The columns dropped first when the list is narrower than all of them.
const DROP_ORDER: [Col; 6] = [
    Col::Endpoint,
    Col::Requests,
    Col::Tenant,
    Col::Account,
    Col::Rate,
    Col::Idle,
];

/// The columns that fit `width` beside the actions, the least needed dropped first (what they
/// would show is in the profile cell's hover); the actions always show.
pub fn columns_for(width: f32) -> Vec<Col> {
    let mut shown: Vec<Col> = COLS.iter().map(|c| c.0).collect();
    let need = |shown: &[Col]| {
        ACTIONS_WIDTH
            + COLS
                .iter()
                .filter(|c| shown.contains(&c.0))
                .map(|c| c.2)
                .sum::<f32>()
    };
    for drop in DROP_ORDER {
        if need(&shown) <= width {
            break;
        }
        shown.retain(|c| *c != drop);
    }
    shown
}

impl SessionsPane {
    /// Draws the list of `sessions` with their countdowns at `now`, and asks for a repaint when
    /// one of them shows something else (no sooner).
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        sessions: &[SessionView],
        now: DateTime<Utc>,
        actions: &mut Actions,
    ) -> f32 {
        let top = ui.cursor().top();
        ui.add_space(4.0);
        self.header(ui, sessions, stale_count(sessions), actions);
        ui.separator();
        if self.collapsed {
            return ui.cursor().top() - top;
        }
        if sessions.is_empty() {
            ui.label(RichText::new("No sessions. Connect a profile to open one.").weak());
        }
        let mut next = None;
        let mut hovered = None;
        let cols = columns_for(ui.available_width());
        let list_top = ui.cursor().top();
        // Both ways: the columns that do not fit are dropped, but a very narrow window scrolls.
        // Never taller than the room left (no minimum): content overflowing a bottom panel
        // would push the panel's top under the panes above it.
        let out = egui::ScrollArea::both()
            .auto_shrink([false, false])
            .min_scrolled_height(0.0)
            .max_height(ui.available_height().max(0.0))
            .show(ui, |ui| {
                let (left, right) = (ui.max_rect().left(), ui.max_rect().right());
                egui::Grid::new("sessions_grid")
                    .striped(true)
                    .num_columns(cols.len() + 1)
                    .spacing([10.0, 4.0])
                    .show(ui, |ui| {
                        if !sessions.is_empty() {
                            ui.label("");
                            for (_, h, _) in COLS.iter().filter(|c| cols.contains(&c.0)) {
                                ui.label(RichText::new(*h).weak());
                            }
                            ui.end_row();
                        }
                        for s in sessions {
                            let times = RowTimes::of(s, now, self.hovered == Some(s.conn));
                            next = countdown::sooner(next, times.next);
                            let stale_after = match self.stale_after_min {
                                0 => super::undo::DEFAULT_STALE_MINUTES,
                                n => n,
                            };
                            let (top, bottom) =
                                session_row(ui, (s, stale_after, &cols), (&times, now), actions);
                            let row = egui::Rect::from_x_y_ranges(left..=right, top..=bottom);
                            if ui.rect_contains_pointer(row) {
                                hovered = Some(s.conn);
                            }
                        }
                    });
            });
        if hovered != self.hovered {
            // The row's times switch between minutes and seconds: show it now.
            self.hovered = hovered;
            ui.ctx().request_repaint();
        }
        if let Some(next) = next {
            ui.ctx().request_repaint_after(next);
        }
        list_top - top + out.content_size.y
    }

    /// "Sessions (n)" (a click folds the list), Disconnect all, Disconnect stale (n).
    fn header(
        &mut self,
        ui: &mut Ui,
        sessions: &[SessionView],
        stale: usize,
        actions: &mut Actions,
    ) {
        ui.horizontal(|ui| {
            ui.strong(format!("Sessions ({})", sessions.len()));
            let (label, hover) = if self.collapsed {
                ("Show list", "Show the session list")
            } else {
                (
                    "Hide list",
                    "Fold the session list: the output gets the height",
                )
            };
            if ui.small_button(label).on_hover_text(hover).clicked() {
                self.collapsed = !self.collapsed;
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui
                    .add_enabled(!sessions.is_empty(), egui::Button::new("Disconnect all"))
                    .clicked()
                {
                    self.confirm_disconnect_all = true;
                }
                if ui
                    .add_enabled(
                        stale > 0,
                        egui::Button::new(format!("Disconnect stale ({stale})")),
                    )
                    .on_hover_text("Disconnect every expired or stale session")
                    .clicked()
                {
                    actions.send(UiCommand::DisconnectStale);
                }
            });
        });
    }

    /// The "Disconnect all" confirmation of `n` sessions, while it is showing.
    pub fn dialogs(&mut self, ctx: &egui::Context, n: usize, actions: &mut Actions) {
        if !self.confirm_disconnect_all {
            return;
        }
        let mut choice = None;
        let r = egui::Modal::new(egui::Id::unique("confirm_disconnect_all")).show(ctx, |ui| {
            ui.heading("Disconnect all sessions?");
            ui.label(format!(
                "All {n} sessions will be closed and their sign-ins forgotten."
            ));
            choice = super::widgets::confirm_row(ui, "Yes, disconnect all");
        });
        if r.should_close() {
            choice = Some(false);
        }
        if let Some(yes) = choice {
            self.confirm_disconnect_all = false;
            if yes {
                actions.send(UiCommand::DisconnectAll);
            }
        }
    }
}

/// One row of the list: its actions first (Open output / Refresh / Disconnect, and Reconnect
/// when the session is stale or expired), so they show at any width; then state, the rate
/// gauge (`rate.rs`), profile,
/// service, account, tenant, token and idle countdowns, requests and endpoint, the long ones cut
/// with "…" (the whole text on hover). Returns the row's top and bottom.
fn session_row(
    ui: &mut Ui,
    (s, stale_after, cols): (&SessionView, u32, &[Col]),
    (times, now): (&RowTimes, DateTime<Utc>),
    actions: &mut Actions,
) -> (f32, f32) {
    let first = ui.horizontal(|ui| {
        if icon_button(ui, "×", "Disconnect") {
            actions.send(UiCommand::Disconnect { conn: s.conn });
        }
        if ui.button("Open output").clicked() {
            actions.go(Go::Output(s.conn));
        }
        if matches!(s.state, SessionState::Stale | SessionState::Expired) {
            if ui
                .button("Reconnect")
                .on_hover_text("Sign in again with this profile")
                .clicked()
            {
                actions.send(UiCommand::Connect {
                    profile_id: s.profile_id,
                });
            }
        } else if ui.button("Refresh").clicked() {
            actions.send(UiCommand::RefreshSession { conn: s.conn });
        }
    });
    let mut last = first.response.clone();
    for col in cols {
        last = row_cell(ui, *col, (s, stale_after, cols), (times, now));
    }
    ui.end_row();
    (
        first.response.rect.top().min(last.rect.top()),
        first.response.rect.bottom().max(last.rect.bottom()),
    )
}

/// One cell of a session's row. The profile's cell lists, on hover, what the dropped columns
/// would show.
fn row_cell(
    ui: &mut Ui,
    col: Col,
    (s, stale_after, cols): (&SessionView, u32, &[Col]),
    (times, now): (&RowTimes, DateTime<Utc>),
) -> egui::Response {
    match col {
        Col::State => {
            let state = state_cell(ui, &times.state);
            if matches!(times.state, Shown::Stale) {
                return state.on_hover_text(format!(
                    "idle {} — no cmdlet for more than {stale_after} min (a setting: Settings, Stale after)",
                    times.idle
                ));
            }
            state
        }
        Col::Rate => {
            ui.scope(|ui| super::rate::cell(ui, s.rate.as_ref(), now))
                .response
        }
        Col::Profile => {
            let r = ui.horizontal(|ui| {
                widgets::color_band(ui, theme::parse_hex(s.color.as_deref()));
                cut_label(ui, &s.profile_name, 160.0)
            });
            // `cut_label`'s hover already names the profile: the dropped columns go under it.
            let hidden = hidden_text(s, times, cols);
            if hidden.is_empty() {
                r.inner
            } else {
                r.inner.on_hover_text(hidden)
            }
        }
        Col::Service => widgets::service_badge(ui, s.service),
        Col::Account => cut_label(ui, &s.account, 160.0),
        Col::Tenant => cut_label(ui, &s.tenant, 120.0),
        Col::Token => time_label(ui, times.token.as_deref().unwrap_or("—")),
        Col::Idle => time_label(ui, &times.idle),
        Col::Requests => ui.label(s.requests.to_string()),
        Col::Endpoint => cut_label(ui, &s.endpoint_host, 120.0),
    }
}

/// What the columns not in `cols` would show, one "Header: value" a line.
fn hidden_text(s: &SessionView, times: &RowTimes, cols: &[Col]) -> String {
    let value = |c: Col| match c {
        Col::Account => s.account.clone(),
        Col::Tenant => s.tenant.clone(),
        Col::Idle => times.idle.clone(),
        Col::Requests => s.requests.to_string(),
        Col::Endpoint => s.endpoint_host.clone(),
        Col::Rate => s
            .rate
            .as_ref()
            .map(|r| format!("{} of {} left", r.remaining, r.limit))
            .unwrap_or_else(|| "—".into()),
        _ => String::new(),
    };
    COLS.iter()
        .filter(|c| !cols.contains(&c.0) && DROP_ORDER.contains(&c.0))
        .map(|(c, h, _)| format!("{h}: {}", value(*c)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A time cell at least as wide as the widest time text ("00 h 00 min"), so that a countdown's
/// next minute keeps the grid's column widths: egui's Grid asks for two more full-window frames
/// whenever a column's width changes ("< 1 min" becoming "1 min" did, once a minute).
fn time_label(ui: &mut Ui, text: &str) -> egui::Response {
    let widest = egui::WidgetText::from("00 h 00 min")
        .into_galley(ui, None, f32::INFINITY, egui::TextStyle::Body)
        .size()
        .x;
    ui.scope(|ui| {
        ui.set_min_width(widest);
        ui.label(text)
    })
    .inner
}

/// A label at most `max` wide, cut with "…" (the whole text on hover).
fn cut_label(ui: &mut Ui, text: &str, max: f32) -> egui::Response {
    ui.scope(|ui| {
        ui.set_max_width(max);
        let r = ui.add(egui::Label::new(text).truncate());
        r.on_hover_text(text)
    })
    .inner
}

/// The limit guard refused a session: list that tenant's sessions of that service, stale first.
/// Closing the dialog sets `limit` to None. A Disconnect goes through the app as any single
/// disconnect (#prod asks first); `undo` is what the Undo toast offers, shown in the dialog
/// too, beside the rows it acts on: true when its "Undo disconnect of …" was clicked.
pub fn limit_dialog(
    ctx: &egui::Context,
    limit: &mut Option<LimitView>,
    (now, undo): (DateTime<Utc>, Option<&str>),
    actions: &mut Actions,
) -> bool {
    let mut undone = false;
    let Some(view) = limit.as_mut() else {
        return undone;
    };
    let mut list = view.sessions.clone();
    list.sort_by_key(|s| !s.state.is_stale());
    let mut disconnect = None;
    let mut close = false;
    let mut next = None;
    let r = egui::Modal::new(egui::Id::unique("limit_guard")).show(ctx, |ui| {
        ui.set_width(520.0);
        ui.heading("Session limit reached");
        ui.label(format!(
            "{} allows {} open {} sessions. Disconnect one to connect another:",
            view.tenant,
            view.limit,
            view.service.short()
        ));
        ui.separator();
        egui::Grid::new("limit_grid")
            .num_columns(4)
            .spacing([12.0, 4.0])
            .show(ui, |ui| {
                for s in &list {
                    let times = RowTimes::of(s, now, false);
                    if matches!(times.state, Shown::Expiring(_)) {
                        next = countdown::sooner(next, times.token_next);
                    }
                    state_cell(ui, &times.state);
                    ui.label(&s.profile_name);
                    ui.label(&s.account);
                    if ui.button("Disconnect").clicked() {
                        disconnect = Some(s.conn);
                    }
                    ui.end_row();
                }
            });
        if list.is_empty() {
            ui.label("All of them are closed now; you can connect again.");
        }
        if let Some(what) = undo {
            // The same Undo as the toast's: a disconnect here is as safe as one elsewhere.
            ui.horizontal(|ui| {
                ui.label(format!("Disconnected {what}."));
                undone = ui
                    .button(format!("Undo disconnect of {what}"))
                    .on_hover_text("Connect again (from the cached sign-in: no sign-in dialog)")
                    .clicked();
            });
        }
        ui.separator();
        close = ui.button("Close").clicked();
    });
    if let Some(next) = next {
        ctx.request_repaint_after(next);
    }
    if let Some(conn) = disconnect {
        actions.send(UiCommand::Disconnect { conn });
        view.sessions.retain(|s| s.conn != conn);
    }
    if close || r.should_close() {
        *limit = None;
    }
    undone
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connecting_session_shows_what_it_waits_for() {
        let now = Utc::now();
        let mut s = SessionView {
            conn: crate::ui::bridge::ConnId(uuid::Uuid::nil()),
            profile_id: uuid::Uuid::nil(),
            profile_name: "Contoso".into(),
            color: None,
            service: crate::model::Service::ExchangeOnline,
            account: "ops@contoso.com".into(),
            tenant: "Contoso".into(),
            endpoint_host: "outlook.office365.com".into(),
            state: SessionState::Connecting,
            last_error: None,
            token_expires_at: None,
            last_activity: now,
            requests: 0,
            rate: None,
        };
        assert_eq!(Shown::of(&s).text(), "Connecting");
        s.last_error = Some("retrying in 4.0 s: HTTP 503: the service is unavailable".into());
        let shown = Shown::of(&s);
        assert_eq!(
            shown.text(),
            "Connecting, retrying in 4.0 s: HTTP 503: the…"
        );
        assert_eq!(shown.color(), theme::GREY);
    }
}
