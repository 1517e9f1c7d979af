//! A fan-out run (issue 12): one cmdlet line over a list of profiles, with per-profile state
//! events, one merged result, cancel all and retry the failed ones.
//!
//! - At most [`FanoutOptions::concurrency`] profiles run at once (default 8), and at most
//!   [`FanoutOptions::per_tenant`] of them against one tenant (each run keeps one request in
//!   flight, so that is the requests per tenant).
//! - Every profile first tries a silent connect ([`Connector::connect_silent`]): its own cached
//!   sign-in, or one its account got at another tenant (one partner sign-in serves every
//!   DelegatedOrganization profile of that account). Those that need an interactive sign-in wait
//!   in one sign-in queue, one at a time, without holding a run slot: each tries silently again
//!   first (the one before it may have signed in the same account), then asks
//!   [`FanoutOptions::prompt`]. After an interactive sign-in, the profiles waiting in the queue
//!   leave it and try their cached sign-ins together, each holding a run slot: every silent
//!   sign-in and every run holds one, so at most `concurrency` profiles sign in silently or
//!   run at once (the one interactive sign-in waits for its admin without one). Without a prompt (a command line without a terminal) such a
//!   profile fails with "needs sign-in: run exo-connect login NAME" and the others go on. A
//!   sign-in the prompt cancels, or [`FanoutHandle::skip`] (the window's "Skip this tenant"),
//!   skips that profile.
//! - One profile's failure never stops the others; its message is the plain explanation of the
//!   failure catalogue. Its rows so far are dropped (a retry starts it from nothing: nothing is
//!   lost or duplicated per profile).
//!
//! This file is the contract (targets, options, states, events, the handle); the per-profile
//! task is `task.rs`.

mod task;
pub mod tenant_name;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use crate::engine::connect::{Connector, SignInPrompt};
use crate::engine::rest::CmdletRequest;
pub use crate::model::fanout::{FanoutSummary, ProfileState};
use crate::model::results::ResultStore;
use crate::model::results::merge::append_attributed;
use crate::model::{KnownTenant, Profile};

/// One profile of a fan-out run.
#[derive(Debug, Clone)]
pub struct FanoutTarget {
    pub profile: Profile,
    /// The tenant's display name, when known (the profile's, learnt at an earlier run).
    pub tenant_name: Option<String>,
}

impl FanoutTarget {
    pub fn new(profile: Profile) -> Self {
        let tenant_name = profile.tenant_display_name().map(str::to_string);
        FanoutTarget {
            profile,
            tenant_name,
        }
    }

    /// The merged result's `Tenant`: the display name when known, else the domain (the
    /// DelegatedOrganization, the profile's tenant, else the UPN's domain).
    pub fn tenant_label(&self) -> String {
        if let Some(n) = self.tenant_name.as_deref().filter(|n| !n.trim().is_empty()) {
            return n.trim().to_string();
        }
        self.tenant_key()
    }

    /// The tenant the profile's requests go to (lower case), for the per-tenant limit.
    pub fn tenant_key(&self) -> String {
        self.profile.tenant_key()
    }
}

/// How a fan-out run goes.
#[derive(Clone)]
pub struct FanoutOptions {
    /// Profiles running at once (at least 1; default 8).
    pub concurrency: usize,
    /// Profiles running at once against one tenant (at least 1; default 2).
    pub per_tenant: usize,
    /// Who answers an interactive sign-in, one at a time; None: such profiles fail with
    /// "needs sign-in: run exo-connect login NAME".
    pub prompt: Option<Arc<dyn SignInPrompt>>,
    /// Called when profile `index` gets its turn in the sign-in queue and is about to ask the
    /// prompt (its silent sign-in failed again), with the token that skips it: the window opens
    /// that profile's sign-in dialog (with "Skip this tenant") here.
    pub on_signin_turn: Option<SignInTurn>,
}

/// See [`FanoutOptions::on_signin_turn`].
pub type SignInTurn = Arc<dyn Fn(usize, &CancellationToken) + Send + Sync>;

impl Default for FanoutOptions {
    fn default() -> Self {
        FanoutOptions {
            concurrency: 8,
            per_tenant: 2,
            prompt: None,
            on_signin_turn: None,
        }
    }
}

/// What a fan-out run says.
#[derive(Debug, Clone, PartialEq)]
pub enum FanoutEvent {
    /// Profile `index` (of the targets given) changed state.
    State {
        index: usize,
        profile: String,
        state: ProfileState,
    },
    /// The service named profile `index`'s tenant (asked once, after its first run that did
    /// not know it): keep `tenant` in the profile (`Profile::known_tenant`) so later runs know
    /// it without asking. Comes before the profile's Done.
    TenantNamed {
        index: usize,
        profile: String,
        tenant: KnownTenant,
    },
    /// Every profile is in a final state (after the start, or after a retry).
    Idle(FanoutSummary),
}

struct Slot {
    state: ProfileState,
    /// The rows of a done profile.
    rows: Option<ResultStore>,
    /// Skips this profile (a child of the run's cancel).
    skip: CancellationToken,
    /// What the service said the tenant is called, learnt in this run.
    learnt: Option<KnownTenant>,
}

pub(crate) struct Shared {
    connector: Connector,
    request: CmdletRequest,
    targets: Vec<FanoutTarget>,
    options: FanoutOptions,
    slots: Mutex<Vec<Slot>>,
    global: Arc<Semaphore>,
    tenants: Mutex<HashMap<String, Arc<Semaphore>>>,
    signin_queue: tokio::sync::Mutex<()>,
    /// Interactive sign-ins finished in the queue (a profile waiting behind one tries its
    /// cached sign-in again outside the queue, at the same time as the others).
    signed_in: AtomicUsize,
    cancel: Mutex<CancellationToken>,
    active: AtomicUsize,
    events: mpsc::UnboundedSender<FanoutEvent>,
}

impl Shared {
    fn set(&self, index: usize, state: ProfileState) {
        self.slots.lock().unwrap()[index].state = state.clone();
        let _ = self.events.send(FanoutEvent::State {
            index,
            profile: self.targets[index].profile.name.clone(),
            state,
        });
    }

    fn finish(&self, index: usize, state: ProfileState, rows: Option<ResultStore>) {
        self.slots.lock().unwrap()[index].rows = rows;
        self.set(index, state);
    }

    fn learnt(&self, index: usize, tenant: KnownTenant) {
        self.slots.lock().unwrap()[index].learnt = Some(tenant.clone());
        let _ = self.events.send(FanoutEvent::TenantNamed {
            index,
            profile: self.targets[index].profile.name.clone(),
            tenant,
        });
    }

    /// The merged result's `Tenant` of profile `index`: the name learnt in this run, else the
    /// target's label.
    fn tenant_label(&self, index: usize) -> String {
        let learnt = self.slots.lock().unwrap()[index]
            .learnt
            .as_ref()
            .and_then(|k| k.display_name.clone());
        learnt.unwrap_or_else(|| self.targets[index].tenant_label())
    }

    fn tenant_gate(&self, key: &str) -> Arc<Semaphore> {
        self.tenants
            .lock()
            .unwrap()
            .entry(key.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.options.per_tenant.max(1))))
            .clone()
    }

    fn summary(&self) -> FanoutSummary {
        FanoutSummary::of(self.slots.lock().unwrap().iter().map(|s| &s.state))
    }
}

/// A fan-out run under way. Cheap to clone; the run goes on when every handle is dropped (its
/// tasks end by themselves, or by [`FanoutHandle::cancel_all`]).
#[derive(Clone)]
pub struct FanoutHandle {
    shared: Arc<Shared>,
}

/// Starts a fan-out run of `request` over `targets` on the current tokio runtime. Events come
/// on the receiver (unbounded: the run never waits for its listener; the events are small).
pub fn start(
    connector: Connector,
    targets: Vec<FanoutTarget>,
    request: CmdletRequest,
    options: FanoutOptions,
) -> (FanoutHandle, mpsc::UnboundedReceiver<FanoutEvent>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let slots = targets
        .iter()
        .map(|_| Slot {
            state: ProfileState::Queued,
            rows: None,
            skip: CancellationToken::new(),
            learnt: None,
        })
        .collect();
    let shared = Arc::new(Shared {
        connector,
        request,
        global: Arc::new(Semaphore::new(options.concurrency.max(1))),
        targets,
        options,
        slots: Mutex::new(slots),
        tenants: Mutex::new(HashMap::new()),
        signin_queue: tokio::sync::Mutex::new(()),
        signed_in: AtomicUsize::new(0),
        cancel: Mutex::new(CancellationToken::new()),
        active: AtomicUsize::new(0),
        events: tx,
    });
    let handle = FanoutHandle { shared };
    let all: Vec<usize> = (0..handle.shared.targets.len()).collect();
    handle.launch(all);
    (handle, rx)
}

impl FanoutHandle {
    fn launch(&self, indices: Vec<usize>) {
        let cancel = self.shared.cancel.lock().unwrap().clone();
        if indices.is_empty() {
            let _ = self
                .shared
                .events
                .send(FanoutEvent::Idle(self.shared.summary()));
            return;
        }
        self.shared
            .active
            .fetch_add(indices.len(), Ordering::SeqCst);
        for index in indices {
            self.shared.set(index, ProfileState::Queued);
            let skip = cancel.child_token();
            self.shared.slots.lock().unwrap()[index].skip = skip.clone();
            let shared = self.shared.clone();
            let cancel = cancel.clone();
            tokio::spawn(async move {
                task::run_profile(&shared, index, cancel, skip).await;
                if shared.active.fetch_sub(1, Ordering::SeqCst) == 1 {
                    let _ = shared.events.send(FanoutEvent::Idle(shared.summary()));
                }
            });
        }
    }

    /// Cancels every profile not yet final (queued ones never start; running ones stop their
    /// requests and drop their rows).
    pub fn cancel_all(&self) {
        self.shared.cancel.lock().unwrap().cancel();
    }

    /// Skips profile `index` if it is not final yet (the window's "Skip this tenant" while it
    /// waits for or goes through its sign-in, or runs): it ends as Skipped, its rows dropped.
    pub fn skip(&self, index: usize) {
        if let Some(s) = self.shared.slots.lock().unwrap().get(index) {
            s.skip.cancel();
        }
    }

    /// Starts the failed and cancelled profiles again from nothing (their earlier rows are
    /// gone). Returns how many; does nothing while profiles are still running.
    pub fn retry_failed(&self) -> usize {
        if self.shared.active.load(Ordering::SeqCst) > 0 {
            return 0;
        }
        let indices: Vec<usize> = {
            let slots = self.shared.slots.lock().unwrap();
            (0..slots.len())
                .filter(|&i| {
                    matches!(
                        slots[i].state,
                        ProfileState::Failed { .. } | ProfileState::Cancelled
                    )
                })
                .collect()
        };
        let n = indices.len();
        {
            let mut c = self.shared.cancel.lock().unwrap();
            if c.is_cancelled() {
                *c = CancellationToken::new();
            }
        }
        if n > 0 {
            self.launch(indices);
        }
        n
    }

    /// Starts profile `index` again from nothing if it failed, was cancelled or skipped (the
    /// window's per-row Retry); true when it started. Not while a cancel of the run is still
    /// winding down.
    pub fn retry(&self, index: usize) -> bool {
        let again = matches!(
            self.shared
                .slots
                .lock()
                .unwrap()
                .get(index)
                .map(|s| &s.state),
            Some(
                ProfileState::Failed { .. }
                    | ProfileState::Cancelled
                    | ProfileState::Skipped { .. }
            )
        );
        if !again {
            return false;
        }
        {
            let mut c = self.shared.cancel.lock().unwrap();
            if c.is_cancelled() {
                if self.shared.active.load(Ordering::SeqCst) > 0 {
                    return false;
                }
                *c = CancellationToken::new();
            }
        }
        self.launch(vec![index]);
        true
    }

    /// Each profile's state, in the order of the targets.
    pub fn states(&self) -> Vec<ProfileState> {
        let slots = self.shared.slots.lock().unwrap();
        slots.iter().map(|s| s.state.clone()).collect()
    }

    pub fn targets(&self) -> &[FanoutTarget] {
        &self.shared.targets
    }

    pub fn summary(&self) -> FanoutSummary {
        self.shared.summary()
    }

    /// True while some profile is queued, signing in or running.
    pub fn is_running(&self) -> bool {
        self.shared.active.load(Ordering::SeqCst) > 0
    }

    /// The merged result of the done profiles, in the order of the targets: `Profile` and
    /// `Tenant` first, then the cmdlet's columns.
    pub fn merged(&self) -> ResultStore {
        let labels: Vec<String> = (0..self.shared.targets.len())
            .map(|i| self.shared.tenant_label(i))
            .collect();
        let slots = self.shared.slots.lock().unwrap();
        let mut merged = ResultStore::new();
        for ((t, s), tenant) in self.shared.targets.iter().zip(slots.iter()).zip(&labels) {
            if let Some(rows) = &s.rows {
                append_attributed(&mut merged, rows, &t.profile.name, tenant);
            }
        }
        merged.shrink_to_fit();
        merged
    }

    /// The done profiles' rows taken out of the run (it keeps none), in the order of the
    /// targets, each with its profile's name and `Tenant`: the parts of the merged result, for a
    /// caller that writes it without building it (`model::results::merge::Part`).
    pub fn take_parts(&self) -> Vec<(String, String, ResultStore)> {
        let labels: Vec<String> = (0..self.shared.targets.len())
            .map(|i| self.shared.tenant_label(i))
            .collect();
        let mut slots = self.shared.slots.lock().unwrap();
        let targets = &self.shared.targets;
        slots
            .iter_mut()
            .zip(targets.iter().zip(labels))
            .filter_map(|(s, (t, tenant))| Some((t.profile.name.clone(), tenant, s.rows.take()?)))
            .collect()
    }

    /// The `Tenant` of profile `index` in the merged result: the tenant's display name when
    /// known (from the profile, or learnt in this run), else its domain.
    pub fn tenant_label(&self, index: usize) -> String {
        self.shared.tenant_label(index)
    }

    /// The rows of one done profile, as the cmdlet gave them.
    pub fn rows_of(&self, index: usize) -> Option<ResultStore> {
        self.shared.slots.lock().unwrap()[index].rows.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tenant_is_the_display_name_else_the_domain() {
        let mut p = Profile::new(
            "Fab",
            "partner@litware.com",
            crate::model::Service::ExchangeOnline,
        );
        p.delegated_organization = Some("Cust001.onmicrosoft.com".into());
        let mut t = FanoutTarget::new(p);
        assert_eq!(t.tenant_label(), "cust001.onmicrosoft.com");
        assert_eq!(t.tenant_key(), "cust001.onmicrosoft.com");
        t.tenant_name = Some("Fabrikam Ltd".into());
        assert_eq!(t.tenant_label(), "Fabrikam Ltd");
        let own = FanoutTarget::new(Profile::new(
            "Own",
            "admin@contoso.com",
            crate::model::Service::ExchangeOnline,
        ));
        assert_eq!(own.tenant_label(), "contoso.com");
        // The name a profile learnt at an earlier run.
        let mut named = t.profile.clone();
        named.known_tenant = Some(KnownTenant::learnt(
            "cust001.onmicrosoft.com",
            Some("Cust One"),
        ));
        assert_eq!(FanoutTarget::new(named).tenant_label(), "Cust One");
    }
}
