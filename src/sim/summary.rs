//! The machine-readable description of a running sim: its URLs, every tenant (fixed and
//! generated) and every account with its demo password. Served at `GET <exo>/sim/world` and
//! written by `exo-connect sim --tenants-file PATH`, so scripts and tests find all of the
//! generated tenants without parsing the banner (which lists only the first few when there are
//! many). Never holds a token, a TOTP secret or a private key.

use serde_json::{Value, json};

use super::SimShared;
use super::world::{SimCloud, Tenant, TenantKind};

fn kind(k: TenantKind) -> &'static str {
    match k {
        TenantKind::Full => "exo+scc",
        TenantKind::EopStandalone => "eop-standalone",
        TenantKind::Partner => "partner",
    }
}

fn cloud(c: SimCloud) -> &'static str {
    match c {
        SimCloud::Worldwide => "Worldwide",
        SimCloud::GccHigh => "GccHigh",
    }
}

fn tenant(shared: &SimShared, t: &Tenant) -> Value {
    let w = &shared.world;
    let delegated: Vec<&str> = t
        .delegated_customers
        .iter()
        .filter_map(|id| w.tenants.iter().find(|x| x.id == *id))
        .map(|x| x.domains[0].as_str())
        .collect();
    json!({
        "name": t.display_name,
        "id": t.id.to_string(),
        "domains": t.domains,
        "kind": kind(t.kind),
        "cloud": cloud(t.cloud),
        "mailboxes": t.mailboxes,
        "customer": t.customer,
        "behaviour": t.behaviour.label(),
        "delegated": delegated,
    })
}

/// The whole description (see the module docs).
pub fn world(shared: &SimShared) -> Value {
    let w = &shared.world;
    let u = &shared.urls;
    let tenants: Vec<Value> = w.tenants.iter().map(|t| tenant(shared, t)).collect();
    let accounts: Vec<Value> = w
        .users
        .iter()
        .map(|user| {
            let home = w
                .tenants
                .iter()
                .find(|t| t.id == user.tenant_id)
                .map(|t| t.domains[0].as_str())
                .unwrap_or("?");
            json!({
                "upn": user.upn,
                "password": user.password,
                "tenant": home,
                "mfa": user.mfa,
                "remote_powershell": user.remote_powershell_enabled,
                "roles": user.roles,
            })
        })
        .collect();
    json!({
        "seed": w.seed,
        "login": u.login,
        "authority": u.authority(),
        "exo": u.exo,
        "scc": u.scc,
        "scc_regional": u.scc_regional,
        "customer_tenants": w.customers().count(),
        "tenants": tenants,
        "accounts": accounts,
    })
}
