//! The driver's Connect: the engine's [`Connector`](crate::engine::connect::Connector) runs the
//! use-case in a task, and the sign-in dialog is its prompt ([`DialogPrompt`]): the progress
//! becomes [`SignInView`] stages, the questions (password, UPN mismatch, what to do after a
//! failure) wait for the dialog's commands, which the loop hands over as [`Answer`]s.

use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::{ConnectDone, Driver, Internal, Rerun, notice};
use crate::engine::auth::{CancellationToken, SignInError, SignInEvent, SignedIn};
use crate::engine::connect::{
    ConnectError, ConnectOptions, Connected, OnFailure, OnMismatch, SignInPrompt,
};
use crate::engine::sessions::SessionError;
use crate::model::SignInMethod;
use crate::ui::bridge::{
    DeviceCodeState, EventSender, NoticeLevel, Secret, SignInStage, SignInView, UiEvent,
};

/// Why the sign-in dialog is back after a claims challenge, in plain words.
pub(super) const REVOKED: &str = "The tenant revoked this session's access (a password change, a disabled account, a new location or a changed policy), and the saved sign-in is not enough any more. Sign in again: the command runs again in the same session once you are signed in.";

/// A command of the sign-in dialog, for the connect that asked.
#[derive(Debug)]
pub(super) enum Answer {
    Password(Secret),
    NewDeviceCode,
    Continue,
    Retry,
}

/// The connect whose dialog is open: cancel it, or answer it.
pub(super) struct SignInJob {
    generation: u64,
    cancel: CancellationToken,
    answers: mpsc::UnboundedSender<Answer>,
}

impl Driver {
    /// Connects a saved profile: the connector's task, with the dialog as its prompt; while
    /// another dialog is open, without a dialog or after it (`waiting`).
    pub(super) fn connect(&mut self, profile_id: Uuid) {
        if self.signin.is_some() {
            return self.connect_behind(profile_id);
        }
        self.connect_with(profile_id, None);
    }

    /// The tenant revoked a session's access and the cached sign-in could not answer its
    /// claims challenge (continuous access evaluation): the dialog comes back saying why, and
    /// the interactive sign-in carries the challenge's `claims`. It only signs in: the session
    /// stays (its token provider takes the new sign-in from the cache: the same row), and the
    /// interrupted line runs again in it once ([`Self::recovered`]).
    pub(super) fn claims_challenge(&mut self, profile_id: Uuid, claims: String, rerun: Rerun) {
        if self.signin.is_some() {
            return; // a sign-in is open already; it will do
        }
        if !self
            .sessions
            .iter()
            .any(|s| s.connection_id == rerun.conn.0)
        {
            return self.connect_with(profile_id, Some(claims));
        }
        let Some(profile) = self.store.get(profile_id).cloned() else {
            return;
        };
        let (prompt, cancel, generation) = self.open_dialog(&profile, Some(REVOKED.to_string()));
        let connector = self.connector.clone();
        let itx = self.internal_tx.clone();
        tokio::spawn(async move {
            let opts = ConnectOptions {
                cancel,
                claims: Some(claims),
                ..Default::default()
            };
            let result = connector.sign_in(&profile, &prompt, &opts).await;
            let _ = itx.send(Internal::Recovered {
                generation,
                profile_id: profile.id,
                rerun,
                result: Box::new(result.map(|_| ())),
            });
        });
    }

    /// The claims challenge's sign-in ended: signed in, the interrupted line runs again in its
    /// session (once: another challenge fails it plainly); a failure is told like a connect's.
    pub(super) fn recovered(
        &mut self,
        generation: u64,
        profile_id: Uuid,
        rerun: Rerun,
        result: Result<(), ConnectError>,
    ) {
        let dialog = self.signin.as_ref().map(|j| j.generation) == Some(generation);
        if dialog {
            self.signin = None;
        }
        match result {
            Ok(()) => match rerun.line {
                Some(line) => self.run_line_with(rerun.conn, line, rerun.confirmed, true),
                None => self.send(notice(
                    NoticeLevel::Info,
                    "Signed in again: \"Retry failed and unsent\" sends the bulk run's remaining rows.",
                )),
            },
            Err(e) if e.is_cancelled() => {}
            Err(e) if dialog => self.send(UiEvent::SignInFinished {
                profile_id,
                result: Err(e.to_string()),
            }),
            Err(e) => self.send(notice(NoticeLevel::Error, e.to_string())),
        }
    }

    /// [`Self::connect`], answering a claims challenge when `claims` is given.
    pub(super) fn connect_with(&mut self, profile_id: Uuid, claims: Option<String>) {
        let Some(profile) = self.store.get(profile_id).cloned() else {
            self.send(notice(
                NoticeLevel::Error,
                "That profile is not saved; save it first",
            ));
            return;
        };
        let reason = claims.as_ref().map(|_| REVOKED.to_string());
        let (prompt, cancel, generation) = self.open_dialog(&profile, reason);
        let connector = self.connector.clone();
        let itx = self.internal_tx.clone();
        tokio::spawn(async move {
            let opts = ConnectOptions {
                cancel,
                claims,
                ..Default::default()
            };
            let result = connector.connect(&profile, &prompt, &opts).await;
            let _ = itx.send(Internal::Connected(ConnectDone {
                generation,
                profile_id: profile.id,
                profile_name: profile.name,
                result: Box::new(result),
            }));
        });
    }

    /// The sign-in dialog of `profile` opens (an older sign-in and its dialog give way): its
    /// prompt, the token that cancels it, and its generation.
    fn open_dialog(
        &mut self,
        profile: &crate::model::Profile,
        reason: Option<String>,
    ) -> (DialogPrompt, CancellationToken, u64) {
        self.cancel_sign_in();
        self.generation += 1;
        let cancel = CancellationToken::new();
        let (prompt, job) = self
            .dialogs()
            .prompt(profile, reason, cancel.clone(), self.generation);
        self.signin = Some(job);
        (prompt, cancel, self.generation)
    }

    /// What it takes to open sign-in dialogs (also from the fan-out's tasks).
    pub(super) fn dialogs(&self) -> Dialogs {
        Dialogs {
            ev: self.ev.clone(),
            internal: self.internal_tx.clone(),
            sim: self.sim.clone(),
        }
    }

    /// Hands a dialog command to the connect that waits for it.
    pub(super) fn answer(&self, a: Answer) {
        if let Some(job) = &self.signin {
            let _ = job.answers.send(a);
        }
    }

    pub(super) fn cancel_sign_in(&mut self) {
        if let Some(job) = self.signin.take() {
            job.cancel.cancel();
        }
    }

    /// The dialog closes; the session opens next (the connect goes on in its task).
    pub(super) fn signed_in(&mut self, generation: u64, profile_id: Uuid) {
        if self.signin.as_ref().map(|j| j.generation) != Some(generation) {
            return;
        }
        self.signin = None;
        self.send(UiEvent::SignInFinished {
            profile_id,
            result: Ok(()),
        });
        self.remember_connected(profile_id);
    }

    /// The end of a connect: the sessions arrive as registry events; a refusal is told here.
    pub(super) fn connected(
        &mut self,
        generation: u64,
        (profile_id, name): (Uuid, &str),
        result: Result<Connected, ConnectError>,
    ) {
        let dialog = self.signin.as_ref().map(|j| j.generation) == Some(generation);
        if dialog {
            self.signin = None;
        }
        let e = match result {
            Ok(c) => return self.fetch_catalogue(&c.session),
            Err(e) if e.is_cancelled() => return,
            Err(ConnectError::Session(SessionError::LimitReached(lr))) => {
                let view = self.limit_view(&lr);
                self.send(UiEvent::LimitReached(view));
                return;
            }
            Err(e) => e,
        };
        // The sign-in's own 407 was told by the dialog; the access check's is told here.
        if let (Some((proxy, explanation)), ConnectError::Session(_)) =
            (e.proxy_credential_needed(), &e)
        {
            self.send(UiEvent::ProxyCredentialNeeded {
                profile_id,
                proxy,
                explanation,
            });
        }
        if dialog {
            // Before the sign-in finished (the profile's client could not be built): the
            // dialog closes with the explanation.
            self.send(UiEvent::SignInFinished {
                profile_id,
                result: Err(e.to_string()),
            });
        } else {
            self.send(notice(NoticeLevel::Error, format!("{name}: {e}")));
        }
    }
}

/// Opens sign-in dialogs: the window's events, the driver's loop, the demo sim.
#[derive(Clone)]
pub(super) struct Dialogs {
    ev: EventSender,
    internal: mpsc::UnboundedSender<Internal>,
    sim: Option<Arc<crate::sim::SimHandle>>,
}

impl Dialogs {
    /// The sign-in dialog of `profile` as a prompt, and the job that answers or cancels it
    /// (`cancel` ends its questions).
    pub(super) fn prompt(
        &self,
        profile: &crate::model::Profile,
        reason: Option<String>,
        cancel: CancellationToken,
        generation: u64,
    ) -> (DialogPrompt, SignInJob) {
        let (answers, rx) = mpsc::unbounded_channel();
        let prompt = DialogPrompt {
            ev: self.ev.clone(),
            view: Mutex::new(SignInView {
                profile_id: profile.id,
                profile_name: profile.name.clone(),
                account: profile.upn.clone(),
                method: profile.auth.method(),
                stage: SignInStage::Starting,
                reason,
            }),
            mfa: Mutex::new(None),
            answers: tokio::sync::Mutex::new(rx),
            cancel: cancel.clone(),
            internal: self.internal.clone(),
            generation,
            sim: self.sim.clone(),
        };
        let job = SignInJob {
            generation,
            cancel,
            answers,
        };
        (prompt, job)
    }
}

/// The sign-in dialog as the connector's prompt. Sends nothing once its connect is cancelled
/// (the dialog was closed, or another connect started).
pub(super) struct DialogPrompt {
    ev: EventSender,
    view: Mutex<SignInView>,
    /// Why a password sign-in moved to the device code (shown with the code).
    mfa: Mutex<Option<String>>,
    answers: tokio::sync::Mutex<mpsc::UnboundedReceiver<Answer>>,
    cancel: CancellationToken,
    internal: mpsc::UnboundedSender<Internal>,
    generation: u64,
    sim: Option<Arc<crate::sim::SimHandle>>,
}

impl DialogPrompt {
    /// Its connect was cancelled (the dialog closed, or the fan-out skipped the profile).
    pub(super) fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    fn update(&self, f: impl FnOnce(&mut SignInView)) {
        let view = {
            let mut v = self.view.lock().unwrap();
            f(&mut v);
            v.clone()
        };
        if !self.cancel.is_cancelled() {
            self.ev.send(UiEvent::SignIn(view));
        }
    }

    fn stage(&self, stage: SignInStage) {
        self.update(|v| v.stage = stage);
    }

    /// The verification step's state; false when the dialog is not at that step.
    fn device_state(&self, state: DeviceCodeState) -> bool {
        let at_code = matches!(
            self.view.lock().unwrap().stage,
            SignInStage::DeviceCode { .. }
        );
        if at_code {
            self.update(|v| {
                if let SignInStage::DeviceCode { state: s, .. } = &mut v.stage {
                    *s = state;
                }
            });
        }
        at_code
    }

    /// The next dialog command `pick` accepts (others are dropped); None when cancelled.
    async fn wait<T>(&self, pick: impl Fn(Answer) -> Option<T>) -> Option<T> {
        let mut rx = self.answers.lock().await;
        loop {
            let a = tokio::select! {
                _ = self.cancel.cancelled() => return None,
                a = rx.recv() => a?,
            };
            if let Some(t) = pick(a) {
                return Some(t);
            }
        }
    }

    fn code_issued(
        &self,
        user_code: &str,
        verification_uri: &str,
        expires_at: chrono::DateTime<chrono::Utc>,
        warning: Option<&str>,
    ) {
        if let Some(h) = &self.sim {
            // Demo mode only (the made-up accounts of the in-process sim): the scripted system
            // test reads the code here, and the demo phone's code, which the window shows
            // anyway. Never a token or a real account.
            let upn = self.view.lock().unwrap().account.clone();
            let phone = crate::ui::demo::phone(h)
                .into_iter()
                .find(|a| a.upn.eq_ignore_ascii_case(&upn))
                .and_then(|a| a.code)
                .map(|c| format!("; demo phone code for {upn}: {c}"))
                .unwrap_or_default();
            eprintln!("demo: device code {user_code} at {verification_uri}{phone}");
        }
        let mfa = self.mfa.lock().unwrap().clone();
        self.update(|v| {
            v.method = SignInMethod::DeviceCode;
            v.stage = SignInStage::DeviceCode {
                user_code: user_code.to_string(),
                verification_uri: verification_uri.to_string(),
                expires_at,
                state: DeviceCodeState::Waiting,
                mfa_explanation: mfa,
                warning: warning.map(String::from),
            };
        });
    }

    /// Shows a failure the way the dialog offers its way out: the verification step expired or
    /// declined ("Get a new code"), the password asked again, or the explanation with Retry.
    fn show_failure(&self, error: &SignInError) {
        let explanation = error.explanation();
        let state = match error {
            SignInError::Expired => Some(DeviceCodeState::Expired),
            SignInError::Declined => Some(DeviceCodeState::Declined),
            _ => None,
        };
        if state.is_some_and(|s| self.device_state(s)) {
            return;
        }
        if let SignInError::ProxyAuth(p) = error
            && !self.cancel.is_cancelled()
        {
            let profile_id = self.view.lock().unwrap().profile_id;
            self.ev.send(UiEvent::ProxyCredentialNeeded {
                profile_id,
                proxy: p.proxy.clone(),
                explanation: p.to_string(),
            });
        }
        let password = self.view.lock().unwrap().method == SignInMethod::Password;
        if password && matches!(error, SignInError::Entra(_)) {
            self.stage(SignInStage::Password {
                error: Some(explanation),
            });
        } else {
            self.stage(SignInStage::Failed { explanation });
        }
    }
}

impl SignInPrompt for DialogPrompt {
    fn starting(&self, method: SignInMethod) {
        self.update(|v| {
            v.method = method;
            v.stage = SignInStage::Starting;
        });
    }

    fn show(&self, event: &SignInEvent) {
        match event {
            SignInEvent::CodeIssued {
                user_code,
                verification_uri,
                expires_at,
                verification_warning,
                ..
            } => self.code_issued(
                user_code,
                verification_uri,
                *expires_at,
                verification_warning.as_deref(),
            ),
            SignInEvent::Waiting => drop(self.device_state(DeviceCodeState::Waiting)),
            SignInEvent::SlowedDown { .. } => drop(self.device_state(DeviceCodeState::SlowedDown)),
            SignInEvent::Expired => drop(self.device_state(DeviceCodeState::Expired)),
            SignInEvent::Declined => drop(self.device_state(DeviceCodeState::Declined)),
            SignInEvent::BrowserOpened { url } | SignInEvent::OpenBrowserFailed { url } => {
                self.stage(SignInStage::Browser { url: url.clone() })
            }
            SignInEvent::MfaRequired { explanation } => {
                *self.mfa.lock().unwrap() = Some(explanation.clone());
                self.update(|v| {
                    v.method = SignInMethod::DeviceCode;
                    v.stage = SignInStage::Starting;
                });
            }
            SignInEvent::UpnMismatch { expected, actual } => self.stage(SignInStage::UpnMismatch {
                expected: expected.clone(),
                actual: actual.clone(),
            }),
            SignInEvent::Succeeded { .. } | SignInEvent::Failed { .. } => {}
        }
    }

    fn password(&self) -> BoxFuture<'_, Result<String, ConnectError>> {
        Box::pin(async move {
            self.update(|v| {
                v.method = SignInMethod::Password;
                v.stage = SignInStage::Password { error: None };
            });
            self.wait(|a| match a {
                Answer::Password(pw) => Some(pw.expose().to_string()),
                _ => None,
            })
            .await
            .ok_or(ConnectError::SignIn(SignInError::Cancelled))
        })
    }

    fn upn_mismatch<'a>(&'a self, expected: &'a str, actual: &'a str) -> BoxFuture<'a, OnMismatch> {
        Box::pin(async move {
            self.stage(SignInStage::UpnMismatch {
                expected: expected.to_string(),
                actual: actual.to_string(),
            });
            let pick = |a| match a {
                Answer::Continue => Some(OnMismatch::Continue),
                Answer::Retry => Some(OnMismatch::Retry),
                _ => None,
            };
            self.wait(pick).await.unwrap_or(OnMismatch::Cancel)
        })
    }

    fn failed<'a>(&'a self, error: &'a SignInError) -> BoxFuture<'a, OnFailure> {
        Box::pin(async move {
            self.show_failure(error);
            let pick = |a| match a {
                Answer::Password(pw) => Some(OnFailure::Password(pw.expose().to_string())),
                Answer::NewDeviceCode => Some(OnFailure::DeviceCode),
                Answer::Retry => Some(OnFailure::Retry),
                Answer::Continue => None,
            };
            let next = self.wait(pick).await.unwrap_or(OnFailure::GiveUp);
            if matches!(next, OnFailure::Retry | OnFailure::Password(_)) {
                // A new attempt from the start: the MFA explanation belonged to the last one.
                *self.mfa.lock().unwrap() = None;
            }
            next
        })
    }

    fn signed_in(&self, _signed: &SignedIn) {
        let profile_id = self.view.lock().unwrap().profile_id;
        let _ = self.internal.send(Internal::SignedIn {
            generation: self.generation,
            profile_id,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Profile;

    fn prompt() -> (
        DialogPrompt,
        mpsc::UnboundedSender<Answer>,
        crate::ui::bridge::ChannelBackend,
    ) {
        let (ui, driver) = crate::ui::bridge::channel();
        let (answers, rx) = mpsc::unbounded_channel();
        let (internal, _) = mpsc::unbounded_channel();
        let p = Profile::new(
            "p",
            "ops@contoso.com",
            crate::model::Service::ExchangeOnline,
        );
        let prompt = DialogPrompt {
            ev: driver.events,
            view: Mutex::new(SignInView {
                profile_id: p.id,
                profile_name: p.name.clone(),
                account: p.upn.clone(),
                method: SignInMethod::Password,
                stage: SignInStage::Starting,
                reason: None,
            }),
            mfa: Mutex::new(None),
            answers: tokio::sync::Mutex::new(rx),
            cancel: CancellationToken::new(),
            internal,
            generation: 1,
            sim: None,
        };
        (prompt, answers, ui)
    }

    fn stages(ui: &mut crate::ui::bridge::ChannelBackend) -> Vec<SignInStage> {
        use crate::ui::bridge::Backend;
        ui.poll()
            .into_iter()
            .filter_map(|e| match e {
                UiEvent::SignIn(v) => Some(v.stage),
                _ => None,
            })
            .collect()
    }

    #[tokio::test]
    async fn a_wrong_password_asks_again_and_answers_that_do_not_fit_are_dropped() {
        let (p, answers, mut ui) = prompt();
        answers.send(Answer::Continue).unwrap();
        answers
            .send(Answer::Password(Secret::new("second")))
            .unwrap();
        let e = SignInError::Entra(Box::default());
        assert_eq!(p.failed(&e).await, OnFailure::Password("second".into()));
        assert!(matches!(
            stages(&mut ui).last(),
            Some(SignInStage::Password { error: Some(_) })
        ));
    }

    #[tokio::test]
    async fn cancel_ends_every_question_and_silences_the_dialog() {
        let (p, _answers, mut ui) = prompt();
        p.cancel.cancel();
        assert!(matches!(
            p.password().await,
            Err(ConnectError::SignIn(SignInError::Cancelled))
        ));
        assert_eq!(p.upn_mismatch("a", "b").await, OnMismatch::Cancel);
        assert_eq!(p.failed(&SignInError::Declined).await, OnFailure::GiveUp);
        assert!(stages(&mut ui).is_empty(), "nothing reopens the dialog");
    }

    #[tokio::test]
    async fn mfa_fallback_shows_the_explanation_with_the_code_until_a_retry() {
        let (p, answers, mut ui) = prompt();
        p.show(&SignInEvent::MfaRequired {
            explanation: "needs MFA".into(),
        });
        let expires_at = chrono::Utc::now();
        p.show(&SignInEvent::CodeIssued {
            user_code: "C0DE".into(),
            verification_uri: "http://127.0.0.1:1/devicelogin".into(),
            expires_at,
            message: String::new(),
            verification_warning: None,
        });
        p.show(&SignInEvent::Expired);
        let last = stages(&mut ui).pop().unwrap();
        assert_eq!(
            last,
            SignInStage::DeviceCode {
                user_code: "C0DE".into(),
                verification_uri: "http://127.0.0.1:1/devicelogin".into(),
                expires_at,
                state: DeviceCodeState::Expired,
                mfa_explanation: Some("needs MFA".into()),
                warning: None,
            }
        );
        answers.send(Answer::NewDeviceCode).unwrap();
        assert_eq!(p.failed(&SignInError::Expired).await, OnFailure::DeviceCode);
        assert!(p.mfa.lock().unwrap().is_some(), "kept for the new code");
        answers.send(Answer::Retry).unwrap();
        assert_eq!(
            p.failed(&SignInError::Network("x".into())).await,
            OnFailure::Retry
        );
        assert!(p.mfa.lock().unwrap().is_none());
    }
}
