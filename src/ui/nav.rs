//! Navigation: what the centre of the window shows and where a click asks to go. Plain data,
//! apart from [`App`](super::App), so the panes can ask to go somewhere without knowing the app.

use uuid::Uuid;

use super::bridge::ConnId;

/// What the centre shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Centre {
    Editor,
    Output(ConnId),
    /// The fan-out panel and its merged grid.
    Fanout,
}

/// Where a click asks to go. Leaving an editor with unsaved changes waits for the
/// unsaved-changes guard first.
#[derive(Debug, Clone, PartialEq)]
pub enum Go {
    /// Select a profile in the tree (None = nothing) and show it in the editor.
    Select(Option<Uuid>),
    /// A new, empty profile in the editor.
    New,
    /// The output pane of a session.
    Output(ConnId),
    /// The fan-out panel.
    Fanout,
    /// Back to the editor as it was (closes the output pane; never asks the guard).
    Editor,
}
