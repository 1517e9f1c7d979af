//! An output pane's view as the workspace keeps it between runs (`model::workspace`): the
//! cmdlet line, the filter and the columns of the last result's cmdlet — never the rows.

use crate::model::views;
use crate::model::workspace::OutputView;

use super::OutputState;

impl OutputState {
    /// The view to keep (the line as typed; the workspace drops it when it is not safe).
    pub fn saved_view(&self) -> OutputView {
        let (cmdlet, columns, hidden) = self.results.columns.view().unwrap_or_default();
        OutputView {
            line: self.line.clone(),
            cmdlet,
            columns,
            hidden,
            filter: self.filter.clone(),
        }
    }

    /// Bring a kept view back: the line and filter now, the columns with the cmdlet's next
    /// result.
    pub fn restore_view(&mut self, v: &OutputView) {
        self.line = v.line.clone();
        self.filter = v.filter.clone();
        if !v.cmdlet.is_empty() {
            let cmdlet = views::cmdlet_of(&v.cmdlet);
            self.results
                .columns
                .remember(&cmdlet, v.columns.clone(), &v.hidden);
        }
    }
}
