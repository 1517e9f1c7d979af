//! The app's per-frame work that draws nothing: drain the driver's events and the background
//! answers (file dialogs, the export writer) and apply each to the state. Text that may quote a
//! server (notices, the sign-in dialog, run warnings and failures, the connectivity check) is
//! made printable here, once, before the panes see it (`model::text`).

use std::path::PathBuf;

use crate::model::Profile;
use crate::model::text::{printable, printable_line};
use crate::ui::bridge::{ConnId, NoticeLevel, ProfileState, SessionView, UiCommand, UiEvent};
use crate::ui::dialogs::{DialogPurpose, DialogRequest, PathPrompt};
use crate::ui::editor::EditorState;
use crate::ui::nav::Centre;

use super::{App, Background};

/// Events: the driver's [`UiEvent`]s and the background answers, applied to the state.
impl App {
    /// Drain the driver's events and background answers. Never blocks.
    pub fn handle_events(&mut self, ctx: &egui::Context) {
        for ev in self.backend.poll() {
            crate::ui::probe::note_event(&ev);
            self.apply(ev);
        }
        if let Some(text) = self.to_clipboard.take() {
            ctx.copy_text(text);
            self.notice(
                NoticeLevel::Info,
                "Diagnostics copied to the clipboard (version, OS, recent log lines; no secrets)",
            );
        }
        self.workspace_tick();
        while let Ok(bg) = self.bg_rx.try_recv() {
            match bg {
                Background::Dialog(req, answer) => self.file_answer(req, answer),
                Background::Notice(level, text) => self.notice(level, text),
            }
        }
        if self.applied_theme != Some(self.persisted.theme) {
            self.persisted.theme.apply(ctx);
            self.applied_theme = Some(self.persisted.theme);
        }
    }

    /// Apply one event to the state.
    pub fn apply(&mut self, ev: UiEvent) {
        match printable_event(ev) {
            UiEvent::ProfilesLoaded(list) => self.profiles_loaded(list),
            UiEvent::ProfileSaved(p) => self.profile_saved(*p),
            UiEvent::ProfileDeleted { id } => self.profile_deleted(id),
            UiEvent::SignIn(view) => {
                self.signin_dialog.changed(self.signin.as_ref(), &view);
                self.signin = Some(view);
            }
            UiEvent::SignInFinished { profile_id, result } => {
                self.signin = None;
                self.signin_dialog.closed();
                let name = self
                    .profile(profile_id)
                    .map(|p| p.name.clone())
                    .unwrap_or_default();
                match result {
                    Ok(()) => self.notice(NoticeLevel::Info, format!("Signed in: {name}")),
                    Err(e) => self.notice(NoticeLevel::Error, format!("Sign-in failed: {e}")),
                }
            }
            UiEvent::SessionsChanged(list) => self.sessions_changed(list),
            UiEvent::LimitReached(view) => self.limit = Some(view),
            UiEvent::RunStarted { conn, line } => self.output_mut(conn).started(line),
            UiEvent::RunRows { conn, rows } => self.output_mut(conn).add_rows(rows),
            UiEvent::RunWarning { conn, text } => self.output_mut(conn).warnings.push(text),
            UiEvent::RunConfirmation {
                conn,
                line,
                question,
            } => self.confirmation_asked(conn, line, question),
            UiEvent::CatalogueReady { conn, catalogue } => self.catalogue_ready(conn, catalogue),
            UiEvent::CataloguesKnown(known) => self.known_catalogues = known,
            UiEvent::RateChanged { conn, rate } => {
                if let Some(s) = self.sessions.iter_mut().find(|s| s.conn == conn) {
                    s.rate = Some(rate);
                }
            }
            UiEvent::RunDone {
                conn,
                rows,
                pages,
                elapsed,
            } => self.output_mut(conn).done(rows, pages, elapsed),
            UiEvent::RunFailed { conn, explanation } => self.output_mut(conn).failed(explanation),
            UiEvent::Notice { level, text } => self.notice(level, text),
            UiEvent::DoctorStep { profile_id, step } => self.editor.doctor.step(profile_id, step),
            UiEvent::DoctorDone {
                profile_id,
                passed,
                summary,
            } => self.editor.doctor.done(profile_id, passed, summary),
            UiEvent::RouteResolved { profile_id, lines } => {
                self.editor.route_resolved(profile_id, lines)
            }
            UiEvent::ProxyCredentialNeeded {
                profile_id,
                proxy,
                explanation,
            } => self.proxy_credential_needed(profile_id, &proxy, explanation),
            UiEvent::DemoPhone(list) => self.demo_phone = list,
            UiEvent::Diagnostics { text } => self.to_clipboard = Some(text),
            ev @ (UiEvent::FanoutStarted { .. }
            | UiEvent::FanoutState { .. }
            | UiEvent::FanoutRows { .. }
            | UiEvent::FanoutSignInTurn { .. }
            | UiEvent::FanoutIdle { .. }) => self.apply_fanout(ev),
            ev @ (UiEvent::WorkspaceLoaded(_) | UiEvent::RestoreFailed { .. }) => {
                self.apply_workspace(ev)
            }
            ev @ (UiEvent::BulkTable { .. }
            | UiEvent::BulkProgress { .. }
            | UiEvent::BulkDone { .. }) => self.apply_bulk(ev),
        }
    }

    /// A session's live catalogue: its completion.
    fn catalogue_ready(
        &mut self,
        conn: ConnId,
        catalogue: std::sync::Arc<crate::model::catalogue::CmdletCatalogue>,
    ) {
        self.output_mut(conn).completion.catalogue = Some(catalogue);
    }

    fn profile_deleted(&mut self, id: uuid::Uuid) {
        self.profiles.retain(|p| p.id != id);
        if self.selected == Some(id) {
            self.selected = None;
            self.editor = EditorState::default();
        }
    }

    /// "Run for each row…": its table, progress and results.
    fn apply_bulk(&mut self, ev: UiEvent) {
        match ev {
            UiEvent::BulkTable {
                conn,
                source,
                table,
            } => self.bulk.table(conn, line(source), table.map_err(text)),
            UiEvent::BulkProgress {
                run,
                done,
                total,
                rows,
                ..
            } => self.bulk.progress(run, done, total, rows),
            UiEvent::BulkDone {
                run, results, note, ..
            } => self.bulk.done(run, results.map_err(text), note),
            _ => {}
        }
    }

    /// A proxy asked for the credential of `profile_id`'s route: its editor asks for it.
    fn proxy_credential_needed(&mut self, profile_id: uuid::Uuid, proxy: &str, why: String) {
        if self.profile(profile_id).is_some() && self.selected != Some(profile_id) {
            self.select_now(Some(profile_id));
        }
        self.editor.proxy_credential_needed(profile_id, proxy);
        self.notice(NoticeLevel::Warning, why);
    }

    /// The fan-out run's events.
    fn apply_fanout(&mut self, ev: UiEvent) {
        match ev {
            UiEvent::FanoutStarted {
                run,
                line,
                profiles,
            } => self.fanout.started(run, line, profiles),
            UiEvent::FanoutState { run, index, state } => {
                let now = self.now();
                if let Some(id) = self.fanout.state(run, index, state, now)
                    && self.signin.as_ref().is_some_and(|v| v.profile_id == id)
                {
                    // Its sign-in turn ended (skipped, or the run cancelled): the dialog goes.
                    self.signin = None;
                    self.signin_dialog.closed();
                }
            }
            UiEvent::FanoutRows { run, rows, .. } => self.fanout.rows(run, rows),
            UiEvent::FanoutSignInTurn { run, index } => self.fanout.sign_in_turn(run, index),
            UiEvent::FanoutIdle { run, summary } => self.fanout.idle(run, summary),
            _ => {}
        }
    }
}

/// Is the session still open (the window lists a disconnected one only until it goes)?
fn is_open(s: &SessionView) -> bool {
    s.state != crate::model::SessionState::Disconnected
}

/// `s` without escape sequences or control characters (line breaks kept).
fn text(s: String) -> String {
    match printable(&s) {
        std::borrow::Cow::Borrowed(_) => s,
        owned => owned.into_owned(),
    }
}

/// `s` on one line, without escape sequences or control characters.
fn line(s: String) -> String {
    match printable_line(&s) {
        std::borrow::Cow::Borrowed(_) => s,
        owned => owned.into_owned(),
    }
}

/// The event with every text that may quote a server made printable.
fn printable_event(ev: UiEvent) -> UiEvent {
    match ev {
        UiEvent::Notice { level, text: t } => UiEvent::Notice {
            level,
            text: text(t),
        },
        UiEvent::SignIn(view) => UiEvent::SignIn(printable_view(view)),
        UiEvent::SignInFinished {
            profile_id,
            result: Err(e),
        } => UiEvent::SignInFinished {
            profile_id,
            result: Err(text(e)),
        },
        UiEvent::RunWarning { conn, text: t } => UiEvent::RunWarning {
            conn,
            text: text(t),
        },
        UiEvent::RunConfirmation {
            conn,
            line: l,
            question,
        } => UiEvent::RunConfirmation {
            conn,
            line: line(l),
            question: text(question),
        },
        UiEvent::RunFailed { conn, explanation } => UiEvent::RunFailed {
            conn,
            explanation: text(explanation),
        },
        UiEvent::DoctorStep {
            profile_id,
            mut step,
        } => {
            step.target = line(step.target);
            step.summary = text(step.summary);
            if let Some(a) = &mut step.advice {
                a.what = text(std::mem::take(&mut a.what));
                a.why = text(std::mem::take(&mut a.why));
                a.fix = text(std::mem::take(&mut a.fix));
            }
            UiEvent::DoctorStep { profile_id, step }
        }
        UiEvent::DoctorDone {
            profile_id,
            passed,
            summary,
        } => UiEvent::DoctorDone {
            profile_id,
            passed,
            summary: text(summary),
        },
        UiEvent::FanoutState {
            run,
            index,
            state: ProfileState::Failed { message },
        } => UiEvent::FanoutState {
            run,
            index,
            state: ProfileState::Failed {
                message: line(message),
            },
        },
        UiEvent::ProxyCredentialNeeded {
            profile_id,
            proxy,
            explanation,
        } => UiEvent::ProxyCredentialNeeded {
            profile_id,
            proxy: line(proxy),
            explanation: text(explanation),
        },
        other => other,
    }
}

/// The sign-in dialog's view with the server's words made printable (the code, the page, the
/// account single sign-on returned, explanations quoting Entra).
fn printable_view(mut view: crate::ui::bridge::SignInView) -> crate::ui::bridge::SignInView {
    use crate::ui::bridge::SignInStage;
    view.reason = view.reason.map(text);
    view.stage = match view.stage {
        SignInStage::Password { error } => SignInStage::Password {
            error: error.map(text),
        },
        SignInStage::Browser { url } => SignInStage::Browser { url: line(url) },
        SignInStage::DeviceCode {
            user_code,
            verification_uri,
            expires_at,
            state,
            mfa_explanation,
            warning,
        } => SignInStage::DeviceCode {
            user_code: line(user_code),
            verification_uri: line(verification_uri),
            expires_at,
            state,
            mfa_explanation: mfa_explanation.map(text),
            warning: warning.map(text),
        },
        SignInStage::UpnMismatch { expected, actual } => SignInStage::UpnMismatch {
            expected: line(expected),
            actual: line(actual),
        },
        SignInStage::Failed { explanation } => SignInStage::Failed {
            explanation: text(explanation),
        },
        other => other,
    };
    view
}

impl App {
    fn profiles_loaded(&mut self, list: Vec<Profile>) {
        self.profiles = list;
        if !self.profiles_loaded {
            self.profiles_loaded = true;
            if self.selected.is_none()
                && let Some(id) = self.persisted.last_selected
                && self.profile(id).is_some()
            {
                self.select_now(Some(id));
            }
        } else {
            self.follow_outside_changes();
        }
    }

    /// The list came again (another exo-connect changed the store): the editor shows its
    /// profile's new version — unless it holds unsaved edits, which stay (Save writes them over
    /// the new version; Revert goes to it).
    fn follow_outside_changes(&mut self) {
        let Some(original) = self.editor.original.clone() else {
            return;
        };
        let current = self.profile(original.id).cloned();
        if current.as_ref() == Some(&original) {
            return;
        }
        if self.editor.is_dirty() {
            let text = match &current {
                Some(_) => format!(
                    "'{}' was changed by another exo-connect; your unsaved edits are kept (Save writes them over it, Revert shows the new version)",
                    original.name
                ),
                None => format!(
                    "'{}' was deleted by another exo-connect; your unsaved edits are kept (Save keeps the profile)",
                    original.name
                ),
            };
            self.editor.original = current;
            self.notice(NoticeLevel::Warning, text);
            return;
        }
        match current {
            Some(p) => self.editor = EditorState::for_profile(Some(p)),
            None => {
                if self.selected == Some(original.id) {
                    self.selected = None;
                }
                self.editor = EditorState::default();
                self.notice(
                    NoticeLevel::Info,
                    format!("'{}' was deleted by another exo-connect", original.name),
                );
            }
        }
    }

    fn profile_saved(&mut self, p: Profile) {
        match self.profiles.iter_mut().find(|x| x.id == p.id) {
            Some(slot) => *slot = p.clone(),
            None => self.profiles.push(p.clone()),
        }
        self.editor.saved(&p);
        self.notice(NoticeLevel::Info, format!("Saved profile {}", p.name));
    }

    /// The service asked before acting on `line` in `conn`: its question in the dialog (the
    /// stronger one when the profile is tagged prod).
    fn confirmation_asked(&mut self, conn: ConnId, line: String, question: String) {
        let session = self.sessions.iter().find(|s| s.conn == conn);
        let prod = session
            .and_then(|s| self.profile(s.profile_id))
            .is_some_and(|p| crate::ui::output::is_prod(&p.tags));
        self.service_confirm
            .ask(conn, line, question, session, prod);
    }

    /// The user answered the service's question: yes runs the line again (the driver adds
    /// `Confirm: false`), no says nothing was changed.
    pub(super) fn confirmation_answered(&mut self, answer: crate::ui::confirm::Answer) {
        use crate::ui::confirm::Answer;
        match answer {
            Answer::Yes { conn, line } => self.output_mut(conn).begin(line),
            Answer::No { conn, cmdlet } => {
                let text = format!("{cmdlet} was not run: not confirmed, nothing was changed");
                self.output_mut(conn).warnings.push(text.clone());
                self.notice(NoticeLevel::Info, text);
            }
        }
    }

    fn sessions_changed(&mut self, list: Vec<SessionView>) {
        let up = |s: &SessionView| {
            matches!(
                s.state,
                crate::model::SessionState::Connected | crate::model::SessionState::Expiring
            )
        };
        // The session the user just connected is up: show its output (not over unsaved edits).
        let new_up = self.show_on_connect.and_then(|pid| {
            let was_up = |c| self.sessions.iter().any(|o| o.conn == c && up(o));
            list.iter()
                .find(|s| s.profile_id == pid && up(s) && !was_up(s.conn))
                .map(|s| s.conn)
        });
        let before = std::mem::replace(&mut self.sessions, list);
        if let Some(conn) = new_up {
            self.show_on_connect = None;
            if !self.editor.is_dirty() && self.guard.is_none() {
                self.go(crate::ui::nav::Go::Output(conn));
            }
        }
        if let Centre::Output(conn) = self.centre
            && !self.sessions.iter().any(|s| s.conn == conn && is_open(s))
        {
            self.shown_session_closed(conn, &before);
        }
        self.outputs
            .retain(|c, _| self.sessions.iter().any(|s| s.conn == *c));
        self.seed_outputs();
        if let Some(limit) = &mut self.limit {
            limit
                .sessions
                .retain(|s| self.sessions.iter().any(|x| x.conn == s.conn));
        }
    }

    /// The session the centre showed (`conn`) closed: the centre moves to the open session
    /// that followed it in the list (else the one before it), its profile selected in the tree;
    /// with none left (or unsaved edits in the editor), to the profile's editor.
    fn shown_session_closed(&mut self, conn: ConnId, before: &[SessionView]) {
        let at = before.iter().position(|s| s.conn == conn).unwrap_or(0);
        let still_open =
            |s: &&SessionView| self.sessions.iter().any(|n| n.conn == s.conn && is_open(n));
        let next = before[at.min(before.len())..]
            .iter()
            .chain(before[..at.min(before.len())].iter().rev())
            .find(still_open)
            .map(|s| s.conn);
        match next {
            Some(next) if !self.editor.is_dirty() => self.go(crate::ui::nav::Go::Output(next)),
            _ => self.centre = Centre::Editor,
        }
    }

    /// A file dialog answered: go on with the path, say it was cancelled, or (no dialog could
    /// show) ask for the path in the window.
    pub(super) fn file_answer(
        &mut self,
        req: DialogRequest,
        answer: Result<Option<PathBuf>, String>,
    ) {
        match answer {
            Ok(Some(path)) => self.dialog_answered(req.purpose, path),
            Ok(None) => {
                let what = match req.purpose {
                    DialogPurpose::ImportProfiles => "Import",
                    DialogPurpose::BulkCsv => "Run for each row",
                    _ => "Export",
                };
                self.notice(
                    NoticeLevel::Info,
                    format!("{what} cancelled: no file was chosen"),
                );
            }
            Err(why) => {
                self.notice(
                    NoticeLevel::Info,
                    format!("No file dialog ({why}): type the path in the window"),
                );
                self.path_prompt = Some(PathPrompt::new(req, why));
            }
        }
    }

    fn dialog_answered(&mut self, purpose: DialogPurpose, path: PathBuf) {
        match purpose {
            DialogPurpose::ImportProfiles => self.send(UiCommand::ImportProfiles { path }),
            DialogPurpose::ExportProfiles => self.send(UiCommand::ExportProfiles {
                path,
                ids: Vec::new(),
            }),
            DialogPurpose::BulkCsv => self.bulk_csv_chosen(path),
            DialogPurpose::ExportBulkCsv | DialogPurpose::ExportBulkJson => {
                let csv = purpose == DialogPurpose::ExportBulkCsv;
                if let Some(job) = self.bulk.export_job() {
                    self.export_results(job, csv, path);
                }
            }
            DialogPurpose::ExportCsv | DialogPurpose::ExportJson => {
                let csv = purpose == DialogPurpose::ExportCsv;
                let job = match self.centre {
                    Centre::Output(conn) => self.outputs.get_mut(&conn).map(|o| o.export_job()),
                    Centre::Fanout => self.fanout.export_job(),
                    Centre::Editor => None,
                };
                if let Some(job) = job {
                    self.export_results(job, csv, path);
                }
            }
        }
    }

    /// Write the shown results (`job`: a snapshot of the store) to `path` on a thread with
    /// the store's writers; a notice says how it went.
    fn export_results(&mut self, job: crate::ui::output::ExportJob, csv: bool, path: PathBuf) {
        let tx = self.bg_tx.clone();
        // File I/O off the UI thread.
        std::thread::spawn(move || {
            let n = job.len();
            let written = job.write(csv, &path);
            drop(job); // the snapshot: pages that arrived meanwhile can go in now
            let _ = tx.send(match written {
                Ok(()) => Background::Notice(
                    NoticeLevel::Info,
                    format!("Exported {n} rows to {}", path.display()),
                ),
                Err(e) => Background::Notice(NoticeLevel::Error, format!("Export failed: {e}")),
            });
        });
    }
}
