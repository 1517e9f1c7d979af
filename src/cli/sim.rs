//! `exo-connect sim ...` (issue: simulated tenant): runs the sim on loopback until Ctrl-C.
//!
//! The first lines are machine-readable (`key: value`: login, authority, exo, scc, scc-regional,
//! devicelogin, world — every tenant and account as JSON —, exo-alt and trap — the redirect
//! faults' targets —, client-id, seed, tenants-file), then the tenants, accounts and apps as
//! `tenant:` / `account:` / `app:` lines with `|`-separated fields (with many generated tenants
//! only the first five, then `tenants-more:` / `accounts-more:` lines and `tenants-slow:` /
//! `tenants-throttling:`), then how to sign in.
//! Every 30 s (at each TOTP step) a `totp: <upn> <code>` line per MFA account follows.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

use super::{CliError, CliResult};
use crate::sim::admin::FAULTS_HELP;
use crate::sim::auth::{PUBLIC_CLIENT_ID, totp};
use crate::sim::world::{Tenant, TenantBehaviour, TenantKind, User, World};
use crate::sim::{SimConfig, SimHandle};

/// `println!` that ignores a closed stdout (`exo-connect sim | head` must not panic).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Address of the sign-in listener (loopback only); the other listeners take random ports.
    #[arg(long, default_value = "127.0.0.1:0", value_name = "IP:PORT")]
    pub listen: SocketAddr,
    /// Mailboxes of the big worldwide tenant (Contoso).
    #[arg(long, default_value_t = 2500, value_name = "N")]
    pub mailboxes: usize,
    /// Seed of the generated world (GUIDs, TOTP secrets, mailbox data).
    #[arg(long, default_value_t = 1, value_name = "S")]
    pub seed: u64,
    /// Access token lifetime in seconds.
    #[arg(long, default_value_t = 3600, value_name = "SECS")]
    pub token_lifetime: u64,
    /// Fault injection spec for the admin API (`--help` lists the kinds).
    #[arg(long, default_value = "", value_name = "SPEC", long_help = FAULTS_HELP)]
    pub faults: String,
    /// Device-code polling interval in seconds (a faster poll answers slow_down).
    #[arg(long, default_value_t = 5, value_name = "SECS")]
    pub device_code_interval: u64,
    /// Requests of one tenant served at once; one more answers "maximum number of concurrent
    /// requests per tenant" (0 = no limit).
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub tenant_concurrency: usize,
    /// Status of that refusal: 429 or 503.
    #[arg(long, default_value_t = 429, value_name = "STATUS")]
    pub tenant_concurrency_status: u16,
    /// Also simulate the RETIRED remote PowerShell connection count (3 EXO, 5 EOP/SCC per 15
    /// minutes: "exceeded the maximum number of connections allowed"). Off by default: the REST
    /// API has no such count.
    #[arg(long)]
    pub legacy_connection_limits: bool,
    /// A redeemed refresh token stops working (a stricter server than Entra, which keeps old
    /// refresh tokens valid after handing out a new one).
    #[arg(long)]
    pub single_use_refresh_tokens: bool,
    /// Every token request waits this long (a real sign-in service's latency).
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub token_delay_ms: u64,
    /// Every InvokeCommand request (one page of a cmdlet's output) waits this long (a real
    /// admin API's latency per page).
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub page_delay_ms: u64,
    /// Generated customer tenants (cust001.onmicrosoft.com…), each with a non-MFA admin, plus
    /// the partner partner@litware.com (no MFA) delegated to all of them.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub tenants: usize,
    /// Mailboxes of each generated customer tenant.
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub customer_mailboxes: usize,
    /// How many generated customers answer slowly [default: 5 %, at least 1 from 4 customers].
    #[arg(long, value_name = "N")]
    pub slow_tenants: Option<usize>,
    /// Delay of every admin API answer of a slow tenant, in milliseconds.
    #[arg(long, default_value_t = 1500, value_name = "MS")]
    pub slow_tenant_delay_ms: u64,
    /// How many generated customers throttle (429 with Retry-After) [default: 5 %, at least 1
    /// from 4 customers].
    #[arg(long, value_name = "N")]
    pub throttle_tenants: Option<usize>,
    /// Retry-After (and length) of a throttling tenant's throttle periods, in seconds.
    #[arg(long, default_value_t = 2, value_name = "SECS")]
    pub throttle_retry_after: u64,
    /// Advertise this origin for the sign-in side (metadata, issuers, verification page)
    /// instead of the listener's, e.g. https://localhost:8443 behind a TLS front.
    #[arg(long, value_name = "URL")]
    pub public_login: Option<String>,
    /// Conditional access refuses the device-code flow for this account (AADSTS53003);
    /// repeatable.
    #[arg(long, value_name = "UPN")]
    pub block_device_code: Vec<String>,
    /// Rate limit: requests a tenant's token bucket holds (0 = no limit and no Rate-Limit-*
    /// headers).
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub rate_limit: u32,
    /// Rate limit: requests per second the bucket refills (fractions allowed).
    #[arg(long, default_value_t = 50.0, value_name = "R")]
    pub rate_limit_per_second: f64,
    /// One rate-limit bucket per account instead of per tenant.
    #[arg(long)]
    pub rate_limit_per_account: bool,
    /// Security & Compliance affinity: the regional redirect sets a cookie; requests without it
    /// get a second, slower redirect.
    #[arg(long)]
    pub scc_affinity: bool,
    /// Most requests in one $batch.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub batch_max_requests: usize,
    /// Refuse $batch with this status (404 or 501), like a service without it.
    #[arg(long, value_name = "STATUS")]
    pub refuse_batch: Option<u16>,
    /// Also write every tenant and account (the JSON of `GET <exo>/sim/world`) to this file.
    #[arg(long, value_name = "PATH")]
    pub tenants_file: Option<std::path::PathBuf>,
}

pub fn run(args: SimArgs) -> CliResult {
    let args_file = args.tenants_file.clone();
    let config = config_of(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async move {
        let handle = crate::sim::start(config.clone()).await.map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidInput {
                CliError::Usage(e.to_string())
            } else {
                CliError::Failed(format!(
                    "cannot listen on {}: {e} (pick another --listen port)",
                    config.listen
                ))
            }
        })?;
        if let Some(path) = &args_file {
            write_tenants_file(&handle, path)?;
        }
        print_banner(&handle, args_file.as_deref());
        let printer = tokio::spawn(print_codes_forever(
            handle
                .world()
                .users
                .iter()
                .filter(|u| u.mfa)
                .map(|u| (u.upn.clone(), u.totp_secret.clone()))
                .collect(),
        ));
        wait_for_stop().await;
        printer.abort();
        say!("stopping");
        handle.shutdown().await;
        say!("stopped");
        Ok(())
    })
}

/// The sim's configuration from the command line (bad values are usage errors).
fn config_of(args: SimArgs) -> Result<SimConfig, CliError> {
    if !args.listen.ip().is_loopback() {
        return Err(CliError::Usage(format!(
            "--listen {}: the simulated tenant serves plain http, so it only listens on a loopback \
             address (for example 127.0.0.1:0 or [::1]:8400)",
            args.listen
        )));
    }
    if ![429, 503].contains(&args.tenant_concurrency_status) {
        return Err(CliError::Usage(format!(
            "--tenant-concurrency-status {}: use 429 or 503",
            args.tenant_concurrency_status
        )));
    }
    if args.token_lifetime == 0 {
        return Err(CliError::Usage(
            "--token-lifetime must be at least 1 second".into(),
        ));
    }
    Ok(SimConfig {
        listen: args.listen,
        mailboxes: args.mailboxes,
        seed: args.seed,
        token_lifetime: Duration::from_secs(args.token_lifetime),
        faults: args.faults,
        device_code_interval: Duration::from_secs(args.device_code_interval),
        tenant_concurrency: args.tenant_concurrency,
        tenant_concurrency_status: args.tenant_concurrency_status,
        legacy_connection_limits: args.legacy_connection_limits,
        customer_tenants: args.tenants,
        customer_mailboxes: args.customer_mailboxes,
        slow_tenants: args.slow_tenants,
        slow_tenant_delay: Duration::from_millis(args.slow_tenant_delay_ms),
        throttled_tenants: args.throttle_tenants,
        throttle_retry_after: Duration::from_secs(args.throttle_retry_after),
        public_login: args.public_login,
        device_code_blocked: args.block_device_code,
        rate_limit_capacity: args.rate_limit,
        rate_limit_per_second: args.rate_limit_per_second,
        rate_limit_scope: if args.rate_limit_per_account {
            crate::sim::RateScope::Account
        } else {
            crate::sim::RateScope::Tenant
        },
        scc_affinity: args.scc_affinity,
        batch_max_requests: args.batch_max_requests,
        batch_refusal: args.refuse_batch,
        single_use_refresh_tokens: args.single_use_refresh_tokens,
        token_delay: Duration::from_millis(args.token_delay_ms),
        page_delay: Duration::from_millis(args.page_delay_ms),
        ..SimConfig::default()
    })
}

/// Writes the JSON of `GET <exo>/sim/world` to `path` (the `tenants-file:` line names it).
fn write_tenants_file(h: &SimHandle, path: &std::path::Path) -> CliResult {
    let text = serde_json::to_string_pretty(&h.world_json()).unwrap_or_default();
    std::fs::write(path, text + "\n").map_err(|e| {
        CliError::Failed(format!(
            "cannot write --tenants-file {}: {e}",
            path.display()
        ))
    })?;
    Ok(())
}

/// Ctrl-C (or SIGTERM on Unix).
async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn kind(k: TenantKind) -> &'static str {
    match k {
        TenantKind::Full => "exo+scc",
        TenantKind::EopStandalone => "eop-standalone",
        TenantKind::Partner => "partner",
    }
}

fn print_banner(h: &SimHandle, tenants_file: Option<&std::path::Path>) {
    print_urls(h);
    if let Some(p) = tenants_file {
        say!("tenants-file: {}", p.display());
    }
    say!();
    print_tenants(h);
    say!();
    print_accounts(h);
    say!();
    print_apps(h);
    say!();
    print_how_to_sign_in(h);
}

/// The machine-readable `key: value` lines.
fn print_urls(h: &SimHandle) {
    let u = h.urls();
    let w = h.world();
    say!("login: {}", u.login);
    say!("authority: {}", u.authority());
    say!("exo: {}", u.exo);
    say!("scc: {}", u.scc);
    say!("scc-regional: {}", u.scc_regional);
    say!("devicelogin: {}/devicelogin", u.login);
    say!("world: {}/sim/world", u.exo);
    say!("exo-alt: {}", h.fault_urls().exo_alt);
    say!("trap: {}", h.fault_urls().trap);
    say!("client-id: {PUBLIC_CLIENT_ID}");
    say!("seed: {}", w.seed);
}

/// With more generated customers than this, the banner lists only the first few of them.
const LIST_ALL_UP_TO: usize = 10;
const LIST_FIRST: usize = 5;

/// The customers the banner lists: all of them, or the first [`LIST_FIRST`].
fn listed(count: usize) -> usize {
    if count <= LIST_ALL_UP_TO {
        count
    } else {
        LIST_FIRST
    }
}

fn print_tenants(h: &SimHandle) {
    let w = h.world();
    say!("Simulated tenants:");
    let fixed = w.tenants.iter().filter(|t| t.customer.is_none());
    let customers: Vec<&Tenant> = w.customers().collect();
    for t in fixed.chain(customers.iter().copied().take(listed(customers.len()))) {
        print_tenant(w, t);
    }
    if customers.len() > listed(customers.len()) {
        say!(
            "tenants-more: {} more generated customer tenants, up to {}; every tenant and account: GET {}/sim/world",
            customers.len() - LIST_FIRST,
            customers
                .last()
                .map(|t| t.domains[0].as_str())
                .unwrap_or(""),
            h.urls().exo
        );
    }
    for b in [TenantBehaviour::Slow, TenantBehaviour::Throttling] {
        let these: Vec<&str> = customers
            .iter()
            .filter(|t| t.behaviour == b)
            .map(|t| t.domains[0].as_str())
            .collect();
        if !these.is_empty() {
            say!("tenants-{}: {}", b.label(), these.join(", "));
        }
    }
}

fn print_tenant(w: &World, t: &Tenant) {
    let delegated: Vec<&str> = t
        .delegated_customers
        .iter()
        .filter_map(|id| w.tenants.iter().find(|x| x.id == *id))
        .map(|x| x.domains[0].as_str())
        .collect();
    let delegated = match delegated.len() {
        0 => String::new(),
        n if n > LIST_ALL_UP_TO => format!(
            " | delegated: {}, … ({n} customers)",
            delegated[..LIST_FIRST].join(", ")
        ),
        _ => format!(" | delegated: {}", delegated.join(", ")),
    };
    let behaviour = match t.behaviour {
        TenantBehaviour::Normal => String::new(),
        b => format!(" | {}", b.label()),
    };
    say!(
        "tenant: {} | {} | id {} | {} | {:?} | mailboxes {}{delegated}{behaviour}",
        t.display_name,
        t.domains.join(", "),
        t.id,
        kind(t.kind),
        t.cloud,
        t.mailboxes,
    );
}

fn print_accounts(h: &SimHandle) {
    let w = h.world();
    say!("Accounts (demo passwords; MFA accounts show their current authenticator code):");
    let now = totp::now_unix();
    let is_customer_admin = |u: &User| {
        w.tenants
            .iter()
            .any(|t| t.id == u.tenant_id && t.customer.is_some())
    };
    let customer_admins = w.users.iter().filter(|u| is_customer_admin(u)).count();
    let shown = listed(customer_admins);
    let others = w.users.iter().filter(|u| !is_customer_admin(u));
    let admins = w.users.iter().filter(|u| is_customer_admin(u)).take(shown);
    for user in others.chain(admins) {
        let code = if user.mfa {
            totp::totp(&user.totp_secret, now).unwrap_or_default()
        } else {
            "-".into()
        };
        say!(
            "account: {} | password {} | mfa {} | totp {} | remote-powershell {} | {}",
            user.upn,
            user.password,
            if user.mfa { "yes" } else { "no" },
            code,
            if user.remote_powershell_enabled {
                "yes"
            } else {
                "no"
            },
            user.roles.join(", ")
        );
    }
    if customer_admins > shown {
        say!(
            "accounts-more: {} more customer admins (admin@custNNN.onmicrosoft.com, password {}); every account: GET {}/sim/world",
            customer_admins - shown,
            crate::sim::world::demo_password("admin@"),
            h.urls().exo
        );
    }
}

fn print_apps(h: &SimHandle) {
    let w = h.world();
    say!("App registrations (certificate sign-in; keys are in the handle, not printed):");
    for a in &w.apps {
        let tenant = w
            .tenants
            .iter()
            .find(|t| t.id == a.tenant_id)
            .map(|t| t.domains[0].as_str())
            .unwrap_or("?");
        say!(
            "app: {} | app-id {} | tenant {} | x5t {} | roles {}",
            a.display_name,
            a.app_id,
            tenant,
            a.x5t,
            if a.roles.is_empty() {
                "(none)".to_string()
            } else {
                a.roles.join(", ")
            }
        );
    }
}

fn print_how_to_sign_in(h: &SimHandle) {
    let u = h.urls();
    say!("Sign in with the device code flow:");
    say!(
        "  curl -s {}/organizations/oauth2/v2.0/devicecode -d client_id={PUBLIC_CLIENT_ID} \
         --data-urlencode 'scope={}/.default offline_access openid profile'",
        u.login,
        u.exo
    );
    say!(
        "  open {}/devicelogin, enter the user_code, an account and its password (and its code if MFA)",
        u.login
    );
    say!(
        "  curl -s {}/organizations/oauth2/v2.0/token -d client_id={PUBLIC_CLIENT_ID} \
         -d grant_type=urn:ietf:params:oauth:grant-type:device_code -d device_code=<device_code>",
        u.login
    );
    say!("Or without MFA, the password grant:");
    say!(
        "  curl -s {}/organizations/oauth2/v2.0/token -d client_id={PUBLIC_CLIENT_ID} -d grant_type=password \
         -d username=ops@contoso.com -d 'password=ops-Demo-2026!' --data-urlencode 'scope={}/.default'",
        u.login,
        u.exo
    );
    say!("Press Ctrl-C to stop.");
}

/// Prints each MFA account's code at every new 30 s step (like a phone would show it).
async fn print_codes_forever(accounts: Vec<(String, String)>) {
    loop {
        let now = totp::now_unix();
        let next = (now / totp::STEP_SECS + 1) * totp::STEP_SECS;
        tokio::time::sleep(Duration::from_secs(next - now)).await;
        let t = totp::now_unix();
        for (upn, secret) in &accounts {
            if let Some(code) = totp::totp(secret, t) {
                say!("totp: {upn} {code}");
            }
        }
    }
}
