//! Which rows an output's grid shows, in what order, and the worker that works it out: the
//! filter and sort of the result run off the UI thread, on a snapshot of the store (an `Arc`),
//! with `model::results::view`; the answer is an index permutation over the store.
//!
//! - The window asks for a [`Spec`] (filter text, sort column and direction). No filter and no
//!   sort is every row in arrival order: no permutation and no worker at all.
//! - Otherwise a job starts on its own thread with the store's `Arc`; until it answers the grid
//!   keeps showing the previous order, and the toolbar says "sorting…" / "filtering…". The job
//!   wakes the window when it is done (the window does not repaint while it waits).
//! - A newer spec cancels the running job (its `AtomicBool`) and starts at once; jobs take
//!   turns on the caches (a mutex only workers lock), so the newer one starts on them as soon
//!   as the older one has noticed.
//! - Rows that arrive while a permutation is shown are not in it: the shown order covers the
//!   rows it was computed over (new rows wait, unseen, for the next answer), and a job for the
//!   same spec over all rows runs once the previous one has finished and after a pause as long
//!   as that job took (so re-sorting a streaming result takes at most half a core).
//! - Caches: the sort keys of each column (`SortCache`), the rows a filter kept and the whole
//!   store sorted by the current column, each for a row count; changing the filter reuses the
//!   sorted order and changing the sort reuses the filtered rows.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use crate::model::results::ResultStore;
use crate::model::results::view::{self, Filter, SortCache};

/// What the user asked to see.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spec {
    /// The filter as typed (see `view::Filter::parse`: text in any cell, or `Column:value`).
    pub filter: String,
    /// Sort by this column (its name), ascending when true.
    pub sort: Option<(String, bool)>,
}

impl Spec {
    /// Every row, in arrival order.
    pub fn is_all(&self) -> bool {
        self.filter.trim().is_empty() && self.sort.is_none()
    }

    /// What a job for this spec does, for the toolbar.
    fn doing(&self) -> &'static str {
        if self.sort.is_some() {
            "sorting…"
        } else {
            "filtering…"
        }
    }
}

/// The rows shown.
#[derive(Debug, Clone)]
enum Shown {
    /// Every row of the store, in arrival order.
    All,
    /// `order` (store rows) was computed for `spec` over the first `rows` rows of the store.
    Order {
        spec: Spec,
        rows: usize,
        order: Arc<Vec<u32>>,
    },
}

/// A sort: (column, ascending).
type SortBy = (usize, bool);

/// What the workers keep between jobs (for the store of one result).
#[derive(Debug, Default)]
struct Caches {
    keys: SortCache,
    /// (filter as typed, store rows, the rows it keeps).
    filtered: Option<(String, usize, Arc<Vec<u32>>)>,
    /// ((column, ascending), store rows, every row in that order).
    sorted: Option<(SortBy, usize, Arc<Vec<u32>>)>,
}

/// A job's answer.
struct Answer {
    spec: Spec,
    rows: usize,
    /// None: cancelled.
    order: Option<Arc<Vec<u32>>>,
    took: Duration,
}

/// The running job.
struct Job {
    spec: Spec,
    cancel: Arc<AtomicBool>,
    answer: mpsc::Receiver<Answer>,
}

/// The rows an output shows and its worker (see the module documentation).
pub struct RowsView {
    want: Spec,
    shown: Shown,
    job: Option<Job>,
    caches: Arc<Mutex<Caches>>,
    /// How long the last job took and when its answer came.
    last: Option<(Duration, Instant)>,
}

impl Default for RowsView {
    fn default() -> Self {
        RowsView {
            want: Spec::default(),
            shown: Shown::All,
            job: None,
            caches: Arc::default(),
            last: None,
        }
    }
}

impl Drop for RowsView {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl RowsView {
    /// A new result (the old store is gone): keep the spec, forget orders and caches.
    pub fn reset(&mut self) {
        self.cancel();
        self.shown = Shown::All;
        self.caches = Arc::default();
        self.last = None;
    }

    /// What the user asked to see now.
    pub fn want(&mut self, spec: Spec) {
        if spec == self.want {
            return;
        }
        if self.job.as_ref().is_some_and(|j| j.spec != spec) {
            self.cancel();
        }
        if spec.is_all() {
            self.shown = Shown::All;
        }
        self.want = spec;
    }

    pub fn spec(&self) -> &Spec {
        &self.want
    }

    /// Whether the rows shown are what is wanted, over every row of a store of `store_rows`.
    pub fn is_current(&self, store_rows: usize) -> bool {
        if self.job.is_some() {
            return false;
        }
        match &self.shown {
            Shown::All => self.want.is_all(),
            Shown::Order { spec, rows, .. } => *spec == self.want && *rows == store_rows,
        }
    }

    /// How long the last job that answered took.
    pub fn last_job(&self) -> Option<Duration> {
        self.last.map(|(took, _)| took)
    }

    /// "sorting…" / "filtering…" while a job runs.
    pub fn busy(&self) -> Option<&'static str> {
        self.job.as_ref().map(|j| j.spec.doing())
    }

    /// Rows shown, of a store holding `store_rows`.
    pub fn len(&self, store_rows: usize) -> usize {
        match &self.shown {
            Shown::All => store_rows,
            Shown::Order { order, .. } => order.len(),
        }
    }

    /// The store row shown at position `i` (below [`RowsView::len`]).
    pub fn row(&self, i: usize) -> usize {
        match &self.shown {
            Shown::All => i,
            Shown::Order { order, .. } => order[i] as usize,
        }
    }

    /// The store rows shown, in order (None: every row of the store, in arrival order).
    pub fn order(&self) -> Option<Arc<Vec<u32>>> {
        match &self.shown {
            Shown::All => None,
            Shown::Order { order, .. } => Some(order.clone()),
        }
    }

    /// Takes the running job's answer when it came, and starts the next job when what is shown
    /// is not what is wanted over every row of `store`. `wake` is called (on the worker) when a
    /// job has answered. Returns how long to wait before calling again when a job is due later
    /// (a re-run for new rows waits as long as the last job took).
    pub fn update(
        &mut self,
        store: &Arc<ResultStore>,
        wake: impl Fn() + Send + 'static,
    ) -> Option<Duration> {
        self.take_answer();
        if self.job.is_some() || self.want.is_all() {
            return None;
        }
        let n = store.len();
        let (same_spec, covered) = match &self.shown {
            Shown::Order { spec, rows, .. } => (*spec == self.want, *rows),
            Shown::All => (false, 0),
        };
        if same_spec && covered == n {
            return None;
        }
        if same_spec && let Some((took, at)) = self.last {
            let due = at + took;
            let now = Instant::now();
            if now < due {
                return Some(due - now);
            }
        }
        self.start(store.clone(), wake);
        None
    }

    /// Whether a job holds the store.
    #[cfg(test)]
    pub fn is_busy(&self) -> bool {
        self.job.is_some()
    }

    fn take_answer(&mut self) {
        let Some(job) = &self.job else { return };
        let answer = match job.answer.try_recv() {
            Ok(a) => a,
            Err(mpsc::TryRecvError::Empty) => return,
            Err(mpsc::TryRecvError::Disconnected) => {
                self.job = None; // the worker died: try again on the next update
                return;
            }
        };
        self.job = None;
        self.last = Some((answer.took, Instant::now()));
        if let Some(order) = answer.order
            && answer.spec == self.want
        {
            self.shown = Shown::Order {
                spec: answer.spec,
                rows: answer.rows,
                order,
            };
        }
    }

    fn start(&mut self, store: Arc<ResultStore>, wake: impl Fn() + Send + 'static) {
        let spec = self.want.clone();
        let cancel = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let caches = self.caches.clone();
        let job_spec = spec.clone();
        let flag = cancel.clone();
        let spawned = std::thread::Builder::new()
            .name("exo-connect-grid".into())
            .spawn(move || {
                let started = Instant::now();
                let rows = store.len();
                let order = {
                    // A cancelled job never holds the caches for long (it checks its flag
                    // every few thousand rows).
                    let mut caches = caches.lock().unwrap_or_else(|e| e.into_inner());
                    compute(&store, &job_spec, &mut caches, &flag)
                };
                // Let go of the store before answering: the window appends rows that arrived
                // meanwhile as soon as it is the only holder.
                drop(store);
                let _ = tx.send(Answer {
                    spec: job_spec,
                    rows,
                    order,
                    took: started.elapsed(),
                });
                wake();
            });
        if spawned.is_ok() {
            self.job = Some(Job {
                spec,
                cancel,
                answer: rx,
            });
        }
    }

    fn cancel(&mut self) {
        if let Some(job) = self.job.take() {
            job.cancel.store(true, Ordering::Relaxed);
        }
    }
}

/// The rows `spec` shows of `store`, in order; None if cancelled. Fills and uses `caches`.
fn compute(
    store: &ResultStore,
    spec: &Spec,
    caches: &mut Caches,
    cancel: &AtomicBool,
) -> Option<Arc<Vec<u32>>> {
    let n = store.len();
    let filtered = match Filter::parse(store, &spec.filter) {
        Filter::All => None,
        filter => Some(match &caches.filtered {
            Some((typed, rows, kept)) if *typed == spec.filter && *rows == n => kept.clone(),
            _ => {
                let kept = Arc::new(view::filter(store, &filter, cancel)?);
                caches.filtered = Some((spec.filter.clone(), n, kept.clone()));
                kept
            }
        }),
    };
    let sort = spec
        .sort
        .as_ref()
        .and_then(|(name, asc)| Some((store.column_index(name)?, *asc)));
    let Some(by) = sort else {
        return Some(filtered.unwrap_or_else(|| Arc::new((0..n as u32).collect())));
    };
    let sorted = match &caches.sorted {
        Some((b, rows, order)) if *b == by && *rows == n => order.clone(),
        _ => {
            let all: Vec<u32> = (0..n as u32).collect();
            let order = Arc::new(view::sort(
                store,
                &all,
                by.0,
                by.1,
                &mut caches.keys,
                cancel,
            )?);
            caches.sorted = Some((by, n, order.clone()));
            order
        }
    };
    let Some(kept) = filtered else {
        return Some(sorted);
    };
    if kept.len() == n {
        return Some(sorted);
    }
    let mut keep = vec![false; n];
    for &r in kept.iter() {
        keep[r as usize] = true;
    }
    Some(Arc::new(
        sorted
            .iter()
            .copied()
            .filter(|&r| keep[r as usize])
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn store(n: usize) -> Arc<ResultStore> {
        let mut s = ResultStore::new();
        let depts = ["Sales", "IT", "Legal"];
        for i in 0..n {
            s.push_value(&json!({
                "Name": format!("user{:05}", (i * 7919) % n.max(1)),
                "Dept": depts[i % 3],
                "Size": (i * 31) % 1000,
            }));
        }
        Arc::new(s)
    }

    fn spec(filter: &str, sort: Option<(&str, bool)>) -> Spec {
        Spec {
            filter: filter.into(),
            sort: sort.map(|(c, a)| (c.into(), a)),
        }
    }

    /// Calls `update` until what is shown is current (a job may have been started earlier).
    fn settle(v: &mut RowsView, s: &Arc<ResultStore>) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if let Some(w) = v.update(s, || {}) {
                std::thread::sleep(w);
            }
            if v.is_current(s.len()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        panic!("the view did not settle");
    }

    fn shown(v: &RowsView, s: &ResultStore) -> Vec<usize> {
        (0..v.len(s.len())).map(|i| v.row(i)).collect()
    }

    /// The reference: filter and sort by plain code over row objects.
    fn want(s: &ResultStore, filter: &str, sort: Option<(&str, bool)>) -> Vec<usize> {
        let no = AtomicBool::new(false);
        let mut rows: Vec<usize> = view::filter(s, &Filter::parse(s, filter), &no)
            .unwrap()
            .into_iter()
            .map(|r| r as usize)
            .collect();
        if let Some((col, asc)) = sort {
            let c = s.column_index(col).unwrap();
            let key = |r: usize| s.cell_value(r, c).and_then(|v| v.as_i64());
            rows.sort_by_key(|&r| key(r));
            if !asc {
                rows.sort_by_key(|&r| std::cmp::Reverse(key(r)));
            }
        }
        rows
    }

    #[test]
    fn no_filter_and_no_sort_is_every_row_without_a_job() {
        let s = store(10);
        let mut v = RowsView::default();
        assert_eq!(v.update(&s, || {}), None);
        assert!(!v.is_busy());
        assert_eq!(shown(&v, &s), (0..10).collect::<Vec<_>>());
        assert!(v.order().is_none());
    }

    #[test]
    fn a_sort_runs_off_the_ui_thread_and_the_old_order_stays_until_it_answers() {
        let s = store(50_000);
        let mut v = RowsView::default();
        v.want(spec("", Some(("Size", true))));
        assert_eq!(v.update(&s, || {}), None);
        assert!(v.is_busy());
        assert_eq!(v.busy(), Some("sorting…"));
        // Until the answer: arrival order, every row.
        assert_eq!(v.len(s.len()), 50_000);
        assert_eq!(v.row(3), 3);
        settle(&mut v, &s);
        assert_eq!(v.busy(), None);
        assert_eq!(shown(&v, &s), want(&s, "", Some(("Size", true))));
        // Filter on top of the sort: the cached sorted order, filtered.
        v.want(spec("dept:legal", Some(("Size", true))));
        assert_eq!(v.busy(), None, "not started before the next update");
        settle(&mut v, &s);
        let got = shown(&v, &s);
        assert_eq!(got.len(), (0..50_000).filter(|i| i % 3 == 2).count());
        assert_eq!(got, want(&s, "dept:legal", Some(("Size", true))));
        v.want(spec("dept:legal", Some(("Size", false))));
        settle(&mut v, &s);
        assert_eq!(shown(&v, &s), want(&s, "dept:legal", Some(("Size", false))));
        // Back to every row: at once, no job.
        v.want(Spec::default());
        assert_eq!(v.update(&s, || {}), None);
        assert!(!v.is_busy());
        assert_eq!(v.len(s.len()), 50_000);
    }

    #[test]
    fn a_newer_request_cancels_the_older_one() {
        let s = store(100_000);
        let mut v = RowsView::default();
        v.want(spec("", Some(("Name", true))));
        v.update(&s, || {});
        let first = v.job.as_ref().unwrap().cancel.clone();
        v.want(spec("sales", None));
        assert!(first.load(Ordering::Relaxed), "the older job is cancelled");
        assert!(!v.is_busy());
        assert_eq!(v.update(&s, || {}), None);
        assert_eq!(v.busy(), Some("filtering…"));
        settle(&mut v, &s);
        assert_eq!(shown(&v, &s), want(&s, "sales", None));
    }

    #[test]
    fn an_answer_for_an_older_spec_is_not_shown() {
        let s = store(1000);
        let mut v = RowsView::default();
        v.want(spec("it", None));
        let (tx, rx) = mpsc::channel();
        v.update(&s, move || {
            let _ = tx.send(());
        });
        // The spec changes while the same job's answer is on its way (not cancelled in time):
        // force the race by swapping the wanted spec without cancelling.
        v.want = spec("legal", None);
        rx.recv_timeout(Duration::from_secs(20))
            .expect("the job answers");
        v.take_answer();
        assert!(!v.is_busy(), "the answer was taken");
        assert!(matches!(v.shown, Shown::All), "the 'it' answer is dropped");
        settle(&mut v, &s);
        assert_eq!(shown(&v, &s), want(&s, "legal", None));
    }

    #[test]
    fn rows_that_arrive_during_a_sort_are_sorted_by_a_rerun() {
        let mut s = store(30_000);
        let mut v = RowsView::default();
        v.want(spec("", Some(("Size", false))));
        v.update(&s, || {});
        assert!(v.is_busy());
        // The job holds the store: a new page cannot go in yet.
        assert!(Arc::get_mut(&mut s).is_none());
        settle(&mut v, &s);
        let before = shown(&v, &s);
        assert_eq!(before.len(), 30_000);
        // The job has let go: the page goes in; the shown order covers the old rows only.
        let page = store(1_000);
        Arc::get_mut(&mut s)
            .expect("sole holder")
            .append(&page, &[]);
        assert_eq!(v.len(s.len()), 30_000, "new rows wait for the re-run");
        assert!(shown(&v, &s).iter().all(|&r| r < 30_000));
        settle(&mut v, &s);
        assert_eq!(shown(&v, &s), want(&s, "", Some(("Size", false))));
        assert_eq!(v.len(s.len()), 31_000);
    }

    #[test]
    fn a_rerun_for_new_rows_waits_as_long_as_the_last_job_took() {
        let mut s = store(100);
        let mut v = RowsView::default();
        v.want(spec("sales", None));
        settle(&mut v, &s);
        v.last = Some((Duration::from_secs(30), Instant::now()));
        Arc::get_mut(&mut s)
            .unwrap()
            .push_value(&json!({"Dept": "Sales"}));
        let wait = v.update(&s, || {}).expect("a re-run later");
        assert!(wait > Duration::from_secs(25) && wait <= Duration::from_secs(30));
        assert!(!v.is_busy());
        // A new spec does not wait.
        v.want(spec("it", None));
        assert_eq!(v.update(&s, || {}), None);
        assert!(v.is_busy());
    }

    #[test]
    fn a_reset_forgets_the_order_and_the_caches() {
        let s = store(1000);
        let mut v = RowsView::default();
        v.want(spec("", Some(("Size", true))));
        settle(&mut v, &s);
        assert!(v.order().is_some());
        v.reset();
        assert!(v.order().is_none());
        let other = store(10);
        settle(&mut v, &other);
        assert_eq!(shown(&v, &other), want(&other, "", Some(("Size", true))));
        assert_eq!(v.spec(), &spec("", Some(("Size", true))), "the spec stays");
    }

    #[test]
    fn sorting_by_a_column_the_result_lacks_is_arrival_order() {
        let s = store(100);
        let mut v = RowsView::default();
        v.want(spec("", Some(("Nope", true))));
        settle(&mut v, &s);
        assert_eq!(shown(&v, &s), (0..100).collect::<Vec<_>>());
    }
}
