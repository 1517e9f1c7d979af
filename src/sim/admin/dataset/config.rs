//! Seeded configuration objects of a tenant: accepted domains, organization config, transport
//! rules, retention policies, compliance searches.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value, json};

use super::{guid, initial_domain, primary_domain, rng_for, splitmix};
use crate::sim::world::Tenant;

/// Accepted domains of a tenant.
pub fn accepted_domains(tenant: &Tenant) -> Vec<Map<String, Value>> {
    let mut rng = ChaCha8Rng::seed_from_u64(splitmix(tenant.id.as_u64_pair().0));
    tenant
        .domains
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let mut m = Map::new();
            m.insert("Name".into(), d.clone().into());
            m.insert("Identity".into(), d.clone().into());
            m.insert("DomainName".into(), d.clone().into());
            m.insert("DomainType".into(), "Authoritative".into());
            m.insert(
                "Default".into(),
                (i == 1 || tenant.domains.len() == 1).into(),
            );
            m.insert("InitialDomain".into(), (i == 0).into());
            m.insert("AddressBookEnabled".into(), true.into());
            m.insert("Guid".into(), guid(&mut rng).to_string().into());
            m.insert("WhenCreated".into(), "2019-03-01T08:00:00+00:00".into());
            m
        })
        .collect()
}

/// Get-OrganizationConfig.
pub fn organization_config(tenant: &Tenant, eop: bool) -> Map<String, Value> {
    let initial = initial_domain(tenant);
    let mut m = Map::new();
    m.insert("Name".into(), initial.into());
    m.insert("Identity".into(), initial.into());
    m.insert("DisplayName".into(), tenant.display_name.clone().into());
    m.insert("Guid".into(), tenant.id.to_string().into());
    m.insert("IsDehydrated".into(), eop.into());
    m.insert("OAuth2ClientProfileEnabled".into(), true.into());
    m.insert("AuditDisabled".into(), false.into());
    m.insert("DefaultPublicFolderMailbox".into(), Value::Null);
    m.insert("MailTipsAllTipsEnabled".into(), true.into());
    m.insert("ExchangeVersion".into(), "0.20 (15.0.0.0)".into());
    m.insert("ObjectVersion".into(), 16133.into());
    m
}

/// The seeded transport rules of a tenant (the generated customers': [`customer_transport_rules`]).
pub fn seeded_transport_rules(seed: u64, tenant: &Tenant) -> Vec<Map<String, Value>> {
    if tenant.customer.is_some() {
        return customer_transport_rules(seed, tenant);
    }
    let mut rng = rng_for(seed, tenant, usize::MAX, 0x5452);
    [
        ("Block executable attachments", "Enforce", "Reject the message if attachment extension matches exe, bat, cmd"),
        ("External sender disclaimer", "Enforce", "Prepend the subject with '[EXTERNAL]' if the message is received from 'NotInOrganization'"),
        ("Journal legal department", "Audit", "Send a copy to legal-archive@ if sent to members of Legal"),
    ]
    .iter()
    .enumerate()
    .map(|(i, (name, mode, desc))| transport_rule(&mut rng, name, i, mode, desc, None))
    .collect()
}

/// The baseline rule set of the generated customers (name, mode, description).
const CUSTOMER_RULES: &[(&str, &str, &str)] = &[
    (
        "Block executable attachments",
        "Enforce",
        "Reject the message if attachment extension matches exe, bat, cmd, js",
    ),
    (
        "External sender disclaimer",
        "Enforce",
        "Prepend the subject with '[EXTERNAL]' if the message is received from 'NotInOrganization'",
    ),
    (
        "Block auto-forwarding to external domains",
        "Enforce",
        "Reject the message if the message type is 'AutoForward' and it is sent to 'NotInOrganization'",
    ),
    (
        "Encrypt mail to finance partners",
        "Enforce",
        "Apply Office 365 Message Encryption if the recipient domain is in the finance partner list",
    ),
    (
        "Quarantine CEO impersonation",
        "Enforce",
        "Deliver the message to the hosted quarantine if the sender display name matches the CEO's and the sender is 'NotInOrganization'",
    ),
    (
        "Journal legal department",
        "Audit",
        "Send a copy to legal-archive@ if sent to members of Legal",
    ),
];

/// A generated customer's transport rules: the baseline set, a little different per tenant so
/// a comparison has something to show. Customer 1 has the baseline exactly; customer 2 lacks
/// "Encrypt mail to finance partners"; customer 3 has "Quarantine CEO impersonation" Disabled and
/// the first two rules' priorities swapped; every other customer (seeded): each rule missing
/// with 10 %, Disabled with 10 %, in Audit mode with 5 %, neighbours' priorities swapped with
/// 15 %, and one extra local rule with 20 %.
pub fn customer_transport_rules(seed: u64, tenant: &Tenant) -> Vec<Map<String, Value>> {
    let n = tenant.customer.unwrap_or(0);
    let mut rng = rng_for(seed, tenant, usize::MAX, 0x4355_5354);
    let mut rows = Vec::new();
    for (name, mode, desc) in CUSTOMER_RULES {
        let (missing, disabled, audit) = match n {
            1 => (false, false, false),
            2 => (*name == "Encrypt mail to finance partners", false, false),
            3 => (false, *name == "Quarantine CEO impersonation", false),
            _ => (rng.gen_bool(0.10), rng.gen_bool(0.10), rng.gen_bool(0.05)),
        };
        if missing {
            continue;
        }
        let mode = if audit { "Audit" } else { *mode };
        let mut row = transport_rule(&mut rng, name, rows.len(), mode, desc, None);
        if disabled {
            row.insert("State".into(), "Disabled".into());
        }
        rows.push(row);
    }
    let swaps: Vec<usize> = match n {
        1 | 2 => Vec::new(),
        3 => vec![0],
        _ => (0..rows.len().saturating_sub(1))
            .filter(|_| rng.gen_bool(0.15))
            .collect(),
    };
    for i in swaps {
        let (a, b) = (rows[i]["Priority"].clone(), rows[i + 1]["Priority"].clone());
        rows[i].insert("Priority".into(), b);
        rows[i + 1].insert("Priority".into(), a);
    }
    // Listed in priority order, like the service.
    rows.sort_by_key(|r| r["Priority"].as_u64().unwrap_or(u64::MAX));
    if n > 3 && rng.gen_bool(0.20) {
        let name = format!("Tag mail from {}", primary_domain(tenant));
        let row = transport_rule(
            &mut rng,
            &name,
            rows.len(),
            "Enforce",
            "Append a disclaimer to messages sent from the vanity domain",
            Some("Local rule".into()),
        );
        rows.push(row);
    }
    rows
}

/// A transport rule object.
pub fn transport_rule(
    rng: &mut ChaCha8Rng,
    name: &str,
    priority: usize,
    mode: &str,
    description: &str,
    comments: Option<String>,
) -> Map<String, Value> {
    let id = guid(rng);
    let mut m = Map::new();
    m.insert("Name".into(), name.into());
    m.insert("Identity".into(), name.into());
    m.insert("Guid".into(), id.to_string().into());
    m.insert("ImmutableId".into(), id.to_string().into());
    m.insert("Priority".into(), priority.into());
    m.insert("State".into(), "Enabled".into());
    m.insert("Mode".into(), mode.into());
    m.insert("Description".into(), description.into());
    m.insert(
        "Comments".into(),
        comments.map(Value::from).unwrap_or(Value::Null),
    );
    m.insert("RuleVersion".into(), "15.0.5.0".into());
    m.insert("SenderAddressLocation".into(), "Header".into());
    m.insert("StopRuleProcessing".into(), false.into());
    m.insert("WhenChanged".into(), "2024-05-14T10:12:00+00:00".into());
    m
}

/// A fresh generator for objects created at runtime (rules added by New-TransportRule).
pub fn runtime_rng(seed: u64, tenant: &Tenant, counter: usize) -> ChaCha8Rng {
    rng_for(seed, tenant, counter, 0x4E45_5752)
}

/// Seeded retention compliance policies (Security & Compliance).
pub fn retention_policies(seed: u64, tenant: &Tenant) -> Vec<Map<String, Value>> {
    let mut rng = rng_for(seed, tenant, usize::MAX - 1, 0x5250);
    [
        (
            "Default Exchange retention",
            "Exchange mailboxes: retain 7 years",
        ),
        ("Finance records (10 years)", "SharePoint finance sites"),
        ("Teams chats 2 years", "Teams chats and channel messages"),
    ]
    .iter()
    .map(|(name, comment)| {
        let mut m = Map::new();
        m.insert("Name".into(), (*name).into());
        m.insert("Identity".into(), (*name).into());
        m.insert("Guid".into(), guid(&mut rng).to_string().into());
        m.insert("Comment".into(), (*comment).into());
        m.insert("Enabled".into(), true.into());
        m.insert("Mode".into(), "Enforce".into());
        m.insert("DistributionStatus".into(), "Success".into());
        m.insert("ExchangeLocation".into(), json!(["All"]));
        m.insert("SharePointLocation".into(), json!([]));
        m.insert("TeamsChatLocation".into(), json!([]));
        m.insert("WhenCreatedUTC".into(), "2023-01-10T09:00:00+00:00".into());
        m
    })
    .collect()
}

/// Seeded compliance searches (Security & Compliance).
pub fn compliance_searches(seed: u64, tenant: &Tenant) -> Vec<Map<String, Value>> {
    let mut rng = rng_for(seed, tenant, usize::MAX - 2, 0x4353);
    [
        (
            "Phishing cleanup 2025-11",
            "subject:\"Invoice overdue\"",
            "Completed",
        ),
        ("Legal hold — Projekt Ø", "from:legal@", "NotStarted"),
    ]
    .iter()
    .map(|(name, query, status)| {
        let mut m = Map::new();
        m.insert("Name".into(), (*name).into());
        m.insert("Identity".into(), guid(&mut rng).to_string().into());
        m.insert("ContentMatchQuery".into(), (*query).into());
        m.insert("Status".into(), (*status).into());
        m.insert("ExchangeLocation".into(), json!(["All"]));
        m.insert("Items".into(), rng.gen_range(0..5000).into());
        m.insert(
            "CreatedBy".into(),
            format!("admin@{}", primary_domain(tenant)).into(),
        );
        m
    })
    .collect()
}
