//! The editor's fields, by section: identity (name, folder, tags, colour, UPN, service),
//! endpoints (cloud, overrides, the endpoints they imply, the PowerShell equivalent), sign-in
//! (method, certificate, tenant, delegated organization) and proxy (access type, credential,
//! page size, notes, the resolved route). Each input has its label as accessible name and its
//! validation messages beside it.

use egui::{RichText, Ui};

use crate::model::validate::Issue;
use crate::model::{
    AuthMethod, Cloud, Profile, ProxyAccessType, ProxyAuthentication, Service, SignInMethod,
};

use super::{EditorState, LABEL_WIDTH, ROUTE_DEBOUNCE_S, RouteView, method_name, service_name};
use crate::ui::action::Actions;
use crate::ui::bridge::{Secret, UiCommand};
use crate::ui::checks::{self, field};
use crate::ui::theme;

impl EditorState {
    /// Every section of the draft's fields; sends what the edits ask (proxy password, route).
    pub(super) fn fields(&mut self, ui: &mut Ui, errors: &[Issue], actions: &mut Actions) {
        let Some(d) = self.draft.as_mut() else { return };
        let before = d.clone();
        let preview = checks::powershell_preview(d);

        ui.strong("Profile");
        section_grid("profile_grid").show(ui, |ui| {
            identity_rows(ui, d, &mut self.tags_text, errors);
            endpoint_rows(ui, d, errors);
        });
        endpoints_used(ui, d);
        powershell(ui, &preview);

        ui.add_space(6.0);
        ui.strong("Sign-in");
        section_grid("signin_grid").show(ui, |ui| signin_rows(ui, d, errors));

        ui.add_space(6.0);
        ui.strong("Proxy");
        let saved = self.original.is_some();
        let save_proxy_password = section_grid("proxy_grid")
            .show(ui, |ui| {
                let save = proxy_rows(ui, d, &mut self.proxy_password, saved, errors);
                page_size_and_notes_rows(ui, d, errors);
                save
            })
            .inner;
        route_lines(ui, &self.route);

        // The preview and the messages above were drawn from the draft as it was at the start of
        // this frame: draw once more when an edit changed it.
        if *d != before {
            ui.ctx().request_repaint();
        }
        if let Some(password) = save_proxy_password {
            let profile_id = d.id;
            self.route.credential_needed = None;
            actions.send(UiCommand::SaveProxyPassword {
                profile_id,
                password,
            });
        }
        self.request_route(ui, actions);
    }

    /// Ask for the route when the proxy or endpoint fields settled after an edit.
    fn request_route(&mut self, ui: &mut Ui, actions: &mut Actions) {
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
}

/// A three-column grid (label, field, messages) whose label column is the same in every section.
fn section_grid(id: &str) -> egui::Grid {
    egui::Grid::new(id)
        .num_columns(3)
        .min_col_width(LABEL_WIDTH)
        .spacing([12.0, 6.0])
}

/// Name, Folder, Tags, Colour, UPN, Service.
fn identity_rows(ui: &mut Ui, d: &mut Profile, tags_text: &mut String, errors: &[Issue]) {
    text_row(ui, "Name", &mut d.name, errors, field::NAME);
    text_row(ui, "Folder", &mut d.folder, errors, "folder");
    let l = ui.label("Tags");
    if ui
        .add(
            egui::TextEdit::singleline(tags_text)
                .hint_text("prod, customer-a")
                .desired_width(300.0),
        )
        .labelled_by(l.id)
        .changed()
    {
        d.tags = tags_text
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
}

/// Cloud, ConnectionUri override, Authorization endpoint override.
fn endpoint_rows(ui: &mut Ui, d: &mut Profile, errors: &[Issue]) {
    // Friendly names; the retired Germany cloud only when this profile already uses it.
    let offered = Cloud::offered(d.cloud);
    combo(ui, "Cloud", &mut d.cloud, &offered, |c| {
        c.friendly().to_string()
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
}

/// The endpoints the cloud and the overrides imply.
fn endpoints_used(ui: &mut Ui, d: &Profile) {
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
                let tenant = d.target_tenant().unwrap_or("<tenant>");
                ui.label(RichText::new(format!("REST: {}", e.invoke_command_url(tenant))).weak());
            }
            None => {
                ui.label(
                    RichText::new(
                        "No endpoints: a Custom cloud needs ConnectionUri and authorization endpoint",
                    )
                    .color(theme::RED),
                );
            }
        }
    });
}

/// The read-only PowerShell equivalent and its copy button.
fn powershell(ui: &mut Ui, preview: &str) {
    ui.add_space(6.0);
    ui.horizontal(|ui| {
        ui.strong("PowerShell equivalent");
        if ui.button("Copy PowerShell").clicked() {
            ui.ctx().copy_text(preview.to_string());
        }
    });
    let l = ui.label(RichText::new("What you would type in PowerShell for this profile:").weak());
    let mut text = preview;
    ui.add(
        egui::TextEdit::multiline(&mut text)
            .code_editor()
            .desired_rows(2)
            .desired_width(f32::INFINITY),
    )
    .labelled_by(l.id);
}

/// Sign-in method (and the certificate's fields), Tenant, DelegatedOrganization.
fn signin_rows(ui: &mut Ui, d: &mut Profile, errors: &[Issue]) {
    method_row(ui, d, errors);
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
}

/// The sign-in method; a change starts that method's fields empty.
fn method_row(ui: &mut Ui, d: &mut Profile, errors: &[Issue]) {
    let mut kind = d.auth.method();
    let before = kind;
    combo(
        ui,
        "Sign-in method",
        &mut kind,
        &SignInMethod::ALL,
        method_name,
    );
    error_label(ui, errors, field::AUTH);
    ui.end_row();
    if kind != before {
        d.auth = match kind {
            SignInMethod::DeviceCode => AuthMethod::DeviceCode,
            SignInMethod::Browser => AuthMethod::Browser,
            SignInMethod::Password => AuthMethod::Password,
            SignInMethod::Certificate => AuthMethod::Certificate {
                app_id: String::new(),
                certificate_path: None,
                thumbprint: None,
                organization: d.tenant.clone().unwrap_or_default(),
            },
        };
    }
}

/// Proxy access type, authentication, user and password; returns the password to save in the
/// keychain when "Save to keychain" was clicked (`saved`: the profile exists in the store).
fn proxy_rows(
    ui: &mut Ui,
    d: &mut Profile,
    password: &mut String,
    saved: bool,
    errors: &[Issue],
) -> Option<Secret> {
    combo(
        ui,
        "Proxy access type",
        &mut d.proxy.access_type,
        &ProxyAccessType::ALL,
        |p| p.as_str().to_string(),
    );
    error_label(ui, errors, field::PROXY_ACCESS_TYPE);
    ui.end_row();
    proxy_auth_row(ui, &mut d.proxy.authentication);
    opt_row(
        ui,
        "Proxy user",
        &mut d.proxy.user,
        "DOMAIN\\user",
        errors,
        field::PROXY_USER,
    );
    let mut save = None;
    let l = ui.label("Proxy password");
    ui.horizontal(|ui| {
        ui.add(
            egui::TextEdit::singleline(password)
                .password(true)
                .desired_width(190.0),
        )
        .labelled_by(l.id);
        let can = !password.is_empty() && saved;
        if ui
            .add_enabled(can, egui::Button::new("Save to keychain"))
            .on_disabled_hover_text("Save the profile first, then type the password")
            .clicked()
        {
            save = Some(Secret::new(std::mem::take(password)));
        }
    });
    ui.label(RichText::new("kept in the OS keychain, never in the profile").weak());
    ui.end_row();
    save
}

/// Proxy authentication: Basic, Digest, Negotiate or the default (Negotiate).
fn proxy_auth_row(ui: &mut Ui, value: &mut Option<ProxyAuthentication>) {
    let mut auth = *value;
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
    *value = auth;
    ui.label("");
    ui.end_row();
}

/// Page size and Notes (the last rows of the proxy grid).
fn page_size_and_notes_rows(ui: &mut Ui, d: &mut Profile, errors: &[Issue]) {
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
}

/// The 407 hint and the resolved route of the draft's endpoints.
fn route_lines(ui: &mut Ui, route: &RouteView) {
    if let Some(proxy) = &route.credential_needed {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            format!(
                "The proxy {proxy} asked for credentials (407): set Proxy authentication to Basic, the proxy user, and save the proxy password above."
            ),
        );
    }
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new("Route").strong());
        if route.pending {
            // A static word, not a spinner: the driver wakes the window when the route arrives.
            ui.label(RichText::new("resolving…").weak());
        }
    });
    for line in &route.lines {
        ui.label(RichText::new(line).weak());
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
