//! `exo-connect sessions [--json] [--offline]`: the cached sign-ins (refresh tokens in the OS
//! keychain) per saved profile, with the expiry of the access token they give now.
//!
//! A command-line process has no live sessions of its own (they belong to the window's session
//! registry); what lasts between commands is the cached sign-in, so that is what is listed.
//! Without `--offline` each cached sign-in is redeemed once (silently) to show its account,
//! tenant and token expiry, or why it no longer works.

use clap::Args;
use serde::Serialize;

use super::{CliError, CliResult};
use crate::engine::auth::{authority_for, resource_for};
use crate::engine::secrets::{REFRESH_PREFIX, refresh_key};
use crate::model::Profile;

#[derive(Debug, Args)]
pub struct SessionsArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Do not contact the sign-in service: only list which profiles have a cached sign-in.
    #[arg(long)]
    pub offline: bool,
}

#[derive(Debug, Serialize)]
struct Row {
    profile: Option<String>,
    service: Option<String>,
    account: String,
    tenant: Option<String>,
    expires: Option<String>,
    status: String,
}

pub fn run(args: SessionsArgs) -> CliResult {
    let (store, _) = super::open_store()
        .map_err(|e| CliError::Failed(format!("cannot open the profile store: {e}")))?;
    let profiles: Vec<Profile> = store.profiles().to_vec();
    let rows = super::runtime()?.block_on(rows(&profiles, args.offline))?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".into())
        );
        return Ok(());
    }
    if rows.is_empty() {
        println!("No cached sign-ins. `exo-connect login NAME` signs in and caches the sign-in.");
        return Ok(());
    }
    print_table(&rows);
    Ok(())
}

/// One row per cached sign-in: the saved profiles' first, then keys no profile names.
async fn rows(profiles: &[Profile], offline: bool) -> Result<Vec<Row>, CliError> {
    let (cache, clients) = super::open_cache().await?;
    let mut keys = cache.secrets().keys(REFRESH_PREFIX).await;
    let mut rows = Vec::new();
    for p in profiles {
        let Ok(authority) = authority_for(p) else {
            continue;
        };
        let account = p.sign_in_account().to_string();
        let key = refresh_key(&authority, &account);
        let Some(pos) = keys.iter().position(|k| *k == key) else {
            continue;
        };
        keys.remove(pos);
        let mut row = Row {
            profile: Some(p.name.clone()),
            service: Some(p.service.short().to_string()),
            account,
            tenant: p.target_tenant().map(str::to_string),
            expires: None,
            status: "cached".into(),
        };
        if !offline && resource_for(p).is_ok() {
            let signed = match clients.for_profile(p).await {
                Ok(http) => cache.sign_in_silent(p, Some(&http)).await,
                Err(e) => Err(crate::engine::auth::SignInError::Config(e.0)),
            };
            match signed {
                Ok(s) => {
                    row.account = s.account;
                    row.tenant = Some(s.tenant_id);
                    row.expires = Some(
                        s.expires_at
                            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    );
                    row.status = "valid".into();
                }
                Err(e) => row.status = format!("not usable: {}", e.explanation()),
            }
        }
        rows.push(row);
    }
    for k in keys {
        // rt|host|tenant|account without a saved profile.
        let parts: Vec<&str> = k.splitn(4, '|').collect();
        if parts.len() == 4 {
            rows.push(Row {
                profile: None,
                service: None,
                account: parts[3].to_string(),
                tenant: Some(parts[2].to_string()),
                expires: None,
                status: format!("cached (no saved profile; {})", parts[1]),
            });
        }
    }
    Ok(rows)
}

fn print_table(rows: &[Row]) {
    use crate::model::results::{Cell, ResultStore, write::write_table};
    let mut table = ResultStore::new();
    for r in rows {
        let mut w = table.begin_row();
        let text = |s: &Option<String>| s.clone().unwrap_or_default();
        for (name, value) in [
            ("Profile", text(&r.profile)),
            ("Service", text(&r.service)),
            ("Account", r.account.clone()),
            ("Tenant", text(&r.tenant)),
            ("Expires", text(&r.expires)),
            ("Status", r.status.clone()),
        ] {
            w.push(name, Cell::Str(&value));
        }
        w.finish();
    }
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(160);
    let mut out = std::io::stdout().lock();
    let _ = write_table(&table, width, &mut out);
}
