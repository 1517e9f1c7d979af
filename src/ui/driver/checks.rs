//! The driver's check jobs: the connectivity check of a (draft) profile ("Test connection",
//! `engine::doctor`, its steps streamed to the editor as they complete), the effective proxy
//! route of its endpoints, opening a page in the browser, and the diagnostic log (switched on
//! and off from Settings; "Copy diagnostics").

use super::{Driver, notice};
use crate::engine::doctor::{DoctorOptions, check, proxy_credential};
use crate::model::Profile;
use crate::model::diagnosis::DiagStep;
use crate::ui::bridge::{EventSender, NoticeLevel, UiEvent};

impl Driver {
    /// Runs the check with the keychain's proxy credential, off the loop.
    pub(super) fn test_connection(&self, profile: Profile) {
        let secrets = self.secrets().clone();
        let ev = self.ev.clone();
        tokio::spawn(async move {
            let credential = proxy_credential(&secrets, &profile).await;
            test_connection(profile, ev, credential).await;
        });
    }

    /// May block (gsettings, a PAC fetch): off the runtime's workers.
    pub(super) fn resolve_route(&self, profile: Profile) {
        let ev = self.ev.clone();
        tokio::task::spawn_blocking(move || {
            let lines = crate::engine::proxy::route_report(&profile);
            ev.send(UiEvent::RouteResolved {
                profile_id: profile.id,
                lines,
            });
        });
    }

    /// Only `https:` (or loopback `http:`) addresses reach the launcher.
    pub(super) fn open_url(&self, url: String) {
        if let Err(why) = crate::engine::auth::open::openable(&url) {
            self.send(notice(NoticeLevel::Warning, why));
            return;
        }
        let browser = self.browser.clone();
        let ev = self.ev.clone();
        tokio::spawn(async move {
            if let Err(e) = browser.open(&url).await {
                ev.send(notice(
                    NoticeLevel::Warning,
                    format!("No browser could be opened ({e}); copy the address: {url}"),
                ));
            }
        });
    }
}

impl Driver {
    /// Settings → "Write a diagnostic log": `<config>/logs/exo-connect-<date>.log`, or off.
    pub(super) fn set_diagnostics(&self, enabled: bool, debug: bool) {
        use crate::engine::diag::{self, LogLevel};
        let d = diag::global();
        d.set_level(if debug {
            LogLevel::Debug
        } else {
            LogLevel::Info
        });
        let folder = diag::default_folder(self.store.root());
        match d.set_folder(enabled.then_some(folder.as_path())) {
            Ok(Some(path)) => self.send(notice(
                NoticeLevel::Info,
                format!("Diagnostic log (no secrets): {}", path.display()),
            )),
            Ok(None) => self.send(notice(NoticeLevel::Info, "Diagnostic log off")),
            Err(e) => self.send(notice(NoticeLevel::Error, format!("Diagnostic log: {e}"))),
        }
    }

    /// "Copy diagnostics": version, OS, what the window holds, the recent log lines.
    pub(super) fn copy_diagnostics(&self) {
        let connected = self
            .sessions
            .iter()
            .filter(|s| s.state == crate::model::SessionState::Connected)
            .count();
        let text = crate::engine::diag::support_report(&[
            ("profiles", self.store.profiles().len().to_string()),
            (
                "sessions",
                format!("{} ({connected} connected)", self.sessions.len()),
            ),
            ("demo mode", self.sim.is_some().to_string()),
        ]);
        self.send(UiEvent::Diagnostics { text });
    }
}

/// Runs the check of `profile`, sending each step as a [`UiEvent::DoctorStep`] the moment it
/// completes and the end as [`UiEvent::DoctorDone`].
async fn test_connection(
    profile: Profile,
    events: EventSender,
    proxy_credential: Option<crate::engine::doctor::ProxyCredential>,
) {
    let id = profile.id;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<DiagStep>();
    let fwd_events = events.clone();
    let fwd = tokio::spawn(async move {
        while let Some(step) = rx.recv().await {
            fwd_events.send(UiEvent::DoctorStep {
                profile_id: id,
                step,
            });
        }
    });
    let opts = DoctorOptions {
        proxy_credential,
        ..Default::default()
    };
    let res = check(&profile, &opts, Some(tx)).await;
    let _ = fwd.await;
    events.send(match res {
        Ok(r) => UiEvent::DoctorDone {
            profile_id: id,
            passed: r.passed(),
            summary: r.summary(),
        },
        Err(e) => UiEvent::DoctorDone {
            profile_id: id,
            passed: false,
            summary: format!("The test could not run: {e}"),
        },
    });
}
