//! The driver's workspace job: the window's `model::workspace` file beside the profile store
//! (read once at start, written when the window sends a newer one; atomic, no secrets), and
//! "pick up where you left off": the sessions open at the last close, each reconnected only
//! silently from its cached sign-in (`Connector::connect_silent`, through a prompt that never
//! asks anything). One that would need an interactive sign-in is reported to the window as
//! [`UiEvent::RestoreFailed`], which lists it with a Reconnect button; no dialog opens.

use futures_util::future::BoxFuture;
use uuid::Uuid;

use super::{Driver, Internal, notice};
use crate::engine::auth::{SignInError, SignInEvent};
use crate::engine::connect::{ConnectError, OnFailure, OnMismatch, SignInPrompt};
use crate::model::workspace::{self, Workspace};
use crate::ui::bridge::{NoticeLevel, UiEvent};

/// Sessions restored at once (a partner's 200 tenants do not all connect in the same second).
const RESTORE_AT_ONCE: usize = 4;

/// The prompt of a connect that must not ask anything (a restore; a Connect while a dialog is
/// open, `waiting`): it answers nothing, so nothing interactive can start.
pub(super) struct Silent;

impl SignInPrompt for Silent {
    fn show(&self, _event: &SignInEvent) {}
    fn password(&self) -> BoxFuture<'_, Result<String, ConnectError>> {
        Box::pin(async {
            Err(ConnectError::SignIn(SignInError::NeedsInteractive(
                "a password is needed".into(),
            )))
        })
    }
    fn upn_mismatch<'a>(&'a self, _e: &'a str, _a: &'a str) -> BoxFuture<'a, OnMismatch> {
        Box::pin(async { OnMismatch::Cancel })
    }
    fn failed<'a>(&'a self, _error: &'a SignInError) -> BoxFuture<'a, OnFailure> {
        Box::pin(async { OnFailure::GiveUp })
    }
}

impl Driver {
    /// Reads the workspace file (setting a broken or newer one aside, said once).
    pub(super) fn load_workspace(&self) {
        let (ws, note) = workspace::load(self.store.root());
        if let Some(text) = note {
            self.send(notice(NoticeLevel::Warning, text));
        }
        self.send(UiEvent::WorkspaceLoaded(Box::new(ws)));
    }

    /// Writes the window's workspace (a small file: atomic, on the loop like profile saves).
    pub(super) fn save_workspace(&mut self, ws: &Workspace) {
        match workspace::save(self.store.root(), ws) {
            Ok(()) => self.workspace_error = None,
            Err(e) => {
                // Said once until a save works again.
                if self.workspace_error.as_deref() != Some(e.as_str()) {
                    let text = format!("The workspace (open sessions, history) was not saved: {e}");
                    self.send(notice(NoticeLevel::Warning, text));
                    self.workspace_error = Some(e);
                }
            }
        }
    }

    /// Reconnects these profiles silently, [`RESTORE_AT_ONCE`] at a time; each one that cannot
    /// is reported, never prompted.
    pub(super) fn restore(&self, profile_ids: Vec<Uuid>) {
        let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(RESTORE_AT_ONCE));
        for id in profile_ids {
            let Some(profile) = self.store.get(id).cloned() else {
                continue; // Deleted since: nothing to restore.
            };
            let connector = self.connector.clone();
            let tx = self.internal_tx.clone();
            let slots = slots.clone();
            tokio::spawn(async move {
                let _slot = slots.acquire().await;
                let result = connector.connect_silent(&profile, &Silent).await;
                let _ = tx.send(Internal::Restored {
                    profile_id: profile.id,
                    result: Box::new(result),
                });
            });
        }
    }

    /// A restore ended: the session is up (its catalogue next), or the window lists it.
    pub(super) fn restored(
        &mut self,
        profile_id: Uuid,
        result: Result<crate::engine::connect::Connected, ConnectError>,
    ) {
        match result {
            Ok(c) => self.fetch_catalogue(&c.session),
            Err(e) => {
                let reason = match &e {
                    ConnectError::SignIn(SignInError::NeedsInteractive(_)) => {
                        "needs an interactive sign-in".to_string()
                    }
                    other => other.to_string(),
                };
                self.send(UiEvent::RestoreFailed { profile_id, reason });
            }
        }
    }
}
