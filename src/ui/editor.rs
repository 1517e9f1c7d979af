//! Centre pane: the profile editor, with validation messages beside each field as you type,
//! the endpoints the cloud implies, the PowerShell equivalent, Save / Revert / Duplicate / Delete.

use egui::{Color32, RichText, Ui};
use uuid::Uuid;

use crate::model::{AuthMethod, Cloud, Profile, ProxyAccessType, ProxyAuthentication, Service};

use super::action::{Action, Actions};
use super::bridge::{Secret, UiCommand};
use super::checks::{self, field};
use super::nav::Go;
use super::theme;
use crate::model::validate::Issue;

/// The editor's working copy.
/// Width of the label column, the same in every section so the fields line up.
const LABEL_WIDTH: f32 = 190.0;

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
        EditorState {
            draft: Some(Profile::new("", "", Service::ExchangeOnline)),
            ..Default::default()
        }
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

/// The messages of one field beside it: errors in red, warnings in amber.
fn error_label(ui: &mut Ui, issues: &[Issue], key: &str) {
    let mine: Vec<&Issue> = issues.iter().filter(|i| i.field == key).collect();
    if mine.is_empty() {
        ui.label("");
        return;
    }
    ui.vertical(|ui| {
        for i in mine {
            let (mark, color) = if checks::is_error(i) {
                ("", theme::RED)
            } else {
                ("Note:", theme::AMBER)
            };
            ui.add(
                egui::Label::new(
                    RichText::new(format!("{mark} {}", i.message).trim_start().to_string())
                        .color(color),
                )
                .wrap(),
            );
        }
    });
}

fn text_row(ui: &mut Ui, label: &str, value: &mut String, errors: &[Issue], key: &str) {
    let l = ui.label(label);
    ui.add(egui::TextEdit::singleline(value).desired_width(300.0))
        .labelled_by(l.id);
    error_label(ui, errors, key);
    ui.end_row();
}

fn opt_row(
    ui: &mut Ui,
    label: &str,
    value: &mut Option<String>,
    hint: &str,
    errors: &[Issue],
    key: &str,
) {
    let l = ui.label(label);
    let mut s = value.clone().unwrap_or_default();
    if ui
        .add(
            egui::TextEdit::singleline(&mut s)
                .hint_text(hint)
                .desired_width(300.0),
        )
        .labelled_by(l.id)
        .changed()
    {
        *value = if s.trim().is_empty() { None } else { Some(s) };
    }
    error_label(ui, errors, key);
    ui.end_row();
}

fn combo<T: PartialEq + Copy>(
    ui: &mut Ui,
    label: &str,
    value: &mut T,
    all: &[T],
    name: impl Fn(T) -> String,
) {
    let l = ui.label(label);
    let r = egui::ComboBox::from_id_salt(label)
        .selected_text(name(*value))
        .width(300.0)
        .show_ui(ui, |ui| {
            for &v in all {
                ui.selectable_value(value, v, name(v));
            }
        });
    r.response.labelled_by(l.id);
}

#[derive(Clone, Copy, PartialEq)]
enum MethodKind {
    DeviceCode,
    Browser,
    Password,
    Certificate,
}

impl MethodKind {
    fn of(a: &AuthMethod) -> Self {
        match a {
            AuthMethod::DeviceCode => MethodKind::DeviceCode,
            AuthMethod::Browser => MethodKind::Browser,
            AuthMethod::Password => MethodKind::Password,
            AuthMethod::Certificate { .. } => MethodKind::Certificate,
        }
    }
    fn name(self) -> String {
        match self {
            MethodKind::DeviceCode => "Device code (verification step)",
            MethodKind::Browser => "Browser",
            MethodKind::Password => "Password (no MFA)",
            MethodKind::Certificate => "Certificate (app-only)",
        }
        .into()
    }
}

fn service_name(s: Service) -> String {
    match s {
        Service::ExchangeOnline => "Exchange Online (EXO)",
        Service::Protection => "Exchange Online Protection (EOP)",
        Service::SecurityCompliance => "Security & Compliance (SCC)",
    }
    .into()
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
            ui.vertical_centered(|ui| {
                ui.add_space(60.0);
                ui.heading("Select a profile or create a new one");
                ui.label("Ctrl+K connects to a profile by name, UPN, tenant or tag.");
                if ui.button("Create a profile").clicked() {
                    actions.go(Go::New);
                }
            });
            return;
        }
        let errors = self.issues(profiles);
        let valid = checks::savable(&errors);
        let dirty = self.is_dirty();
        let is_new = self.original.is_none();

        // Toolbar
        let mut save = false;
        let mut revert = false;
        let mut duplicate = false;
        let mut connect = false;
        let mut test = false;
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
                if ui
                    .add_enabled(!is_new, egui::Button::new("Delete"))
                    .clicked()
                {
                    self.confirm_delete = true;
                }
                duplicate = ui
                    .add_enabled(!is_new, egui::Button::new("Duplicate"))
                    .clicked();
                revert = ui
                    .add_enabled(dirty && !is_new, egui::Button::new("Revert"))
                    .clicked();
                save = ui
                    .add_enabled(valid && dirty, egui::Button::new("Save"))
                    .on_hover_text("Ctrl+S")
                    .on_disabled_hover_text(if valid {
                        "No changes"
                    } else {
                        "Fix the fields marked in red first"
                    })
                    .clicked();
                connect = ui
                    .add_enabled(!is_new && !dirty, egui::Button::new("Connect"))
                    .on_disabled_hover_text("Save the profile first")
                    .clicked();
                test = ui
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
                        "Fix the fields marked in red first"
                    })
                    .clicked();
            });
        });
        ui.separator();

        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                self.fields(ui, &errors, actions);
                self.doctor.ui(ui);
            });
        if test && let Some(d) = self.draft.clone() {
            self.doctor.start(d.id);
            actions.send(UiCommand::TestConnection {
                profile: Box::new(d),
            });
        }

        if save {
            actions.push(Action::SaveProfile);
        }
        if revert {
            self.revert();
        }
        if duplicate && let Some(d) = self.draft.clone() {
            *self = EditorState::copy_of(d);
            actions.push(Action::ClearSelection);
        }
        if connect && let Some(id) = self.original.as_ref().map(|p| p.id) {
            actions.send(UiCommand::Connect { profile_id: id });
        }
    }

    fn fields(&mut self, ui: &mut Ui, errors: &[Issue], actions: &mut Actions) {
        let ed = &mut *self;
        let Some(d) = ed.draft.as_mut() else { return };
        let mut save_proxy_password = None;
        let before = d.clone();
        let preview = checks::powershell_preview(d);

        ui.strong("Profile");
        egui::Grid::new("profile_grid")
            .num_columns(3)
            .min_col_width(LABEL_WIDTH)
            .spacing([12.0, 6.0])
            .show(ui, |ui| {
                text_row(ui, "Name", &mut d.name, errors, field::NAME);
                text_row(ui, "Folder", &mut d.folder, errors, "folder");
                let l = ui.label("Tags");
                if ui
                    .add(
                        egui::TextEdit::singleline(&mut ed.tags_text)
                            .hint_text("prod, customer-a")
                            .desired_width(300.0),
                    )
                    .labelled_by(l.id)
                    .changed()
                {
                    d.tags = ed
                        .tags_text
                        .split(',')
                        .map(|t| t.trim().to_string())
                        .filter(|t| !t.is_empty())
                        .collect();
                }
                ui.label("");
                ui.end_row();

                let l = ui.label("Colour");
                ui.horizontal(|ui| {
                    let mut c = theme::parse_hex(d.color.as_deref());
                    if ui
                        .color_edit_button_srgba(&mut c)
                        .labelled_by(l.id)
                        .changed()
                    {
                        d.color = Some(theme::to_hex(c));
                    }
                    if d.color.is_some() && ui.button("No colour").clicked() {
                        d.color = None;
                    }
                });
                error_label(ui, errors, field::COLOR);
                ui.end_row();

                text_row(ui, "UPN", &mut d.upn, errors, field::UPN);
                combo(ui, "Service", &mut d.service, &Service::ALL, service_name);
                ui.label("");
                ui.end_row();
                combo(ui, "Cloud", &mut d.cloud, &Cloud::ALL, |c| {
                    c.as_str().to_string()
                });
                error_label(ui, errors, field::CLOUD);
                ui.end_row();
                opt_row(
                    ui,
                    "ConnectionUri override",
                    &mut d.connection_uri,
                    "from the cloud",
                    errors,
                    field::CONNECTION_URI,
                );
                opt_row(
                    ui,
                    "Authorization endpoint override",
                    &mut d.authorization_endpoint,
                    "from the cloud",
                    errors,
                    field::AUTHORIZATION_ENDPOINT,
                );
            });

        // The endpoints the choice implies.
        ui.add_space(4.0);
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.label(RichText::new("Endpoints this profile uses").strong());
            match d.effective_endpoints() {
                Some(e) => {
                    let mark = |o: bool| if o { "  (override)" } else { "  (from cloud)" };
                    ui.label(format!(
                        "ConnectionUri: {}{}",
                        e.connection_uri,
                        mark(d.connection_uri.is_some())
                    ));
                    ui.label(format!(
                        "Authorization endpoint: {}{}",
                        e.authority,
                        mark(d.authorization_endpoint.is_some())
                    ));
                    ui.label(RichText::new(format!("REST: {}", e.invoke_command_url(d.target_tenant().unwrap_or("<tenant>")))).weak());
                }
                None => {
                    ui.label(RichText::new("No endpoints: a Custom cloud needs ConnectionUri and authorization endpoint").color(theme::RED));
                }
            }
        });

        ui.add_space(6.0);
        ui.horizontal(|ui| {
            ui.strong("PowerShell equivalent");
            if ui.button("Copy PowerShell").clicked() {
                ui.ctx().copy_text(preview.clone());
            }
        });
        let l =
            ui.label(RichText::new("What you would type in PowerShell for this profile:").weak());
        let mut text = preview.as_str();
        ui.add(
            egui::TextEdit::multiline(&mut text)
                .code_editor()
                .desired_rows(2)
                .desired_width(f32::INFINITY),
        )
        .labelled_by(l.id);

        ui.add_space(6.0);
        ui.strong("Sign-in");
        egui::Grid::new("signin_grid")
            .num_columns(3)
            .min_col_width(LABEL_WIDTH)
            .spacing([12.0, 6.0])
            .show(ui, |ui| {
                let mut kind = MethodKind::of(&d.auth);
                let before = kind;
                combo(
                    ui,
                    "Sign-in method",
                    &mut kind,
                    &[
                        MethodKind::DeviceCode,
                        MethodKind::Browser,
                        MethodKind::Password,
                        MethodKind::Certificate,
                    ],
                    MethodKind::name,
                );
                error_label(ui, errors, field::AUTH);
                ui.end_row();
                if kind != before {
                    d.auth = match kind {
                        MethodKind::DeviceCode => AuthMethod::DeviceCode,
                        MethodKind::Browser => AuthMethod::Browser,
                        MethodKind::Password => AuthMethod::Password,
                        MethodKind::Certificate => AuthMethod::Certificate {
                            app_id: String::new(),
                            certificate_path: None,
                            thumbprint: None,
                            organization: d.tenant.clone().unwrap_or_default(),
                        },
                    };
                }
                if let AuthMethod::Certificate {
                    app_id,
                    certificate_path,
                    thumbprint,
                    organization,
                } = &mut d.auth
                {
                    text_row(ui, "AppId", app_id, errors, field::APP_ID);
                    opt_row(
                        ui,
                        "Certificate file",
                        certificate_path,
                        "C:\\certs\\app.pfx",
                        errors,
                        field::CERTIFICATE,
                    );
                    opt_row(
                        ui,
                        "Certificate thumbprint",
                        thumbprint,
                        "40 hex digits",
                        errors,
                        field::THUMBPRINT,
                    );
                    text_row(
                        ui,
                        "Organization",
                        organization,
                        errors,
                        field::ORGANIZATION,
                    );
                }
                opt_row(
                    ui,
                    "Tenant",
                    &mut d.tenant,
                    "contoso.onmicrosoft.com or GUID",
                    errors,
                    field::TENANT,
                );
                opt_row(
                    ui,
                    "DelegatedOrganization",
                    &mut d.delegated_organization,
                    "customer domain (partner access)",
                    errors,
                    field::DELEGATED_ORGANIZATION,
                );
            });

        ui.add_space(6.0);
        ui.strong("Proxy");
        egui::Grid::new("proxy_grid")
            .num_columns(3)
            .min_col_width(LABEL_WIDTH)
            .spacing([12.0, 6.0])
            .show(ui, |ui| {
                combo(
                    ui,
                    "Proxy access type",
                    &mut d.proxy.access_type,
                    &ProxyAccessType::ALL,
                    |p| p.as_str().to_string(),
                );
                error_label(ui, errors, field::PROXY_ACCESS_TYPE);
                ui.end_row();
                let mut auth = d.proxy.authentication;
                let l = ui.label("Proxy authentication");
                let name = |a: Option<ProxyAuthentication>| {
                    a.map(|a| a.as_str())
                        .unwrap_or("Default (Negotiate)")
                        .to_string()
                };
                let r = egui::ComboBox::from_id_salt("proxy_auth")
                    .selected_text(name(auth))
                    .width(300.0)
                    .show_ui(ui, |ui| {
                        for v in [
                            None,
                            Some(ProxyAuthentication::Basic),
                            Some(ProxyAuthentication::Digest),
                            Some(ProxyAuthentication::Negotiate),
                        ] {
                            ui.selectable_value(&mut auth, v, name(v));
                        }
                    });
                r.response.labelled_by(l.id);
                d.proxy.authentication = auth;
                ui.label("");
                ui.end_row();
                opt_row(
                    ui,
                    "Proxy user",
                    &mut d.proxy.user,
                    "DOMAIN\\user",
                    errors,
                    field::PROXY_USER,
                );
                let l = ui.label("Proxy password");
                ui.horizontal(|ui| {
                    ui.add(
                        egui::TextEdit::singleline(&mut ed.proxy_password)
                            .password(true)
                            .desired_width(190.0),
                    )
                    .labelled_by(l.id);
                    let can = !ed.proxy_password.is_empty() && ed.original.is_some();
                    if ui
                        .add_enabled(can, egui::Button::new("Save to keychain"))
                        .on_disabled_hover_text("Save the profile first, then type the password")
                        .clicked()
                    {
                        save_proxy_password =
                            Some((d.id, Secret::new(std::mem::take(&mut ed.proxy_password))));
                    }
                });
                ui.label(RichText::new("kept in the OS keychain, never in the profile").weak());
                ui.end_row();
                let l = ui.label("Page size");
                ui.add(egui::DragValue::new(&mut d.page_size).range(0..=5000))
                    .labelled_by(l.id);
                error_label(ui, errors, field::PAGE_SIZE);
                ui.end_row();
                let l = ui.label("Notes");
                ui.add(
                    egui::TextEdit::multiline(&mut d.notes)
                        .desired_rows(2)
                        .desired_width(300.0),
                )
                .labelled_by(l.id);
                ui.label("");
                ui.end_row();
            });

        if let Some(proxy) = &ed.route.credential_needed {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!(
                    "The proxy {proxy} asked for credentials (407): set Proxy authentication to Basic, the proxy user, and save the proxy password above."
                ),
            );
        }
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new("Route").strong());
            if ed.route.pending {
                // A static word, not a spinner: the driver wakes the window when the route arrives.
                ui.label(RichText::new("resolving…").weak());
            }
        });
        for line in &ed.route.lines {
            ui.label(RichText::new(line).weak());
        }

        // The preview and the messages above were drawn from the draft as it was at the start of
        // this frame: draw once more when an edit changed it.
        if *d != before {
            ui.ctx().request_repaint();
        }
        if let Some((profile_id, password)) = save_proxy_password {
            if self.draft.as_ref().map(|d| d.id) == Some(profile_id) {
                self.route.credential_needed = None;
            }
            actions.send(UiCommand::SaveProxyPassword {
                profile_id,
                password,
            });
        }
        let now = ui.input(|i| i.time);
        if let Some(p) = self.route_due(now) {
            actions.send(UiCommand::ResolveRoute {
                profile: Box::new(p),
            });
        }
        if self.route.changed_at.is_some() {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_secs_f64(ROUTE_DEBOUNCE_S));
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
