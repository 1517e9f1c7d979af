//! The driver's fan-out job (issue 12): one cmdlet line over many saved profiles on the
//! engine's fan-out (`engine::fanout`), its per-profile state events forwarded to the window's
//! fan-out panel, each done profile's rows sent once, led by `Profile` and `Tenant`, for the
//! merged grid. Profiles that need an interactive sign-in get the window's sign-in dialog one
//! at a time (the engine's sign-in queue): at a profile's turn the dialog becomes that
//! profile's, and cancelling it ("Skip this tenant", or Cancel) skips the profile.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::signin::{DialogPrompt, Dialogs};
use super::{Driver, Internal, notice};
use crate::engine::auth::{SignInError, SignInEvent, SignedIn};
use crate::engine::connect::{ConnectError, OnFailure, OnMismatch, SignInPrompt};
use crate::engine::fanout::{
    self, FanoutEvent, FanoutHandle, FanoutOptions, FanoutTarget, ProfileState,
};
use crate::engine::rest::CmdletRequest;
use crate::engine::sessions::ConnectProgress;
use crate::model::SignInMethod;
use crate::model::cmdline::parse_cmdlet_line;
use crate::model::results::ResultStore;
use crate::model::results::merge::append_attributed;
use crate::ui::bridge::{EventSender, FanoutProfileView, NoticeLevel, UiEvent};

/// The fan-out run the window shows.
pub(super) struct FanoutJob {
    run: u64,
    handle: FanoutHandle,
}

/// Generations of the fan-out's sign-in dialogs: a range of their own, so a dialog of the
/// fan-out is never taken for one of a Connect click (`Driver::generation` counts up from 0).
static TURN_GENERATION: AtomicU64 = AtomicU64::new(1 << 62);

impl Driver {
    /// Starts a fan-out run of `line` over `ids` (the saved ones, in that order); a run still
    /// going is cancelled first.
    pub(super) fn run_fanout(&mut self, ids: Vec<Uuid>, line: String, concurrency: usize) {
        let request = match parse_cmdlet_line(&line) {
            Ok(p) => CmdletRequest::from_line(p),
            Err(e) => return self.send(notice(NoticeLevel::Error, e.message)),
        };
        if let Err(e) = request.row_cap() {
            return self.send(notice(NoticeLevel::Error, e.message));
        }
        let profiles: Vec<_> = ids.iter().filter_map(|id| self.store.get(*id)).collect();
        if profiles.is_empty() {
            return self.send(notice(NoticeLevel::Error, "No saved profile to run on"));
        }
        let targets: Vec<FanoutTarget> = profiles
            .into_iter()
            .cloned()
            .map(FanoutTarget::new)
            .collect();
        if let Some(old) = self.fanout.take() {
            old.handle.cancel_all();
        }
        let run = self.fanout_runs + 1;
        self.fanout_runs = run;
        let views = targets
            .iter()
            .map(|t| FanoutProfileView {
                profile_id: t.profile.id,
                name: t.profile.name.clone(),
                tenant: t.tenant_label(),
            })
            .collect();
        let prompt = Arc::new(TurnPrompt::default());
        let prompt_ref = prompt.clone();
        let on_turn = turn_opener(self, run, &targets, prompt.clone());
        let options = FanoutOptions {
            concurrency: concurrency.max(1),
            prompt: Some(prompt),
            on_signin_turn: Some(on_turn),
            ..Default::default()
        };
        self.send(UiEvent::FanoutStarted {
            run,
            line,
            profiles: views,
        });
        let (handle, events) = fanout::start(self.connector.clone(), targets, request, options);
        let ends = TurnEnds(prompt_ref);
        let to = Forward {
            ev: self.ev.clone(),
            internal: self.internal_tx.clone(),
            run,
            ends,
        };
        tokio::spawn(forward(handle.clone(), events, to));
        self.fanout = Some(FanoutJob { run, handle });
    }

    pub(super) fn cancel_fanout(&self) {
        if let Some(job) = &self.fanout {
            job.handle.cancel_all();
        }
    }

    /// Runs the failed and cancelled profiles again (`None`), or profile `index`.
    pub(super) fn retry_fanout(&self, index: Option<usize>) {
        let Some(job) = &self.fanout else { return };
        let started = match index {
            None => job.handle.retry_failed() > 0,
            Some(i) => job.handle.retry(i),
        };
        if !started {
            let why = if job.handle.is_running() {
                "Nothing retried: wait until the running profiles finish"
            } else {
                "Nothing to retry"
            };
            self.send(notice(NoticeLevel::Info, why));
        }
        let _ = job.run;
    }

    /// A sign-in dialog of the fan-out opened: it is the one the dialog's commands answer.
    pub(super) fn fanout_turn(&mut self, job: super::signin::SignInJob) {
        self.cancel_sign_in();
        self.signin = Some(job);
    }
}

/// What happens at a profile's turn in the sign-in queue: a dialog of its own (cancelled by
/// the profile's skip token), made the prompt's current one, announced to the window, and
/// handed to the driver's loop to answer.
fn turn_opener(
    driver: &Driver,
    run: u64,
    targets: &[FanoutTarget],
    prompt: Arc<TurnPrompt>,
) -> fanout::SignInTurn {
    let dialogs: Dialogs = driver.dialogs();
    let internal = driver.internal_tx.clone();
    let ev = driver.ev.clone();
    let profiles: Vec<_> = targets.iter().map(|t| t.profile.clone()).collect();
    Arc::new(move |index, skip| {
        let generation = TURN_GENERATION.fetch_add(1, Ordering::SeqCst);
        let (dialog, job) = dialogs.prompt(&profiles[index], None, skip.clone(), generation);
        *prompt.current.lock().unwrap() = Some((index, Arc::new(dialog)));
        ev.send(UiEvent::FanoutSignInTurn { run, index });
        let _ = internal.send(Internal::FanoutTurn(job));
    })
}

/// Where [`forward`] sends the engine's events: the window, and the driver's loop (the
/// tenant names it keeps in the profiles).
struct Forward {
    ev: EventSender,
    internal: mpsc::UnboundedSender<Internal>,
    run: u64,
    ends: TurnEnds,
}

/// The engine's events as the window's, until the engine's side is gone.
async fn forward(
    handle: FanoutHandle,
    mut events: mpsc::UnboundedReceiver<FanoutEvent>,
    to: Forward,
) {
    let Forward {
        ev,
        internal,
        run,
        ends,
    } = to;
    while let Some(e) = events.recv().await {
        match e {
            FanoutEvent::State { index, state, .. } => {
                // Not on Queued: that event may come after the turn began (the turn is told
                // from the engine's task, the states from here).
                if state.is_past_sign_in() {
                    ends.0.end(index);
                }
                let done = matches!(state, ProfileState::Done { .. });
                if !ev.send(UiEvent::FanoutState { run, index, state }) {
                    return;
                }
                if done && let Some(rows) = handle.rows_of(index) {
                    let t = &handle.targets()[index];
                    let tenant = handle.tenant_label(index);
                    let mut attributed = ResultStore::new();
                    append_attributed(&mut attributed, &rows, &t.profile.name, &tenant);
                    ev.send(UiEvent::FanoutRows {
                        run,
                        index,
                        rows: attributed,
                    });
                }
            }
            FanoutEvent::TenantNamed { index, tenant, .. } => {
                let profile_id = handle.targets()[index].profile.id;
                let _ = internal.send(Internal::TenantNamed { profile_id, tenant });
            }
            FanoutEvent::Idle(summary) => {
                ev.send(UiEvent::FanoutIdle { run, summary });
            }
        }
    }
}

/// Ends a profile's sign-in turn once it left the sign-in state.
struct TurnEnds(Arc<TurnPrompt>);

/// The fan-out's prompt: whatever the sign-in dialog of the profile whose turn it is does
/// (none between turns: a silent sign-in in the queue shows nothing).
#[derive(Default)]
struct TurnPrompt {
    /// The profile whose turn it is, and its dialog.
    current: Mutex<Option<(usize, Arc<DialogPrompt>)>>,
}

impl TurnPrompt {
    fn current(&self) -> Option<Arc<DialogPrompt>> {
        let c = self.current.lock().unwrap();
        c.as_ref()
            .map(|(_, p)| p.clone())
            .filter(|p| !p.is_cancelled())
    }

    /// Profile `index`'s turn is over (signed in, skipped, or the run cancelled).
    fn end(&self, index: usize) {
        let mut c = self.current.lock().unwrap();
        if c.as_ref().is_some_and(|(i, _)| *i == index) {
            *c = None;
        }
    }
}

fn cancelled() -> ConnectError {
    ConnectError::SignIn(SignInError::Cancelled)
}

impl SignInPrompt for TurnPrompt {
    fn starting(&self, method: SignInMethod) {
        if let Some(p) = self.current() {
            p.starting(method);
        }
    }

    fn show(&self, event: &SignInEvent) {
        if let Some(p) = self.current() {
            p.show(event);
        }
    }

    fn password(&self) -> BoxFuture<'_, Result<String, ConnectError>> {
        let p = self.current();
        Box::pin(async move {
            match p {
                Some(p) => p.password().await,
                None => Err(cancelled()),
            }
        })
    }

    fn upn_mismatch<'a>(&'a self, expected: &'a str, actual: &'a str) -> BoxFuture<'a, OnMismatch> {
        let p = self.current();
        Box::pin(async move {
            match p {
                Some(p) => p.upn_mismatch(expected, actual).await,
                None => OnMismatch::Cancel,
            }
        })
    }

    fn failed<'a>(&'a self, error: &'a SignInError) -> BoxFuture<'a, OnFailure> {
        let p = self.current();
        Box::pin(async move {
            match p {
                Some(p) => p.failed(error).await,
                None => OnFailure::GiveUp,
            }
        })
    }

    fn signed_in(&self, signed: &SignedIn) {
        let mut c = self.current.lock().unwrap();
        if let Some((_, p)) = c.take()
            && !p.is_cancelled()
        {
            p.signed_in(signed);
        }
    }

    fn connecting(&self, progress: &ConnectProgress) {
        if let Some(p) = self.current() {
            p.connecting(progress);
        }
    }
}
