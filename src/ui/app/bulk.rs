//! The app's side of "Run for each row…" (`ui/bulk.rs`): opening it on a selection or on a CSV
//! file (the file dialog, or the window's path field when none can show; the driver reads the
//! file), and drawing its dialog over the session it runs in.

use std::path::PathBuf;

use crate::ui::action::BulkRequest;
use crate::ui::bridge::UiCommand;
use crate::ui::dialogs::{DialogPurpose, DialogRequest};

use super::App;

impl App {
    /// A pane asked for "Run for each row…".
    pub(super) fn bulk_asked(&mut self, req: BulkRequest) {
        match req {
            BulkRequest::Rows {
                conn,
                source,
                table,
            } => self.bulk.start(conn, source, Some(table)),
            BulkRequest::Csv { conn } => {
                self.bulk_csv_for = Some(conn);
                self.ask_file(DialogRequest {
                    purpose: DialogPurpose::BulkCsv,
                    title: "Rows for each run (CSV, first line: the column names)".into(),
                    default_name: String::new(),
                    filter: ("CSV".into(), vec!["csv".into()]),
                    save: false,
                });
            }
        }
    }

    /// The CSV file was chosen: the dialog opens while the driver reads it.
    pub(super) fn bulk_csv_chosen(&mut self, path: PathBuf) {
        let Some(conn) = self.bulk_csv_for.take() else {
            return;
        };
        self.bulk.start(conn, path.display().to_string(), None);
        self.send(UiCommand::LoadBulkCsv { conn, path });
    }

    /// The dialog, over the session it runs in (`prod`: its profile is tagged so).
    pub(super) fn bulk_dialog(&mut self, ctx: &egui::Context) {
        let Some(conn) = self.bulk.open.as_ref().map(|b| b.conn) else {
            return;
        };
        let session = self.sessions.iter().find(|s| s.conn == conn);
        let prod = session
            .and_then(|s| self.profiles.iter().find(|p| p.id == s.profile_id))
            .is_some_and(|p| crate::ui::output::is_prod(&p.tags));
        self.bulk.ui(ctx, session, prod, &mut self.actions);
    }
}

impl App {
    /// The text of the window's path field, while it shows (tests, automation).
    pub fn set_path_prompt(&mut self, path: &str) {
        if let Some(p) = &mut self.path_prompt {
            p.path = path.to_string();
        }
    }
}
