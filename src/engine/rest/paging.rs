//! A run's paging, pipelined and in order. Each page is fetched by a task of its own
//! (`request.rs`); its body is parsed straight into a [`ResultStore`] off the async threads
//! (`model::results::parse_page`: no `Value` tree, no copy of the rows) and the store is sent
//! on, moved, in [`RunEvent::Page`]. The next page is asked for as soon as its
//! `@odata.nextLink` is known — from the body while it downloads, or from the parser — so it
//! travels while this page is still being read or parsed; never more than that one page is in
//! flight beyond the one being parsed, so memory stays bounded (two bodies and a page's store).
//!
//! The parser's link is the one that counts: a page fetched early for another link (a retried
//! page may name another) is dropped and the right one asked for. A page whose body does not
//! parse (cut JSON) is fetched again, counted as an attempt. Rows are never lost, duplicated or
//! reordered: pages are delivered in order, each exactly once.
//!
//! `ResultSize` (the row cap): each page is parsed with at most the rows still wanted; when the
//! cap may be reached on this page the body is cut once those rows arrived (`body.rs`), and no
//! next page is asked for until it is known not to be reached.
//!
//! Next-page links are followed only where the token may go (`policy.rs`); one that cannot be
//! followed (nothing is sent there), a link already seen (a loop: the service would page
//! forever) and more than `RestConfig::max_pages` pages end the run with a plain error, after
//! the rows of the page that sent it.

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::request::{Fetched, PageCall, TokenSlot, spawn_fetch};
use super::{CmdletRequest, RestClient, RestError, RestErrorKind, ResultSize, RunEvent};
use crate::model::results::{PageInfo, ResultStore, parse_page};

/// A task aborted when dropped (a page nobody waits for any more stops downloading).
struct Task<T>(JoinHandle<T>);

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A page being fetched.
struct InFlight {
    url: url::Url,
    is_next_link: bool,
    task: Task<Result<Fetched, RestError>>,
    /// Its next-page link, when the body shows it before the rows.
    early: Option<oneshot::Receiver<String>>,
}

/// The next-page links seen in a run (hashes: a run may have many thousand pages).
struct Links {
    hasher: RandomState,
    seen: HashSet<u64>,
}

impl Links {
    fn new() -> Links {
        Links {
            hasher: RandomState::new(),
            seen: HashSet::new(),
        }
    }
    fn key(&self, u: &url::Url) -> u64 {
        self.hasher.hash_one(u.as_str())
    }
    fn contains(&self, u: &url::Url) -> bool {
        self.seen.contains(&self.key(u))
    }
    /// False when it was seen before.
    fn insert(&mut self, u: &url::Url) -> bool {
        let k = self.key(u);
        self.seen.insert(k)
    }
}

/// One run's paging state.
struct Pager {
    client: Arc<RestClient>,
    cmdlet: Arc<str>,
    body: Arc<[u8]>,
    page_size: u32,
    tokens: Arc<TokenSlot>,
    /// The service wanted a next-page link fetched with GET: later ones go with GET at once.
    use_get: bool,
    tx: mpsc::Sender<RunEvent>,
    /// The row cap (ResultSize and the client-side limit).
    limit: Option<usize>,
    started: Instant,
    /// Rows delivered.
    total: usize,
    pages: usize,
    links: Links,
}

impl RestClient {
    /// Pages through a cmdlet's results, sending events; `Err` is sent as `Failed` by `start`.
    pub(super) async fn run(
        self: Arc<Self>,
        request: CmdletRequest,
        tx: mpsc::Sender<RunEvent>,
    ) -> Result<(), RestError> {
        let limit = match request.row_cap()? {
            ResultSize::Limit(n) => Some(n),
            ResultSize::Unlimited => None,
        };
        let body = serde_json::to_vec(&serde_json::json!({
            "CmdletInput": {"CmdletName": request.cmdlet, "Parameters": request.parameters}
        }))
        .expect("JSON of a JSON value");
        let token = self.get_token(&request.cmdlet, false).await?;
        let first = self.first_url(&request, &token)?;
        let mut pager = Pager {
            page_size: self.page_size(limit),
            client: self,
            cmdlet: request.cmdlet.as_str().into(),
            body: body.into(),
            tokens: TokenSlot::new(token),
            use_get: false,
            tx,
            limit,
            started: Instant::now(),
            total: 0,
            pages: 0,
            links: Links::new(),
        };
        pager.links.insert(&first);
        let current = pager.fetch(first, false, 1);
        pager.pages_from(current).await
    }
}

impl Pager {
    /// Starts fetching a page.
    fn fetch(&self, url: url::Url, is_next_link: bool, first_attempt: u32) -> InFlight {
        let (early_tx, early) = oneshot::channel();
        let want_rows = self
            .limit
            .map(|l| l.saturating_sub(self.total))
            .filter(|&rest| rest <= self.page_size as usize);
        let call = PageCall {
            cmdlet: self.cmdlet.clone(),
            body: self.body.clone(),
            page_size: self.page_size,
            is_next_link,
            use_get: is_next_link && self.use_get,
            want_rows,
            first_attempt,
            continue_on_error: false,
        };
        let task = spawn_fetch(
            self.client.clone(),
            call,
            url.clone(),
            self.tokens.clone(),
            Some(early_tx),
            self.tx.clone(),
        );
        InFlight {
            url,
            is_next_link,
            task: Task(task),
            early: Some(early),
        }
    }

    /// Pages from `current` on, until the last page, the row cap or an error.
    async fn pages_from(&mut self, mut current: InFlight) -> Result<(), RestError> {
        let mut next: Option<InFlight> = None;
        loop {
            let prefetch = self.may_prefetch();
            let mut fetched = self.wait(&mut current, &mut next, prefetch).await?;
            self.use_get |= fetched.used_get;
            let max_rows = self.limit.map(|l| l.saturating_sub(self.total));
            let body = std::mem::take(&mut fetched.body);
            let (store, info) = match self
                .parse(body, &current.url, max_rows, &mut next, prefetch)
                .await
            {
                Ok(parsed) => parsed,
                Err(reason) => {
                    current = self.fetch_again(&current, &fetched, reason).await?;
                    continue;
                }
            };
            self.pages += 1;
            if !self.warn(&fetched, &info).await {
                return Ok(()); // nobody listens any more
            }
            if self.limit.is_some_and(|l| self.total + store.len() >= l) {
                // The cap is reached: whatever is in flight is not needed.
                drop(next.take());
                let more = info.next_link.is_some() || info.skipped > 0 || fetched.cut;
                if self.deliver(store).await {
                    self.done(more).await;
                }
                return Ok(());
            }
            let link = match &info.next_link {
                None => None,
                Some(l) => match self.accept_link(&fetched.url, l) {
                    Ok(u) => Some(u),
                    Err(e) => {
                        self.deliver(store).await;
                        return Err(e);
                    }
                },
            };
            // The page in flight is kept only when it is the one the parser names.
            match link {
                None => next = None,
                Some(u) if next.as_ref().is_some_and(|n| n.url == u) => {}
                Some(u) => next = Some(self.fetch(u, true, 1)),
            }
            if !self.deliver(store).await {
                return Ok(());
            }
            match next.take() {
                Some(n) => current = n,
                None => {
                    self.done(false).await;
                    return Ok(());
                }
            }
        }
    }

    /// Whether the page being read cannot reach the cap (then its successor may be fetched
    /// early): a page has at most `page_size` rows when the service keeps to it.
    fn may_prefetch(&self) -> bool {
        self.limit
            .is_none_or(|l| l.saturating_sub(self.total) > self.page_size as usize)
    }

    /// Waits for `current`'s body; its early link starts the next page.
    async fn wait(
        &mut self,
        current: &mut InFlight,
        next: &mut Option<InFlight>,
        prefetch: bool,
    ) -> Result<Fetched, RestError> {
        loop {
            tokio::select! {
                r = &mut current.task.0 => {
                    return r.unwrap_or_else(|e| Err(self.internal(e)));
                }
                Some(link) = early_link(&mut current.early) => {
                    if prefetch {
                        self.prefetch(&current.url, &link, next);
                    }
                }
            }
        }
    }

    /// Parses a page body into a new store off the async threads; the link the parser meets
    /// starts the next page. `Err`: the body is not a page (fetched again).
    async fn parse(
        &mut self,
        body: Vec<u8>,
        page_url: &url::Url,
        max_rows: Option<usize>,
        next: &mut Option<InFlight>,
        prefetch: bool,
    ) -> Result<(ResultStore, PageInfo), String> {
        let (link_tx, link_rx) = oneshot::channel::<String>();
        let mut link_rx = Some(link_rx);
        // The body is handed over and freed by the parsing thread.
        let mut task = Task(tokio::task::spawn_blocking(move || {
            let mut store = ResultStore::new_page();
            let mut link_tx = Some(link_tx);
            let info = parse_page(&body, &mut store, max_rows, &mut |l| {
                if let Some(t) = link_tx.take() {
                    let _ = t.send(l.to_string());
                }
            });
            drop(body);
            info.map(|i| (store, i)).map_err(|e| e.to_string())
        }));
        loop {
            tokio::select! {
                r = &mut task.0 => {
                    return r.unwrap_or_else(|e| Err(format!("the page parser failed: {e}")));
                }
                Some(link) = early_link(&mut link_rx) => {
                    if prefetch {
                        self.prefetch(page_url, &link, next);
                    }
                }
            }
        }
    }

    /// Starts the next page early for `link`, when none is in flight and the link is one to
    /// follow (the parser's link is checked again, with errors, once the page is read).
    fn prefetch(&mut self, page_url: &url::Url, link: &str, next: &mut Option<InFlight>) {
        if next.is_some() || self.pages + 1 >= self.client.config.max_pages {
            return;
        }
        if let Ok(u) = self.client.resolve_link(&self.cmdlet, page_url, link)
            && !self.links.contains(&u)
        {
            *next = Some(self.fetch(u, true, 1));
        }
    }

    /// The parser's next-page link: resolved, allowed by the token policy, not seen before
    /// (a loop), within the page cap.
    fn accept_link(&mut self, page_url: &url::Url, link: &str) -> Result<url::Url, RestError> {
        let u = self.client.resolve_link(&self.cmdlet, page_url, link)?;
        let stop = |message: String| RestError::new(RestErrorKind::Protocol, &self.cmdlet, message);
        if !self.links.insert(&u) {
            return Err(stop(format!(
                "the service sent a next-page link it had sent before ({}): paging stopped after {} pages, as it would never end",
                shortened(u.as_str()),
                self.pages
            )));
        }
        if self.pages >= self.client.config.max_pages {
            return Err(stop(format!(
                "the service was still sending next-page links after {} pages: paging stopped (the most exo-connect follows)",
                self.pages
            )));
        }
        Ok(u)
    }

    /// A body that did not parse: the same page again (one more attempt), or the error.
    async fn fetch_again(
        &mut self,
        current: &InFlight,
        fetched: &Fetched,
        reason: String,
    ) -> Result<InFlight, RestError> {
        if fetched.attempt >= self.client.config.max_attempts {
            return Err(RestError {
                status: Some(fetched.status),
                request_id: fetched.request_id.clone(),
                ..RestError::new(RestErrorKind::Protocol, &self.cmdlet, reason)
            });
        }
        let delay = self.client.backoff(fetched.attempt, None);
        self.client
            .sleep_retry(&self.tx, fetched.attempt, delay, reason)
            .await;
        Ok(self.fetch(
            current.url.clone(),
            current.is_next_link,
            fetched.attempt + 1,
        ))
    }

    /// The page's warnings (`X-Warnings`, then `@adminapi.warnings`), non-terminating errors and
    /// the service's question, if it asks one. False when nobody
    /// listens any more.
    async fn warn(&self, fetched: &Fetched, info: &PageInfo) -> bool {
        for w in fetched.warnings.iter().chain(&info.warnings) {
            if self.tx.send(RunEvent::Warning(w.clone())).await.is_err() {
                return false;
            }
        }
        for e in &info.errors {
            if self.tx.send(RunEvent::RowError(e.clone())).await.is_err() {
                return false;
            }
        }
        if let Some(q) = &info.confirmation
            && self
                .tx
                .send(RunEvent::Confirmation(q.clone()))
                .await
                .is_err()
        {
            return false;
        }
        true
    }

    /// Sends a page's rows. False when nobody listens any more.
    async fn deliver(&mut self, rows: ResultStore) -> bool {
        self.total += rows.len();
        let page = RunEvent::Page {
            rows,
            total_rows: self.total,
            pages: self.pages,
            elapsed: self.started.elapsed(),
        };
        self.tx.send(page).await.is_ok()
    }

    async fn done(&self, truncated: bool) {
        let _ = self
            .tx
            .send(RunEvent::Done {
                total_rows: self.total,
                pages: self.pages,
                elapsed: self.started.elapsed(),
                truncated,
            })
            .await;
    }

    fn internal(&self, e: tokio::task::JoinError) -> RestError {
        RestError::new(
            RestErrorKind::Protocol,
            &self.cmdlet,
            format!("fetching a page failed inside exo-connect: {e}"),
        )
    }
}

/// The early link of a page, once (then never again: the receiver is gone).
async fn early_link(rx: &mut Option<oneshot::Receiver<String>>) -> Option<String> {
    match rx {
        Some(r) => {
            let link = r.await.ok();
            *rx = None;
            link
        }
        None => std::future::pending().await,
    }
}

/// A URL for a message: at most 120 characters.
fn shortened(u: &str) -> String {
    if u.chars().count() <= 120 {
        return u.to_string();
    }
    let head: String = u.chars().take(119).collect();
    format!("{head}…")
}
