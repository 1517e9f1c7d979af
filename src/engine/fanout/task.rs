//! One profile of a fan-out run: a run slot (global and per tenant), the silent connect or the
//! sign-in queue, the cmdlet's pages into the profile's own store, the session closed at the
//! end (also when the run is cancelled: the guard closes it when the task is dropped).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;

use super::{ProfileState, Shared};
use crate::engine::auth::{SignInError, SignInEvent, SignedIn};
use crate::engine::connect::{
    ConnectError, ConnectOptions, Connected, OnFailure, OnMismatch, SignInPrompt,
};
use crate::engine::rest::{RestError, RunEvent};
use crate::engine::sessions::{ConnectProgress, SessionError, SessionRegistry};
use crate::model::SignInMethod;
use crate::model::results::ResultStore;

enum Outcome {
    Done(ResultStore, Duration),
    Failed(String),
    Skipped(String),
    Cancelled,
}

/// Runs profile `index` to a final state (unless the task is dropped with the runtime).
/// `skip` is a child of `cancel`: cancelled alone, the profile is skipped.
pub(super) async fn run_profile(
    shared: &Arc<Shared>,
    index: usize,
    cancel: CancellationToken,
    skip: CancellationToken,
) {
    let outcome = tokio::select! {
        biased;
        _ = cancel.cancelled() => Outcome::Cancelled,
        _ = skip.cancelled() => Outcome::Skipped("skipped".into()),
        o = attempt(shared, index, &skip) => o,
    };
    match outcome {
        Outcome::Done(rows, elapsed) => {
            let state = ProfileState::Done {
                rows: rows.len(),
                elapsed,
            };
            shared.finish(index, state, Some(rows));
        }
        Outcome::Failed(message) => shared.finish(index, ProfileState::Failed { message }, None),
        Outcome::Skipped(reason) => shared.finish(index, ProfileState::Skipped { reason }, None),
        Outcome::Cancelled => shared.finish(index, ProfileState::Cancelled, None),
    }
}

/// A run slot: one of the global permits and one of the tenant's.
type Permits = (OwnedSemaphorePermit, OwnedSemaphorePermit);

/// Waits for a run slot (see [`Permits`]).
async fn slot(shared: &Shared, index: usize) -> Permits {
    let gate = shared.tenant_gate(&shared.targets[index].tenant_key());
    // The tenant's first: a profile waiting for its busy tenant holds no global slot.
    let tenant = gate.acquire_owned().await.expect("never closed");
    let global = shared
        .global
        .clone()
        .acquire_owned()
        .await
        .expect("never closed");
    (global, tenant)
}

async fn attempt(shared: &Arc<Shared>, index: usize, cancel: &CancellationToken) -> Outcome {
    let (connected, permits) = match connect(shared, index, cancel).await {
        Ok(c) => c,
        Err(o) => return o,
    };
    let _permits = permits;
    let registry = shared.connector.registry().clone();
    let _session = SessionGuard {
        registry: registry.clone(),
        id: connected.session.connection_id,
    };
    let started = Instant::now();
    shared.set(index, ProfileState::Running { rows: 0 });
    let mut handle = match registry
        .run(connected.session.connection_id, shared.request.clone())
        .await
    {
        Ok(h) => h,
        Err(e) => return Outcome::Failed(session_message(e)),
    };
    let mut rows = ResultStore::new();
    while let Some(ev) = handle.events.recv().await {
        match ev {
            RunEvent::Page {
                rows: page,
                total_rows,
                ..
            } => {
                rows.take_page(page);
                shared.set(index, ProfileState::Running { rows: total_rows });
            }
            RunEvent::Retrying { delay, reason, .. } => {
                if is_throttle(&reason) {
                    let rows = rows.len();
                    shared.set(index, throttled(delay, rows));
                }
            }
            RunEvent::Done { .. } => {
                rows.shrink_to_fit();
                let elapsed = started.elapsed();
                let id = connected.session.connection_id;
                super::tenant_name::learn(shared, index, &registry, id, &rows).await;
                return Outcome::Done(rows, elapsed);
            }
            RunEvent::Failed(e) => return Outcome::Failed(rest_message(&e)),
            // A change the service wants confirmed is not done in a fan-out: that profile fails
            // with the service's question (run it on the profile alone to confirm).
            RunEvent::Confirmation(q) => {
                let q = crate::model::text::printable_line(&q).into_owned();
                return Outcome::Failed(format!(
                    "not done: the service asks for confirmation ({q}); run it on this profile alone to confirm"
                ));
            }
            RunEvent::Warning(_)
            | RunEvent::Redirected { .. }
            | RunEvent::RowError(_)
            | RunEvent::RateBudget(_) => {}
        }
    }
    Outcome::Failed("the run stopped before it finished".into())
}

/// The profile's session and its run slot: a silent connect in a slot, else the sign-in
/// queue (waited for without one).
async fn connect(
    shared: &Arc<Shared>,
    index: usize,
    cancel: &CancellationToken,
) -> Result<(Connected, Permits), Outcome> {
    let permits = slot(shared, index).await;
    let progress = Progress {
        shared: shared.clone(),
        index,
        inner: None,
    };
    let seen = shared.signed_in.load(Ordering::SeqCst);
    match whole(shared, cancel, progress, None).await {
        Ok(c) => Ok((c, permits)),
        Err(e) if needs_interactive(&e) => {
            drop(permits);
            shared.set(index, ProfileState::SigningIn);
            interactive(shared, index, cancel, seen).await
        }
        Err(e) => Err(Outcome::Failed(connect_message(e))),
    }
}

/// The sign-in queue: one profile at a time tries silently again (the one before may have
/// signed in the same account), then asks the prompt, if there is one. A profile whose turn
/// comes after an interactive sign-in finished (`seen` counts them) leaves the queue and tries
/// its cached sign-in at once, so the profiles behind one partner sign-in redeem their tokens
/// together instead of one turn each. Every silent try holds a run slot (so the released
/// profiles redeem at most `concurrency` tokens at once, and keep the slot for their run);
/// the interactive sign-in holds none while it waits for the admin, and takes one after it.
async fn interactive(
    shared: &Arc<Shared>,
    index: usize,
    cancel: &CancellationToken,
    mut seen: usize,
) -> Result<(Connected, Permits), Outcome> {
    let target = &shared.targets[index];
    let mut turn = shared.signin_queue.lock().await;
    while shared.signed_in.load(Ordering::SeqCst) != seen {
        seen = shared.signed_in.load(Ordering::SeqCst);
        drop(turn);
        if let Some(c) = silent_in_slot(shared, index, cancel, None).await? {
            return Ok(c);
        }
        turn = shared.signin_queue.lock().await;
    }
    let _turn = turn;
    let prompt = shared.options.prompt.clone();
    let has_prompt = prompt.is_some();
    if let Some(c) = silent_in_slot(shared, index, cancel, prompt).await? {
        return Ok(c);
    }
    if !has_prompt {
        return Err(Outcome::Failed(format!(
            "needs sign-in: run exo-connect login {}",
            shell_word(&target.profile.name)
        )));
    }
    if let Some(turn) = &shared.options.on_signin_turn {
        turn(index, cancel);
    }
    let opts = ConnectOptions {
        cancel: cancel.child_token(),
        ..Default::default()
    };
    let progress = Progress {
        shared: shared.clone(),
        index,
        inner: shared.options.prompt.clone(),
    };
    match whole(shared, cancel, progress, Some(opts)).await {
        Ok(c) => {
            shared.signed_in.fetch_add(1, Ordering::SeqCst);
            Ok((c, slot(shared, index).await))
        }
        Err(e) if e.is_cancelled() && !cancel.is_cancelled() => {
            Err(Outcome::Skipped("its sign-in was skipped".into()))
        }
        Err(e) if e.is_cancelled() => Err(Outcome::Cancelled),
        Err(e) => Err(Outcome::Failed(connect_message(e))),
    }
}

/// A silent connect holding a run slot: Ok(Some) connected (the slot kept for the run),
/// Ok(None) it still needs an interactive sign-in (the slot given back), Err the profile's
/// final outcome.
async fn silent_in_slot(
    shared: &Arc<Shared>,
    index: usize,
    cancel: &CancellationToken,
    inner: Option<Arc<dyn SignInPrompt>>,
) -> Result<Option<(Connected, Permits)>, Outcome> {
    let permits = slot(shared, index).await;
    let progress = Progress {
        shared: shared.clone(),
        index,
        inner,
    };
    match whole(shared, cancel, progress, None).await {
        Ok(c) => Ok(Some((c, permits))),
        Err(e) if needs_interactive(&e) => Ok(None),
        Err(e) => Err(Outcome::Failed(connect_message(e))),
    }
}

/// A connect (silent, or with the prompt when `opts` is given) on its own task, so that a
/// cancel never cuts a token refresh in the middle: refresh tokens rotate, and a refresh cut
/// after the service answered would lose the account's sign-in for every profile of it. A
/// session it opens after `cancel` fired is closed again.
#[allow(clippy::result_large_err)] // ConnectError is what Connector gives
async fn whole(
    shared: &Arc<Shared>,
    cancel: &CancellationToken,
    progress: Progress,
    opts: Option<ConnectOptions>,
) -> Result<Connected, ConnectError> {
    let connector = shared.connector.clone();
    let profile = shared.targets[progress.index].profile.clone();
    let cancel = cancel.clone();
    let task = tokio::spawn(async move {
        let r = match &opts {
            None => connector.connect_silent(&profile, &progress).await,
            Some(o) => connector.connect(&profile, &progress, o).await,
        };
        if cancel.is_cancelled()
            && let Ok(c) = &r
        {
            let _ = connector
                .registry()
                .disconnect(c.session.connection_id, false)
                .await;
        }
        r
    });
    task.await
        .unwrap_or_else(|e| Err(ConnectError::Config(format!("the connect stopped: {e}"))))
}

fn needs_interactive(e: &ConnectError) -> bool {
    matches!(e, ConnectError::SignIn(SignInError::NeedsInteractive(_)))
}

/// A profile name as one shell word (single-quoted when it has blanks or quotes).
fn shell_word(name: &str) -> String {
    if name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c))
    {
        name.to_string()
    } else {
        format!("'{}'", name.replace('\'', "'\\''"))
    }
}

fn is_throttle(reason: &str) -> bool {
    reason.contains("429") || reason.to_ascii_lowercase().contains("concurrent requests")
}

fn throttled(delay: Duration, rows: usize) -> ProfileState {
    ProfileState::Throttled {
        until: chrono::Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default(),
        rows,
    }
}

/// A failed connect in one line: what to fix, or the sign-in's or the service's explanation.
fn connect_message(e: ConnectError) -> String {
    match e {
        ConnectError::Config(m) => m,
        ConnectError::SignIn(e) => format!("sign-in failed: {}", e.explanation()),
        ConnectError::Session(e) => session_message(e),
    }
}

fn session_message(e: SessionError) -> String {
    match e {
        SessionError::Service(r) => rest_message(&r),
        other => other.to_string(),
    }
}

/// A cmdlet failure in one line: the service's words, status and request id, then the
/// failure catalogue's explanation.
pub fn rest_message(e: &RestError) -> String {
    let mut m = format!("{}: {}", e.cmdlet, e.message);
    if let Some(s) = e.status {
        m.push_str(&format!(" (HTTP {s}"));
        if let Some(r) = &e.request_id {
            m.push_str(&format!(", request id {r}"));
        }
        m.push(')');
    }
    if let Some(x) = e.explanation() {
        m.push_str(&format!(". {x}"));
    }
    m.replace(['\r', '\n'], " ")
}

/// Closes the profile's session when its task ends or is dropped (cancel).
struct SessionGuard {
    registry: SessionRegistry,
    id: uuid::Uuid,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        let registry = self.registry.clone();
        let id = self.id;
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let _ = registry.disconnect(id, false).await;
            });
        }
    }
}

/// The prompt a profile's connect sees: the access check's throttling as a state, everything
/// else handed to the run's prompt (when it has one).
struct Progress {
    shared: Arc<Shared>,
    index: usize,
    inner: Option<Arc<dyn SignInPrompt>>,
}

impl Progress {
    fn cancelled() -> ConnectError {
        ConnectError::SignIn(SignInError::Cancelled)
    }
}

impl SignInPrompt for Progress {
    fn starting(&self, method: SignInMethod) {
        if let Some(p) = &self.inner {
            p.starting(method);
        }
    }

    fn show(&self, event: &SignInEvent) {
        if let Some(p) = &self.inner {
            p.show(event);
        }
    }

    fn password(&self) -> BoxFuture<'_, Result<String, ConnectError>> {
        match &self.inner {
            Some(p) => p.password(),
            None => Box::pin(async { Err(Self::cancelled()) }),
        }
    }

    fn upn_mismatch<'a>(&'a self, expected: &'a str, actual: &'a str) -> BoxFuture<'a, OnMismatch> {
        match &self.inner {
            Some(p) => p.upn_mismatch(expected, actual),
            None => Box::pin(async { OnMismatch::Continue }),
        }
    }

    fn failed<'a>(&'a self, error: &'a SignInError) -> BoxFuture<'a, OnFailure> {
        match &self.inner {
            Some(p) => p.failed(error),
            None => Box::pin(async { OnFailure::GiveUp }),
        }
    }

    fn signed_in(&self, signed: &SignedIn) {
        if let Some(p) = &self.inner {
            p.signed_in(signed);
        }
    }

    fn connecting(&self, progress: &ConnectProgress) {
        if let ConnectProgress::Retrying { delay, reason, .. } = progress
            && is_throttle(reason)
        {
            self.shared.set(self.index, throttled(*delay, 0));
        }
        if let Some(p) = &self.inner {
            p.connecting(progress);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_shell_words() {
        assert_eq!(shell_word("cust001"), "cust001");
        assert_eq!(shell_word("Contoso EXO"), "'Contoso EXO'");
        assert_eq!(shell_word("O'Neil"), "'O'\\''Neil'");
    }

    #[test]
    fn throttling_is_429_or_the_concurrency_refusal() {
        assert!(is_throttle("HTTP 429: Too many requests"));
        assert!(is_throttle(
            "You have reached the maximum number of concurrent requests per tenant"
        ));
        assert!(!is_throttle("HTTP 503: unavailable"));
    }
}
