//! Connects that come while a sign-in dialog is open ("Connect all in folder", an Undo's
//! reconnect, a Connect during a fan-out's sign-in turn): the open dialog stays. Each such
//! profile connects from its cached sign-in without a dialog, at once; one that needs an
//! interactive sign-in waits, and gets the dialog when the open one closes — one dialog at a
//! time, in the order they came.

use uuid::Uuid;

use super::workspace::Silent;
use super::{ConnectDone, Driver, Internal, notice};
use crate::engine::auth::SignInError;
use crate::engine::connect::ConnectError;
use crate::ui::bridge::NoticeLevel;

impl Driver {
    /// A Connect while a dialog is open: the cached sign-in, else a place in the queue.
    pub(super) fn connect_behind(&mut self, profile_id: Uuid) {
        if self.waiting.contains(&profile_id) {
            return;
        }
        let Some(profile) = self.store.get(profile_id).cloned() else {
            return self.send(notice(
                NoticeLevel::Error,
                "That profile is not saved; save it first",
            ));
        };
        self.generation += 1;
        let generation = self.generation;
        let connector = self.connector.clone();
        let itx = self.internal_tx.clone();
        tokio::spawn(async move {
            let result = connector.connect_silent(&profile, &Silent).await;
            let next = match result {
                Err(ConnectError::SignIn(SignInError::NeedsInteractive(_))) => {
                    Internal::WaitForDialog(profile.id)
                }
                result => Internal::ConnectedQuietly(ConnectDone {
                    generation,
                    profile_id: profile.id,
                    profile_name: profile.name,
                    result: Box::new(result),
                }),
            };
            let _ = itx.send(next);
        });
    }

    /// `profile_id` needs the dialog: after the one open now (or at once when none is).
    pub(super) fn wait_for_dialog(&mut self, profile_id: Uuid) {
        if self.waiting.contains(&profile_id) {
            return;
        }
        self.waiting.push_back(profile_id);
        if self.signin.is_some()
            && let Some(p) = self.store.get(profile_id)
        {
            self.send(notice(
                NoticeLevel::Info,
                format!(
                    "{} needs a sign-in: its dialog comes after the one open now",
                    p.name
                ),
            ));
        }
    }

    /// When no dialog is open, the next waiting profile gets one.
    pub(super) fn next_waiting_sign_in(&mut self) {
        if self.signin.is_some() {
            return;
        }
        if let Some(id) = self.waiting.pop_front() {
            self.connect_with(id, None);
        }
    }
}
