//! The grid's columns: which of the result's columns are shown (all but the hidden ones, in
//! first-seen order), how wide each is, and where each starts. All of it is worked out when it
//! changes — a page arrives, a column is hidden or shown, a width is dragged — never per frame:
//! a frame finds the columns in view by a binary search over the cached left edges.
//!
//! A column's width comes from its name and a sample of its cells (the first [`SAMPLE`] rows
//! that have it, looked at as pages arrive), unless the user dragged it: dragged widths are kept
//! by column name, so they survive hiding, showing and the next run.
//!
//! Which columns show is a view: every column but the hidden ones, or a picked list (the
//! cmdlet's default view, `model::views`, or what the user chose). Views are remembered per
//! cmdlet: the next Get-Mailbox shows the columns the last one showed.

use std::collections::{HashMap, HashSet};

use crate::model::results::{Cell, ResultStore};
use crate::model::views;

/// Cells of a column looked at for its width.
pub const SAMPLE: u32 = 200;
/// Pixels per character of a sampled width.
const CHAR_W: f32 = 6.8;
pub const MIN_W: f32 = 40.0;
const MAX_W: f32 = 380.0;

/// Which columns a view shows: a pick, or all but the hidden ones.
type View = (Option<Vec<String>>, HashSet<String>);

#[derive(Debug, Default)]
pub struct Columns {
    /// Per column of the store: width, and how many cells were sampled for it.
    width: Vec<f32>,
    sampled: Vec<u32>,
    /// Rows of the store looked at so far.
    rows_seen: usize,
    /// Widths the user dragged, by column name.
    dragged: HashMap<String, f32>,
    hidden: HashSet<String>,
    /// Some: only these columns, in this order (a default view or the user's pick).
    pick: Option<Vec<String>>,
    /// The cmdlet of the result and whether its default view waits for the columns.
    cmdlet: String,
    default_due: bool,
    /// The view of each cmdlet used before: (pick, hidden).
    views: HashMap<String, View>,
    /// The shown columns (store column ids) and their left edges (one more: the right end).
    shown: Vec<usize>,
    left: Vec<f32>,
    stale: bool,
}

impl Columns {
    /// A new result: its columns come with its rows. Hidden and dragged columns are kept.
    pub fn reset(&mut self) {
        self.width.clear();
        self.sampled.clear();
        self.rows_seen = 0;
        self.shown.clear();
        self.left = vec![0.0];
        self.stale = false;
    }

    /// Rows `rows_seen..store.len()` arrived: new columns get a width, and columns with fewer
    /// than [`SAMPLE`] cells sampled look at the new rows.
    pub fn rows_added(&mut self, store: &ResultStore) {
        for c in self.width.len()..store.column_count() {
            let name = store.column_name(c);
            let w = self
                .dragged
                .get(name)
                .copied()
                .unwrap_or_else(|| text_width(name.chars().count() + 7));
            self.width.push(w);
            self.sampled.push(0);
            self.stale = true;
        }
        let mut text = String::new();
        for c in 0..store.column_count() {
            if self.sampled[c] >= SAMPLE || self.dragged.contains_key(store.column_name(c)) {
                continue;
            }
            let mut widest = 0usize;
            for r in self.rows_seen..store.len() {
                if matches!(store.cell(r, c), Cell::Absent) {
                    continue;
                }
                text.clear();
                store.cell_text(r, c, &mut text);
                widest = widest.max(text.chars().count());
                self.sampled[c] += 1;
                if self.sampled[c] >= SAMPLE {
                    break;
                }
            }
            let w = text_width(widest);
            if w > self.width[c] {
                self.width[c] = w;
                self.stale = true;
            }
        }
        self.rows_seen = store.len();
    }

    /// The result of `line` starts arriving: remember the view of the last cmdlet and take
    /// the one of this cmdlet (its default view when it has not run before).
    pub fn start(&mut self, line: &str) {
        let cmdlet = views::cmdlet_of(line);
        if !self.cmdlet.is_empty() && !self.default_due {
            let view = (self.pick.clone(), self.hidden.clone());
            self.views.insert(self.cmdlet.clone(), view);
        }
        match self.views.get(&cmdlet) {
            Some((pick, hidden)) => {
                self.pick = pick.clone();
                self.hidden = hidden.clone();
                self.default_due = false;
            }
            None => {
                self.pick = None;
                self.hidden.clear();
                self.default_due = true;
            }
        }
        self.cmdlet = cmdlet;
        self.stale = true;
    }

    /// The view now: (cmdlet, pick, hidden), or None while the cmdlet's default view applies.
    pub fn view(&self) -> Option<(String, Option<Vec<String>>, Vec<String>)> {
        if self.cmdlet.is_empty() || self.default_due {
            return None;
        }
        let mut hidden: Vec<String> = self.hidden.iter().cloned().collect();
        hidden.sort();
        Some((self.cmdlet.clone(), self.pick.clone(), hidden))
    }

    /// Remember a view of `cmdlet` (a restored one): its next result shows it.
    pub fn remember(&mut self, cmdlet: &str, pick: Option<Vec<String>>, hidden: &[String]) {
        let hidden = hidden.iter().cloned().collect();
        self.views.insert(cmdlet.to_string(), (pick, hidden));
    }

    pub fn is_hidden(&self, name: &str) -> bool {
        match &self.pick {
            Some(pick) => !pick.iter().any(|p| p == name),
            None => self.hidden.contains(name),
        }
    }

    /// Hides (or shows again) the column of that name.
    pub fn set_hidden(&mut self, name: &str, hidden: bool) {
        self.default_due = false;
        let changed = match &mut self.pick {
            Some(pick) => {
                let at = pick.iter().position(|p| p == name);
                match (at, hidden) {
                    (Some(i), true) => {
                        pick.remove(i);
                        true
                    }
                    (None, false) => {
                        pick.push(name.to_string());
                        true
                    }
                    _ => false,
                }
            }
            None if hidden => self.hidden.insert(name.to_string()),
            None => self.hidden.remove(name),
        };
        self.stale |= changed;
    }

    /// Every column of the result.
    pub fn show_all(&mut self) {
        self.pick = None;
        self.hidden.clear();
        self.default_due = false;
        self.stale = true;
    }

    /// No column (the user picks the ones to show next).
    pub fn show_none(&mut self) {
        self.pick = Some(Vec::new());
        self.default_due = false;
        self.stale = true;
    }

    /// The cmdlet's default view (`model::views`) of `store`.
    pub fn show_default(&mut self, store: &ResultStore) {
        let names: Vec<&str> = store.columns().collect();
        self.pick = views::default_view(&self.cmdlet, &names);
        self.hidden.clear();
        self.default_due = false;
        self.stale = true;
    }

    /// Whether every column of a result with `count` columns shows.
    pub fn shows_all(&self, count: usize) -> bool {
        self.shown.len() == count
    }

    /// The user dragged column `col` (named `name`) to `width`.
    pub fn set_width(&mut self, col: usize, name: &str, width: f32) {
        let w = width.max(MIN_W);
        if let Some(slot) = self.width.get_mut(col)
            && *slot != w
        {
            *slot = w;
            self.dragged.insert(name.to_string(), w);
            self.stale = true;
        }
    }

    pub fn width(&self, col: usize) -> f32 {
        self.width.get(col).copied().unwrap_or(MIN_W)
    }

    /// Brings the shown columns and their edges up to date (after a change only).
    pub fn refresh(&mut self, store: &ResultStore) {
        if !self.stale && self.left.len() == self.shown.len() + 1 {
            return;
        }
        if self.default_due && store.column_count() > 0 {
            self.show_default(store);
        }
        self.shown = match &self.pick {
            Some(pick) => pick
                .iter()
                .filter_map(|name| store.column_index(name))
                .filter(|&c| c < self.width.len())
                .collect(),
            None => (0..self.width.len())
                .filter(|&c| !self.hidden.contains(store.column_name(c)))
                .collect(),
        };
        self.left.clear();
        let mut x = 0.0;
        self.left.push(x);
        for &c in &self.shown {
            x += self.width[c];
            self.left.push(x);
        }
        self.stale = false;
    }

    /// The shown columns (store column ids), left to right.
    pub fn shown(&self) -> &[usize] {
        &self.shown
    }

    /// Left edge of shown column `i` (`i == shown().len()`: the right end of the last).
    pub fn left(&self, i: usize) -> f32 {
        self.left[i]
    }

    pub fn total_width(&self) -> f32 {
        self.left.last().copied().unwrap_or(0.0)
    }

    /// The shown columns (positions in [`Columns::shown`]) that meet `x_min..x_max`.
    pub fn in_view(&self, x_min: f32, x_max: f32) -> std::ops::Range<usize> {
        let n = self.shown.len();
        // The first column whose right edge is past x_min, up to the first starting at x_max.
        let first = self.left[1..]
            .partition_point(|&right| right <= x_min)
            .min(n);
        let end = self.left[..n].partition_point(|&left| left < x_max);
        first..end.max(first)
    }
}

fn text_width(chars: usize) -> f32 {
    (chars as f32 * CHAR_W + 12.0).clamp(60.0, MAX_W)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn store(rows: &[serde_json::Value]) -> ResultStore {
        let mut s = ResultStore::new();
        for r in rows {
            s.push_value(r);
        }
        s
    }

    #[test]
    fn widths_come_from_names_and_sampled_cells_as_pages_arrive() {
        let mut s = store(&[json!({"Id": 1, "Name": "x"})]);
        let mut c = Columns::default();
        c.reset();
        c.rows_added(&s);
        c.refresh(&s);
        assert_eq!(c.shown(), &[0, 1]);
        let name_w = c.width(1);
        assert_eq!(name_w, text_width("Name".len() + 7));
        // A later page: a long name widens the column; a new column appears.
        s.push_value(&json!({"Name": "y".repeat(30), "Mail": "a@b"}));
        c.rows_added(&s);
        c.refresh(&s);
        assert!(c.width(1) > name_w);
        assert_eq!(c.shown(), &[0, 1, 2]);
        assert_eq!(c.total_width(), c.width(0) + c.width(1) + c.width(2));
        // Past the sample, cells are no longer looked at.
        let mut big = ResultStore::new();
        for i in 0..SAMPLE as usize {
            big.push_value(&json!({"N": i}));
        }
        let mut c = Columns::default();
        c.reset();
        c.rows_added(&big);
        let w = c.width(0);
        big.push_value(&json!({"N": "z".repeat(40)}));
        c.rows_added(&big);
        assert_eq!(c.width(0), w, "sampled enough");
    }

    #[test]
    fn hidden_and_dragged_columns_stay_across_runs() {
        let s = store(&[json!({"A": 1, "B": 2, "C": 3})]);
        let mut c = Columns::default();
        c.reset();
        c.rows_added(&s);
        c.set_hidden("B", true);
        c.set_width(2, "C", 222.0);
        c.refresh(&s);
        assert_eq!(c.shown(), &[0, 2]);
        assert_eq!(c.left(1), c.width(0));
        assert_eq!(c.total_width(), c.width(0) + 222.0);
        // The next run: another store, the same names.
        let s = store(&[json!({"C": 1, "B": 2})]);
        c.reset();
        c.rows_added(&s);
        c.refresh(&s);
        assert_eq!(c.shown(), &[0]);
        assert_eq!(c.width(0), 222.0);
        c.set_hidden("B", false);
        c.refresh(&s);
        assert_eq!(c.shown(), &[0, 1]);
        c.set_width(0, "C", 1.0);
        assert_eq!(c.width(0), MIN_W);
    }

    #[test]
    fn the_columns_in_view_are_found_by_their_edges() {
        let s = store(&[json!({"A": 1, "B": 2, "C": 3, "D": 4})]);
        let mut c = Columns::default();
        c.reset();
        c.rows_added(&s);
        for (i, name) in ["A", "B", "C", "D"].iter().enumerate() {
            c.set_width(i, name, 100.0);
        }
        c.refresh(&s);
        assert_eq!(c.in_view(0.0, 100.0), 0..1);
        assert_eq!(c.in_view(0.0, 100.5), 0..2);
        assert_eq!(c.in_view(150.0, 260.0), 1..3);
        assert_eq!(c.in_view(300.0, 1000.0), 3..4);
        assert_eq!(c.in_view(400.0, 1000.0), 4..4);
        c.set_hidden("A", true);
        c.refresh(&s);
        assert_eq!(c.shown(), &[1, 2, 3]);
        assert_eq!(c.in_view(0.0, 1000.0), 0..3);
    }
}
