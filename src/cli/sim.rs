//! `exo-connect sim ...` (issue: simulated tenant): runs the sim on loopback until Ctrl-C.
//!
//! The first lines are machine-readable (`key: value`), then the tenants, accounts and apps as
//! `tenant:` / `account:` / `app:` lines with `|`-separated fields, then how to sign in.
//! Every 30 s (at each TOTP step) a `totp: <upn> <code>` line per MFA account follows.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

use super::{CliError, CliResult};
use crate::sim::admin::FAULTS_HELP;
use crate::sim::auth::{PUBLIC_CLIENT_ID, totp};
use crate::sim::world::TenantKind;
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
}

pub fn run(args: SimArgs) -> CliResult {
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
    let config = SimConfig {
        listen: args.listen,
        mailboxes: args.mailboxes,
        seed: args.seed,
        token_lifetime: Duration::from_secs(args.token_lifetime),
        faults: args.faults,
        device_code_interval: Duration::from_secs(args.device_code_interval),
        tenant_concurrency: args.tenant_concurrency,
        tenant_concurrency_status: args.tenant_concurrency_status,
        legacy_connection_limits: args.legacy_connection_limits,
        ..SimConfig::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async move {
        let handle = crate::sim::start(config.clone()).await.map_err(|e| {
            CliError::Failed(format!(
                "cannot listen on {}: {e} (pick another --listen port)",
                config.listen
            ))
        })?;
        print_banner(&handle);
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

fn print_banner(h: &SimHandle) {
    print_urls(h);
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
    say!("client-id: {PUBLIC_CLIENT_ID}");
    say!("seed: {}", w.seed);
}

fn print_tenants(h: &SimHandle) {
    let w = h.world();
    say!("Simulated tenants:");
    for t in &w.tenants {
        let delegated: Vec<String> = t
            .delegated_customers
            .iter()
            .filter_map(|id| w.tenants.iter().find(|x| x.id == *id))
            .map(|x| x.domains[0].clone())
            .collect();
        say!(
            "tenant: {} | {} | id {} | {} | {:?} | mailboxes {}{}",
            t.display_name,
            t.domains.join(", "),
            t.id,
            kind(t.kind),
            t.cloud,
            t.mailboxes,
            if delegated.is_empty() {
                String::new()
            } else {
                format!(" | delegated: {}", delegated.join(", "))
            }
        );
    }
}

fn print_accounts(h: &SimHandle) {
    let w = h.world();
    say!("Accounts (demo passwords; MFA accounts show their current authenticator code):");
    let now = totp::now_unix();
    for user in &w.users {
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
