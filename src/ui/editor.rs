//! Centre pane: the profile editor, with validation messages beside each field as you type,
//! the endpoints the cloud implies, the PowerShell equivalent, Save / Revert / Duplicate / Delete.
//! This file holds the editor's state and its toolbar; `editor/fields.rs` draws the fields.

use egui::{Color32, RichText, Ui};
use uuid::Uuid;

use crate::model::{Profile, Service, SignInMethod};

use super::action::{Action, Actions};
use super::bridge::UiCommand;
use super::checks;
use super::nav::Go;
use super::theme;
use crate::model::validate::Issue;

mod fields;

/// Width of the label column, the same in every section so the fields line up.
const LABEL_WIDTH: f32 = 190.0;

/// The editor's working copy.
#[derive(Debug, Clone, Default)]
pub struct EditorState {
    /// What the fields show; None = nothing selected.
    pub draft: Option<Profile>,
    /// The saved version (None for a new, never-saved profile).
    pub original: Option<Profile>,
    pub(crate) tags_text: String,
    pub(crate) proxy_password: String,
    pub(crate) confirm_delete: bool,
    /// The connectivity check ("Test connection") of this profile.
    pub doctor: super::doctor::DoctorPane,
    /// The live route display (see [`RouteView`]).
    pub(crate) route: RouteView,
    /// A new profile as it started: its errors show once their field differs from it (or
    /// after a save was tried), not on the empty form.
    pub(crate) blank: Option<Profile>,
    /// Save (or Ctrl+S) was tried: every error shows.
    pub save_tried: bool,
}

/// The editor's "Route" lines: requested off the UI thread ([`UiCommand::ResolveRoute`]) when
/// the proxy or endpoint fields change, debounced.
#[derive(Debug, Clone, Default)]
pub struct RouteView {
    /// What the route depends on, as last seen in the draft.
    seen: String,
    /// When `seen` last changed (egui time), until it is requested.
    changed_at: Option<f64>,
    /// What was last requested.
    requested: String,
    pub lines: Vec<String>,
    pub pending: bool,
    /// A 407 from this proxy (host:port) asked for the credential.
    pub credential_needed: Option<String>,
}

/// Debounce of the route request after an edit.
const ROUTE_DEBOUNCE_S: f64 = 0.4;

fn route_key(p: &Profile) -> String {
    let ep = p.effective_endpoints();
    format!(
        "{}|{:?}|{:?}|{:?}|{:?}",
        p.proxy.access_type.as_str(),
        p.proxy.authentication,
        p.proxy.user,
        ep.as_ref().map(|e| &e.authority),
        ep.as_ref().map(|e| &e.rest_base),
    )
}

impl EditorState {
    /// The route lines arrived.
    pub fn route_resolved(&mut self, profile_id: Uuid, lines: Vec<String>) {
        if self.draft.as_ref().map(|d| d.id) == Some(profile_id) {
            self.route.lines = lines;
            self.route.pending = false;
        }
    }

    /// The proxy answered 407 for this profile.
    pub fn proxy_credential_needed(&mut self, profile_id: Uuid, proxy: &str) {
        if self.draft.as_ref().map(|d| d.id) == Some(profile_id) {
            self.route.credential_needed = Some(proxy.to_string());
        }
    }

    /// Whether the route should be requested now (debounced); returns the draft to resolve.
    pub(crate) fn route_due(&mut self, now: f64) -> Option<Profile> {
        let d = self.draft.as_ref()?;
        let key = route_key(d);
        if key != self.route.seen {
            self.route.seen = key.clone();
            self.route.changed_at = Some(now);
        }
        let at = self.route.changed_at?;
        if now - at >= ROUTE_DEBOUNCE_S || self.route.requested.is_empty() {
            self.route.changed_at = None;
            if key != self.route.requested {
                self.route.requested = key;
                self.route.pending = true;
                return Some(d.clone());
            }
        }
        None
    }
}

impl EditorState {
    pub fn for_profile(p: Option<Profile>) -> Self {
        EditorState {
            tags_text: p.as_ref().map(|p| p.tags.join(", ")).unwrap_or_default(),
            draft: p.clone(),
            original: p,
            ..Default::default()
        }
    }

    pub fn new_profile() -> Self {
        let blank = Profile::new("", "", Service::ExchangeOnline);
        EditorState {
            draft: Some(blank.clone()),
            blank: Some(blank),
            ..Default::default()
        }
    }

    /// The issues to show now: on a new profile only those of the fields touched (differing
    /// from the blank form), until a save was tried.
    pub fn shown_issues(&self, issues: Vec<Issue>) -> Vec<Issue> {
        let (Some(blank), Some(draft), false) = (&self.blank, &self.draft, self.save_tried) else {
            return issues;
        };
        let (b, d) = (serde_json::to_value(blank), serde_json::to_value(draft));
        let (Ok(b), Ok(d)) = (b, d) else {
            return issues;
        };
        let touched = |field: &str| {
            let ptr = format!("/{}", field.replace('.', "/"));
            match (b.pointer(&ptr), d.pointer(&ptr)) {
                (None, None) => blank != draft,
                (x, y) => x != y,
            }
        };
        issues.into_iter().filter(|i| touched(i.field)).collect()
    }

    pub fn is_dirty(&self) -> bool {
        match (&self.draft, &self.original) {
            (Some(d), Some(o)) => d != o,
            (Some(_), None) => true,
            _ => false,
        }
    }

    /// Errors and warnings of the draft; `others` are the saved profiles.
    pub fn issues(&self, others: &[Profile]) -> Vec<Issue> {
        self.draft
            .as_ref()
            .map(|d| checks::issues(d, others))
            .unwrap_or_default()
    }

    /// The draft exists and has no error (warnings do not block saving).
    pub fn is_valid(&self, others: &[Profile]) -> bool {
        self.draft.is_some() && checks::savable(&self.issues(others))
    }

    pub(crate) fn revert(&mut self) {
        *self = EditorState::for_profile(self.original.clone());
    }

    /// The backend saved `p`: it becomes the original (and the draft if it is the same profile).
    pub(crate) fn saved(&mut self, p: &Profile) {
        if self.draft.as_ref().is_some_and(|d| d.id == p.id) {
            let unchanged_since = self.draft.as_ref().is_some_and(|d| {
                Profile {
                    modified: p.modified,
                    ..d.clone()
                } == *p
            });
            self.original = Some(p.clone());
            if unchanged_since {
                self.draft = Some(p.clone());
            }
        }
    }
}

/// The editor's words for a sign-in method.
fn method_name(m: SignInMethod) -> String {
    match m {
        SignInMethod::DeviceCode => "Device code (verification step)",
        SignInMethod::Browser => "Browser",
        SignInMethod::Password => "Password (no MFA)",
        SignInMethod::Certificate => "Certificate (app-only)",
    }
    .into()
}

fn service_name(s: Service) -> String {
    match s {
        Service::ExchangeOnline => "Exchange Online (EXO)",
        Service::Protection => "Exchange Online Protection (EOP)",
        Service::SecurityCompliance => "Security & Compliance (SCC)",
    }
    .into()
}

/// The buttons of the editor's toolbar clicked this frame.
#[derive(Default)]
struct Clicked {
    save: bool,
    revert: bool,
    duplicate: bool,
    connect: bool,
    test: bool,
    delete: bool,
}

impl EditorState {
    /// The draft to save: Some when it changed and nothing blocks saving.
    pub fn to_save(&self, others: &[Profile]) -> Option<Profile> {
        if !self.is_valid(others) || !self.is_dirty() {
            return None;
        }
        self.draft.clone()
    }

    /// A new, unsaved copy of `p` (Duplicate).
    fn copy_of(p: Profile) -> Self {
        let mut copy = p;
        copy.id = Uuid::new_v4();
        copy.name = format!("{} (copy)", copy.name);
        copy.created = chrono::Utc::now();
        copy.modified = copy.created;
        copy.last_connected = None;
        EditorState {
            tags_text: copy.tags.join(", "),
            draft: Some(copy),
            ..Default::default()
        }
    }

    /// Draws the editor of the draft; `profiles` are the saved ones (validation).
    pub fn ui(&mut self, ui: &mut Ui, profiles: &[Profile], actions: &mut Actions) {
        if self.draft.is_none() {
            nothing_selected(ui, actions);
            return;
        }
        let errors = self.issues(profiles);
        let clicked = self.toolbar(ui, checks::savable(&errors));
        ui.separator();
        // Each profile scrolls on its own: the next one opens at its top.
        let scroll_id = self.draft.as_ref().map(|d| d.id);
        egui::ScrollArea::vertical()
            .id_salt(("editor_scroll", scroll_id))
            .auto_shrink([false, false])
            .show(ui, |ui| {
                let shown = self.shown_issues(errors.clone());
                self.fields(ui, &shown, actions);
                self.doctor.ui(ui);
            });
        self.clicked(clicked, actions);
    }

    /// The title and the buttons: Test connection, Connect, Save, Revert, Duplicate, Delete.
    fn toolbar(&self, ui: &mut Ui, valid: bool) -> Clicked {
        let dirty = self.is_dirty();
        let is_new = self.original.is_none();
        let mut c = Clicked::default();
        ui.horizontal(|ui| {
            let title = self
                .draft
                .as_ref()
                .map(|d| d.name.clone())
                .unwrap_or_default();
            ui.heading(if title.is_empty() {
                "New profile".to_string()
            } else {
                title
            });
            if dirty {
                ui.label(RichText::new("• unsaved").color(theme::AMBER));
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let fix_first = "Fix the fields marked in red first";
                c.delete = ui
                    .add_enabled(!is_new, egui::Button::new("Delete"))
                    .clicked();
                c.duplicate = ui
                    .add_enabled(!is_new, egui::Button::new("Duplicate"))
                    .clicked();
                c.revert = ui
                    .add_enabled(dirty && !is_new, egui::Button::new("Revert"))
                    .clicked();
                c.save = ui
                    .add_enabled(valid && dirty, egui::Button::new("Save"))
                    .on_hover_text("Ctrl+S")
                    .on_disabled_hover_text(if valid { "No changes" } else { fix_first })
                    .clicked();
                c.connect = ui
                    .add_enabled(!is_new && !dirty, egui::Button::new("Connect"))
                    .on_disabled_hover_text("Save the profile first")
                    .clicked();
                c.test = ui
                    .add_enabled(
                        valid && !self.doctor.running,
                        egui::Button::new("Test connection"),
                    )
                    .on_hover_text(
                        "DNS, TCP, proxy, TLS, sign-in metadata and clock of this profile's hosts",
                    )
                    .on_disabled_hover_text(if valid {
                        "A test is running"
                    } else {
                        fix_first
                    })
                    .clicked();
            });
        });
        c
    }

    /// What the toolbar's clicks do.
    fn clicked(&mut self, c: Clicked, actions: &mut Actions) {
        if c.delete {
            self.confirm_delete = true;
        }
        if c.test
            && let Some(d) = self.draft.clone()
        {
            self.doctor.start(d.id);
            actions.send(UiCommand::TestConnection {
                profile: Box::new(d),
            });
        }
        if c.save {
            actions.push(Action::SaveProfile);
        }
        if c.revert {
            self.revert();
        }
        if c.duplicate
            && let Some(d) = self.draft.clone()
        {
            *self = EditorState::copy_of(d);
            actions.push(Action::ClearSelection);
        }
        if c.connect
            && let Some(id) = self.original.as_ref().map(|p| p.id)
        {
            actions.send(UiCommand::Connect { profile_id: id });
        }
    }

    /// The delete confirmation, while it is showing.
    pub fn dialogs(&mut self, ctx: &egui::Context, actions: &mut Actions) {
        if !self.confirm_delete {
            return;
        }
        let name = self
            .original
            .as_ref()
            .map(|p| p.name.clone())
            .unwrap_or_default();
        let mut choice = None;
        let r = egui::Modal::new(egui::Id::unique("confirm_delete")).show(ctx, |ui| {
            ui.heading("Delete profile?");
            ui.label(format!(
                "“{name}” will be removed. Sessions that are open stay open."
            ));
            choice = super::widgets::confirm_row(
                ui,
                RichText::new("Delete profile").color(Color32::WHITE),
            );
        });
        if r.should_close() {
            choice = Some(false);
        }
        if let Some(yes) = choice {
            self.confirm_delete = false;
            if yes && let Some(id) = self.original.as_ref().map(|p| p.id) {
                actions.send(UiCommand::DeleteProfile { id });
            }
        }
    }
}

/// The centre when no profile is selected.
fn nothing_selected(ui: &mut Ui, actions: &mut Actions) {
    ui.vertical_centered(|ui| {
        ui.add_space(60.0);
        ui.heading("Select a profile or create a new one");
        ui.label("Ctrl+K connects to a profile by name, UPN, tenant or tag.");
        if ui.button("Create a profile").clicked() {
            actions.go(Go::New);
        }
    });
}
