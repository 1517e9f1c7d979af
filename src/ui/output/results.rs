//! The result an output pane holds: one compact [`ResultStore`] that each page is appended to,
//! shared (an `Arc`) with the workers that sort, filter and export it; the grid's columns; and
//! which rows are shown ([`RowsView`]).
//!
//! A page arrives on the UI thread (applied from the driver's event). While a worker holds the
//! store (a sort, a filter or an export reading a snapshot) the page waits in `pending` and goes
//! in as soon as the pane is the store's only holder again; every frame looks. A new run or
//! "Close output" drops the store (the workers let go of their snapshot when they finish or
//! notice they were cancelled).

use std::path::Path;
use std::sync::Arc;

use crate::model::results::{ResultStore, write};

use super::columns::Columns;
use super::view::{RowsView, Spec};

/// What an export writes: a snapshot of the store, the rows shown in order (None: every row)
/// and the shown columns.
pub struct ExportJob {
    pub store: Arc<ResultStore>,
    pub rows: Option<Arc<Vec<u32>>>,
    pub columns: Vec<usize>,
    /// CSV starts with a UTF-8 byte order mark (Excel then reads non-ASCII names right).
    pub bom: bool,
}

impl ExportJob {
    /// How many rows it writes.
    pub fn len(&self) -> usize {
        self.rows.as_ref().map_or(self.store.len(), |r| r.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The store rows to write, in order.
    pub fn row_iter(&self) -> Box<dyn Iterator<Item = usize> + '_> {
        match &self.rows {
            Some(r) => Box::new(r.iter().map(|&r| r as usize)),
            None => Box::new(0..self.store.len()),
        }
    }

    /// Writes the rows to `path` as CSV (the shown columns) or JSON (every property), with the
    /// store's writers. File I/O: call it on a worker thread, never in a frame.
    pub fn write(&self, csv: bool, path: &Path) -> Result<(), String> {
        let fail = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
        let file = std::fs::File::create(path).map_err(fail)?;
        let mut out = std::io::BufWriter::with_capacity(1 << 16, file);
        if csv && self.bom {
            std::io::Write::write_all(&mut out, "\u{feff}".as_bytes()).map_err(fail)?;
        }
        let out = if csv {
            write::write_csv(&self.store, self.row_iter(), &self.columns, out)
        } else {
            write::write_json(&self.store, self.row_iter(), out)
        }
        .map_err(fail)?;
        out.into_inner().map_err(|e| fail(e.into_error()))?;
        Ok(())
    }
}

/// A store of at least this many bytes is let go of on a thread of its own (see [`release`]).
const RELEASE_OFF_THREAD: usize = 8 << 20;

/// Lets go of a store. A big one goes to a thread of its own, which waits for the workers still
/// reading it (they were cancelled and let go within moments; it stops waiting after 30 s),
/// drops it and hands the freed pages back to the system: glibc keeps freed memory in its
/// arenas (the pages were parsed on the engine's threads, each with its own arena), so without
/// `malloc_trim` the window's resident memory stayed at its peak after "Close output".
fn release(store: Arc<ResultStore>, off_thread_from: usize) {
    if store.memory_bytes() < off_thread_from {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("release rows".into())
        .spawn(move || {
            let mut store = store;
            for _ in 0..600 {
                match Arc::try_unwrap(store) {
                    Ok(rows) => {
                        drop(rows);
                        trim_heap();
                        return;
                    }
                    Err(shared) => store = shared,
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        });
    // Could not start a thread: the store was dropped with the closure (if the last holder).
    drop(spawned);
}

/// Gives the allocator's free pages back to the system (glibc: `malloc_trim(0)`, every arena).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim_heap() {
    unsafe extern "C" {
        fn malloc_trim(pad: usize) -> std::ffi::c_int;
    }
    // SAFETY: malloc_trim takes a size by value and only returns free heap pages to the kernel.
    unsafe {
        malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim_heap() {}

#[derive(Default)]
pub struct Results {
    store: Arc<ResultStore>,
    /// Pages that arrived while a worker held the store.
    pending: Vec<ResultStore>,
    /// The run ended: give spare capacity back once the pending pages are in.
    finished: bool,
    pub(super) columns: Columns,
    pub(super) view: RowsView,
}

impl Results {
    /// Forget the rows (a new run, or the output closed): the store goes when no worker holds
    /// it any more.
    pub fn clear(&mut self) {
        release(std::mem::take(&mut self.store), RELEASE_OFF_THREAD);
        self.pending.clear();
        self.finished = false;
        self.columns.reset();
        self.view.reset();
    }

    /// One page of rows.
    pub fn add_page(&mut self, page: ResultStore) {
        if page.is_empty() && page.column_count() == 0 {
            return;
        }
        self.pending.push(page);
        self.flush();
    }

    /// The run ended.
    pub fn finish(&mut self) {
        self.finished = true;
        self.flush();
    }

    /// Appends the pending pages when no worker holds the store; true when rows went in.
    pub fn flush(&mut self) -> bool {
        if self.pending.is_empty() && !self.finished {
            return false;
        }
        let Some(store) = Arc::get_mut(&mut self.store) else {
            return false;
        };
        let added = !self.pending.is_empty();
        for page in self.pending.drain(..) {
            store.take_page(page);
        }
        if std::mem::take(&mut self.finished) {
            store.shrink_to_fit();
        }
        if added {
            self.columns.rows_added(store);
        }
        added
    }

    /// The rows held (pages still waiting to go in are not counted).
    pub fn store(&self) -> &ResultStore {
        &self.store
    }

    pub(super) fn shared(&self) -> &Arc<ResultStore> {
        &self.store
    }

    /// Rows received, counting pages that wait to go in.
    pub fn received(&self) -> usize {
        self.store.len() + self.pending.iter().map(ResultStore::len).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.received() == 0
    }

    /// Rows shown (filtered).
    pub fn shown_len(&self) -> usize {
        self.view.len(self.store.len())
    }

    /// The store row shown at position `i`.
    pub fn shown_row(&self, i: usize) -> usize {
        self.view.row(i)
    }

    pub fn spec(&self) -> &Spec {
        self.view.spec()
    }

    /// A snapshot of what is shown, for an export on another thread.
    pub fn export_job(&mut self) -> ExportJob {
        self.columns.refresh(&self.store);
        ExportJob {
            store: self.store.clone(),
            rows: self.view.order(),
            columns: self.columns.shown().to_vec(),
            bom: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn page(from: usize, n: usize) -> ResultStore {
        let mut s = ResultStore::new();
        for i in from..from + n {
            s.push_value(&json!({ "N": i, "Name": format!("n{i}") }));
        }
        s
    }

    #[test]
    fn pages_wait_while_a_worker_holds_the_store() {
        let mut r = Results::default();
        r.add_page(page(0, 10));
        assert_eq!(r.store().len(), 10);
        let snapshot = r.shared().clone();
        r.add_page(page(10, 5));
        assert_eq!(r.store().len(), 10, "the worker's snapshot is not changed");
        assert_eq!(r.received(), 15);
        assert!(!r.flush());
        drop(snapshot);
        assert!(r.flush());
        assert_eq!(r.store().len(), 15);
        assert_eq!(r.store().cell_string(14, 0), "14");
        assert!(r.columns.width(1) >= 60.0, "the new rows were sampled");
        r.finish();
        assert_eq!(r.received(), 15);
    }

    #[test]
    fn clearing_drops_the_rows_and_a_new_run_starts_empty() {
        let mut r = Results::default();
        r.add_page(page(0, 3));
        let snapshot = r.shared().clone();
        r.clear();
        assert!(r.is_empty());
        assert_eq!(
            Arc::strong_count(&snapshot),
            1,
            "only the worker holds the old rows"
        );
        r.add_page(page(100, 2));
        assert_eq!(r.store().len(), 2);
        assert_eq!(r.store().cell_string(0, 0), "100");
    }

    #[test]
    fn a_big_store_is_dropped_off_the_ui_thread_once_the_workers_let_go() {
        let store = Arc::new(page(0, 50));
        let gone = Arc::downgrade(&store);
        let worker = store.clone();
        release(store, 0);
        std::thread::sleep(std::time::Duration::from_millis(150));
        assert!(gone.upgrade().is_some(), "a worker still reads it");
        drop(worker);
        let t0 = std::time::Instant::now();
        while gone.upgrade().is_some() {
            assert!(t0.elapsed().as_secs() < 10, "the store was never dropped");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        trim_heap(); // and trimming twice is harmless
    }

    #[test]
    fn an_export_snapshot_writes_what_is_shown() {
        let mut r = Results::default();
        r.add_page(page(0, 4));
        r.columns.set_hidden("Name", true);
        let job = r.export_job();
        assert_eq!(job.len(), 4);
        assert_eq!(job.columns, vec![0]);
        assert_eq!(job.row_iter().collect::<Vec<_>>(), vec![0, 1, 2, 3]);
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("out.csv");
        job.write(true, &csv).unwrap();
        assert_eq!(std::fs::read_to_string(&csv).unwrap(), "N\n0\n1\n2\n3\n");
        let json = dir.path().join("out.json");
        job.write(false, &json).unwrap();
        let back: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(
            back[3],
            json!({"N": 3, "Name": "n3"}),
            "JSON has every property"
        );
        let err = job
            .write(true, &dir.path().join("no/such/dir/x.csv"))
            .unwrap_err();
        assert!(err.starts_with("cannot write "), "{err}");
    }
}
