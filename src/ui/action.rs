//! What a pane asks the app to do. Panes draw from the state they own plus what they are given,
//! and push [`Action`]s; the app dispatches them (`App::dispatch`) right after the pane drew.

use super::bridge::UiCommand;
use super::dialogs::DialogRequest;
use super::nav::Go;

/// One request of a pane to the app.
#[derive(Debug)]
pub enum Action {
    /// Send a command to the driver.
    Send(UiCommand),
    /// Navigate (through the unsaved-changes guard).
    Go(Go),
    /// Save the editor's draft (the Save button, Ctrl+S, the guard's "Save changes").
    SaveProfile,
    /// The editor now holds an unsaved copy: nothing is selected in the tree.
    ClearSelection,
    /// Ask a file dialog; the answer comes back to the app by its purpose.
    AskFile(DialogRequest),
    /// Open the Ctrl+K quick-connect palette.
    OpenPalette,
    /// The unsaved-changes guard was answered.
    Guard(GuardChoice),
    /// Ask for the cmdlet line of a fan-out over these profiles (the fan-out's start dialog).
    AskFanout(StartRequest),
    /// Open "Run for each row…" (its dialog in `ui/bulk.rs`).
    Bulk(BulkRequest),
}

/// What "Run for each row…" runs over.
#[derive(Debug, Clone, PartialEq)]
pub enum BulkRequest {
    /// These rows (the result grid's selection), described in words.
    Rows {
        conn: super::bridge::ConnId,
        source: String,
        table: crate::model::bulk::BulkTable,
    },
    /// A CSV file the user picks next.
    Csv { conn: super::bridge::ConnId },
}

/// A fan-out the tree asked for: the profiles and, in words, which ones.
#[derive(Debug, Clone, PartialEq)]
pub struct StartRequest {
    pub ids: Vec<uuid::Uuid>,
    /// "folder Customers", "3 selected profiles", "the search results for 'cust'"…
    pub what: String,
}

/// The answer of the unsaved-changes guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuardChoice {
    Save,
    Discard,
    KeepEditing,
}

/// The actions a pane pushed during one frame, in order.
#[derive(Debug, Default)]
pub struct Actions(Vec<Action>);

impl Actions {
    pub fn push(&mut self, a: Action) {
        self.0.push(a);
    }
    /// Shorthand for `push(Action::Send(cmd))`.
    pub fn send(&mut self, cmd: UiCommand) {
        self.0.push(Action::Send(cmd));
    }
    /// Shorthand for `push(Action::Go(to))`.
    pub fn go(&mut self, to: Go) {
        self.0.push(Action::Go(to));
    }
    /// Everything pushed so far, leaving the list empty.
    pub fn take(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.0)
    }
}
