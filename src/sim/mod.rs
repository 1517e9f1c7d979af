//! The simulated tenant: an independent server implementation of the wire protocol in
//! `shared/reference/exchange-online-protocol.md` (Entra v2 sign-in + the Exchange admin API).
//!
//! Parts: [`world`] (tenants, accounts, `--tenants N` customers), [`tokens`], [`cae`]
//! (sessions and revocations), [`load`] (requests at once), [`auth`] (sign-in), [`admin`]
//! (the admin API, its faults, limits, cmdlet catalogue, `$batch`), [`summary`]
//! (`GET <exo>/sim/world`). Everything is
//! deterministic from `SimConfig::seed` except the random token strings. Tests and demo mode
//! start it in-process with [`start`]; the handle ([`SimHandle`]) reaches its state
//! (`admin.inject_spec`, `admin.requests`, `admin.trap_hits`, `admin.refuse_batch`,
//! `admin.set_scc_affinity`, `auth.block_device_code`, `revoke_account`, `revoke_token`,
//! `world_json`, `fault_urls`, …).
//!
//! Rule: nothing in `src/sim` imports client-side code (`crate::engine`, `crate::model`,
//! `crate::cli`, `crate::ui`). If both sides shared a parser, a bug in it would be invisible.

pub mod cae;
pub mod load;
pub mod summary;
pub mod tokens;
pub mod world;

use std::net::SocketAddr;
use std::time::Duration;

/// Whose requests share a rate-limit bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RateScope {
    /// One bucket per tenant.
    #[default]
    Tenant,
    /// One bucket per (tenant, account).
    Account,
}

/// How a simulated tenant is started (the `exo-connect sim` flags map onto this).
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Address of the sign-in listener; the other listeners bind the same IP on random ports.
    /// Default `127.0.0.1:0`.
    pub listen: SocketAddr,
    /// Mailboxes of the big worldwide tenant.
    pub mailboxes: usize,
    /// Seed of the generated world (tenants, users, mailboxes, TOTP secrets).
    pub seed: u64,
    /// Access token lifetime (default 3600 s; tests use seconds).
    pub token_lifetime: Duration,
    /// Fault injection spec (see `faults` once it exists); empty = none.
    pub faults: String,
    /// Requests of one tenant the admin API serves at once (0 = no limit; default 10). One more
    /// answers "You have reached the maximum number of concurrent requests per tenant. Please
    /// wait and try again" with `tenant_concurrency_status`.
    pub tenant_concurrency: usize,
    /// 429 (default) or 503: the status of the concurrency refusal.
    pub tenant_concurrency_status: u16,
    /// Simulate the RETIRED remote PowerShell connection count (off by default: the REST API
    /// has none): distinct `connection-id`s per (tenant, user, service) within
    /// `connection_window`; one more than the cap answers 400 "Fail to create a runspace because
    /// you have exceeded the maximum number of connections allowed : N".
    pub legacy_connection_limits: bool,
    /// The legacy cap (None = 3 EXO, 5 EOP/SCC). Some(n) also turns the legacy count on.
    pub connection_cap: Option<usize>,
    pub connection_window: Duration,
    /// Generated customer tenants (`--tenants N`, default 0): `cust001.onmicrosoft.com`… each
    /// with an admin account, plus the partner `partner@litware.com` delegated to all of them
    /// (see [`world::customers`]).
    pub customer_tenants: usize,
    /// Mailboxes of each generated customer tenant (default 50).
    pub customer_mailboxes: usize,
    /// How many generated customers answer slowly (None = 5 %, at least 1 from 4 customers).
    pub slow_tenants: Option<usize>,
    /// The delay of every admin API request of a slow tenant (default 1500 ms).
    pub slow_tenant_delay: Duration,
    /// How many generated customers throttle (None = 5 %, at least 1 from 4 customers).
    pub throttled_tenants: Option<usize>,
    /// A throttling tenant's period: 429 with `Retry-After` (whole seconds left) for this long
    /// (default 2 s), from its first request and again after every `throttle_every` requests
    /// served (default 25).
    pub throttle_retry_after: Duration,
    pub throttle_every: u32,
    /// The origin the sign-in side advertises instead of its listener's (OpenID metadata,
    /// issuers, `verification_uri`), for a TLS front in front of it: e.g.
    /// `https://localhost:8443` (`--public-login`). The listener still binds `listen`.
    pub public_login: Option<String>,
    /// Accounts (UPNs) for which conditional access blocks the device-code flow (AADSTS53003;
    /// `--block-device-code UPN`, or `SimHandle::auth.block_device_code` at run time).
    pub device_code_blocked: Vec<String>,
    /// Requests a rate-limit bucket holds (default 1000; 0 = no rate limit and no
    /// `Rate-Limit-*` headers); see `admin::limits`.
    pub rate_limit_capacity: u32,
    /// Requests per second the bucket refills (default 50).
    pub rate_limit_per_second: f64,
    /// One bucket per tenant (default) or per account.
    pub rate_limit_scope: RateScope,
    /// Security & Compliance affinity (off by default; the handle's `admin.set_scc_affinity`
    /// turns it on too): the global host's redirect sets an `ExoAffinity` cookie; a request on
    /// the regional host without it waits `scc_affinity_penalty` and gets a second redirect.
    pub scc_affinity: bool,
    /// The misrouted request's extra wait (default 300 ms).
    pub scc_affinity_penalty: Duration,
    /// Most requests in one `$batch` (default 20; more answers 400).
    pub batch_max_requests: usize,
    /// Refuse `$batch` with this status (404 or 501; `--refuse-batch`), None = supported.
    pub batch_refusal: Option<u16>,
    /// Device codes expire after this long (`expires_in`; default 900 s).
    pub device_code_lifetime: Duration,
    /// Device-code polling `interval` (default 5 s; a faster poll answers `slow_down`; 0 = no limit).
    pub device_code_interval: Duration,
    /// Authorization codes (PKCE flow) expire after this long (default 60 s).
    pub auth_code_lifetime: Duration,
    /// A redeemed refresh token stops working (AADSTS70008 afterwards). Off by default, as in
    /// Entra, which "doesn't revoke old refresh tokens when used to fetch new access tokens"
    /// (each redemption still hands out a new one); on for a stricter server
    /// (`--single-use-refresh-tokens`).
    pub single_use_refresh_tokens: bool,
    /// Every token request waits this long before it is answered (a real sign-in service
    /// takes ~100–300 ms; default 0).
    pub token_delay: Duration,
    /// Every InvokeCommand request (one page of a cmdlet's output) waits this long before it is
    /// answered, on top of the slow tenants' delay (a real admin API takes from a few hundred
    /// ms to about a second a page; default 0).
    pub page_delay: Duration,
}

impl SimConfig {
    /// The generated customers this configuration asks for.
    pub fn customer_spec(&self) -> world::CustomerSpec {
        let share = world::CustomerSpec::default_share(self.customer_tenants);
        world::CustomerSpec {
            tenants: self.customer_tenants,
            mailboxes: self.customer_mailboxes,
            slow: self.slow_tenants.unwrap_or(share),
            throttling: self.throttled_tenants.unwrap_or(share),
        }
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            mailboxes: 2500,
            seed: 1,
            token_lifetime: Duration::from_secs(3600),
            faults: String::new(),
            tenant_concurrency: 10,
            tenant_concurrency_status: 429,
            legacy_connection_limits: false,
            connection_cap: None,
            connection_window: Duration::from_secs(15 * 60),
            customer_tenants: 0,
            customer_mailboxes: 50,
            slow_tenants: None,
            slow_tenant_delay: Duration::from_millis(1500),
            throttled_tenants: None,
            throttle_retry_after: Duration::from_secs(2),
            throttle_every: 25,
            public_login: None,
            rate_limit_capacity: 1000,
            rate_limit_per_second: 50.0,
            rate_limit_scope: RateScope::Tenant,
            scc_affinity: false,
            scc_affinity_penalty: Duration::from_millis(300),
            batch_max_requests: 20,
            batch_refusal: None,
            device_code_blocked: Vec::new(),
            device_code_lifetime: Duration::from_secs(900),
            device_code_interval: Duration::from_secs(5),
            auth_code_lifetime: Duration::from_secs(60),
            single_use_refresh_tokens: false,
            token_delay: Duration::ZERO,
            page_delay: Duration::ZERO,
        }
    }
}

pub mod admin;
pub mod auth;

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

/// The base URLs (origins, no trailing slash) of a running sim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimUrls {
    /// Entra-like sign-in host: `<login>/{tenant}/oauth2/v2.0/...`, `<login>/devicelogin`.
    pub login: String,
    /// Exchange Online admin API host (EXO and EOP); also the EXO token resource.
    pub exo: String,
    /// Security & Compliance global host: answers 302 to `scc_regional`; also the SCC token resource.
    pub scc: String,
    /// Security & Compliance regional host (where SCC cmdlets really run).
    pub scc_regional: String,
}

impl SimUrls {
    /// The default authority: `<login>/organizations`.
    pub fn authority(&self) -> String {
        format!("{}/organizations", self.login)
    }
}

/// The extra listeners the faults use (see `admin::faults`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultUrls {
    /// A second EXO listener (same IP, another port, same token audience as `exo`), like the
    /// prefixed host the service may redirect to: the `redirect` fault's target.
    pub exo_alt: String,
    /// A listener on ANOTHER loopback host (127.0.0.2, or `localhost`): the target of the
    /// `evilredirect` and `foreignnext` faults. A client must never send it a token.
    pub trap: String,
}

/// Everything the two halves of the sim share (read-only after start).
#[derive(Debug)]
pub struct SimShared {
    pub config: SimConfig,
    pub urls: SimUrls,
    pub fault_urls: FaultUrls,
    pub world: World,
    /// Sign-in sessions and their revocations (continuous access evaluation).
    pub cae: cae::Cae,
    pub keys: tokens::SimKeys,
    /// Token and admin API requests being answered now (and the most at once).
    pub requests: load::InFlight,
}

/// A running sim. Dropping the handle (or calling [`SimHandle::shutdown`]) stops every listener.
pub struct SimHandle {
    pub shared: Arc<SimShared>,
    auth_listener: String,
    pub auth: Arc<auth::AuthState>,
    pub admin: Arc<admin::AdminApi>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

pub use world::World;

impl SimHandle {
    pub fn urls(&self) -> &SimUrls {
        &self.shared.urls
    }
    /// The sign-in listener's own origin (differs from `urls().login` with `public_login`).
    pub fn auth_listener(&self) -> String {
        self.auth_listener.clone()
    }
    /// The alternate EXO host and the trap host (the redirect faults' targets).
    pub fn fault_urls(&self) -> &FaultUrls {
        &self.shared.fault_urls
    }
    pub fn world(&self) -> &World {
        &self.shared.world
    }
    /// The description served at `GET <exo>/sim/world` (every tenant and account; see
    /// [`summary`]).
    pub fn world_json(&self) -> serde_json::Value {
        summary::world(&self.shared)
    }
    /// Continuous access evaluation: revokes every current session of an account (its later
    /// admin API requests answer 401 `insufficient_claims`); returns the claims challenge JSON a
    /// new token request must carry (see [`cae`]).
    pub fn revoke_account(&self, upn: &str) -> String {
        self.shared.cae.revoke_account(upn).challenge()
    }

    /// Revokes the session an access token belongs to (tokens without a session: the account);
    /// returns the claims challenge JSON.
    pub fn revoke_token(&self, access_token: &str) -> Result<String, String> {
        let t = self
            .shared
            .keys
            .decode_token(access_token)
            .map_err(|e| format!("not a token of this sim: {e}"))?;
        if let Some(r) = t
            .sid
            .as_deref()
            .and_then(|s| self.shared.cae.revoke_session(s))
        {
            return Ok(r.challenge());
        }
        let upn = t
            .claims
            .upn
            .ok_or("an app-only token has no session to revoke")?;
        Ok(self.revoke_account(&upn))
    }

    /// The most requests (token requests and admin API requests of every tenant together) the
    /// sim was answering at once since start.
    pub fn most_requests_at_once(&self) -> usize {
        self.shared.requests.most()
    }

    /// Stops the listeners and waits for them.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Refuses a configuration that cannot work, saying what to fix.
fn check_config(config: &SimConfig) -> Result<(), String> {
    admin::parse_spec(&config.faults)?;
    if let Some(p) = &config.public_login {
        let ok = url::Url::parse(p).is_ok_and(|u| {
            matches!(u.scheme(), "https" | "http") && u.host().is_some() && u.path() == "/"
        });
        if !ok {
            return Err(format!(
                "public_login {p}: give an origin such as https://localhost:8443 (no path)"
            ));
        }
    }
    if let Some(s) = config.batch_refusal
        && s != 404
        && s != 501
    {
        return Err(format!("batch_refusal {s} must be 404 or 501"));
    }
    if config.rate_limit_capacity > 0
        && !(config.rate_limit_per_second.is_finite() && config.rate_limit_per_second > 0.0)
    {
        return Err("rate_limit_per_second must be a positive number".into());
    }
    if config.batch_max_requests == 0 {
        return Err("batch_max_requests must be at least 1".into());
    }
    if config.throttle_every == 0 {
        return Err("throttle_every must be at least 1".into());
    }
    if ![429, 503].contains(&config.tenant_concurrency_status) {
        return Err(format!(
            "tenant_concurrency_status {} must be 429 or 503",
            config.tenant_concurrency_status
        ));
    }
    Ok(())
}

/// Starts the sim on loopback: six listeners on the IP of `config.listen` (sign-in — on its
/// port —, EXO, SCC global, SCC regional, the alternate EXO host; random ports) and the trap on
/// another loopback host (see [`FaultUrls`]).
pub async fn start(config: SimConfig) -> std::io::Result<SimHandle> {
    check_config(&config).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let ip = config.listen.ip();
    let login = TcpListener::bind(config.listen).await?;
    let exo = TcpListener::bind((ip, 0)).await?;
    let scc = TcpListener::bind((ip, 0)).await?;
    let scc_regional = TcpListener::bind((ip, 0)).await?;
    let exo_alt = TcpListener::bind((ip, 0)).await?;
    let (trap, trap_host) = bind_trap(ip).await?;
    let auth_listener = origin(&login, None)?;
    let urls = SimUrls {
        login: match &config.public_login {
            Some(p) => p.trim_end_matches('/').to_string(),
            None => origin(&login, None)?,
        },
        exo: origin(&exo, None)?,
        scc: origin(&scc, None)?,
        scc_regional: origin(&scc_regional, None)?,
    };
    let fault_urls = FaultUrls {
        exo_alt: origin(&exo_alt, None)?,
        trap: origin(&trap, trap_host)?,
    };
    let mut world = World::seeded(config.seed, config.mailboxes);
    world.add_customers(&config.customer_spec());
    let apps = auth::certs::seeded_apps(config.seed, &world);
    world.apps.extend(apps);
    let keys = tokens::SimKeys::generate(config.seed);
    let shared = Arc::new(SimShared {
        config,
        urls,
        fault_urls,
        world,
        cae: cae::Cae::default(),
        keys,
        requests: load::InFlight::default(),
    });
    let auth_state = auth::AuthState::new(shared.clone());
    let admin_api = admin::AdminApi::new(shared.clone());
    let (stop, stop_rx) = watch::channel(false);
    let routers = [
        (login, auth::router(auth_state.clone())),
        (exo, admin_api.router(admin::AdminHost::Exo)),
        (scc, admin_api.router(admin::AdminHost::SccGlobal)),
        (
            scc_regional,
            admin_api.router(admin::AdminHost::SccRegional),
        ),
        (exo_alt, admin_api.router(admin::AdminHost::ExoAlt)),
        (trap, admin_api.trap_router()),
    ];
    let tasks = routers
        .into_iter()
        .map(|(listener, router)| serve(listener, router, stop_rx.clone()))
        .collect();
    Ok(SimHandle {
        shared,
        auth_listener,
        auth: auth_state,
        admin: admin_api,
        stop,
        tasks,
    })
}

/// `http://ip:port` of a listener (or `http://<host>:port` when given).
fn origin(l: &TcpListener, host: Option<&str>) -> std::io::Result<String> {
    let a = l.local_addr()?;
    Ok(match (host, a) {
        (Some(h), a) => format!("http://{h}:{}", a.port()),
        (None, SocketAddr::V4(v4)) => format!("http://{}:{}", v4.ip(), v4.port()),
        (None, SocketAddr::V6(v6)) => format!("http://[{}]:{}", v6.ip(), v6.port()),
    })
}

/// The trap listens on another loopback host: 127.0.0.2 next to 127.0.0.1 (Linux has all of
/// 127/8), else the same address under the name `localhost`.
async fn bind_trap(ip: std::net::IpAddr) -> std::io::Result<(TcpListener, Option<&'static str>)> {
    if ip == std::net::IpAddr::from([127, 0, 0, 1])
        && let Ok(l) = TcpListener::bind(SocketAddr::from(([127, 0, 0, 2], 0))).await
    {
        return Ok((l, None));
    }
    Ok((TcpListener::bind((ip, 0)).await?, Some("localhost")))
}

fn serve(
    listener: TcpListener,
    router: axum::Router,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        })
        .await;
    })
}
