//! Small plausible datasets for the protection and compliance cmdlets: connectors, anti-spam and
//! anti-malware policies, quarantined messages, message trace, DLP policies. Deterministic from
//! (seed, tenant).

use rand::Rng;
use serde_json::{Map, Value, json};

use super::{guid, initial_domain, iso, primary_domain, rng_for};
use crate::sim::admin::cmdlets::param_list;
use crate::sim::world::Tenant;

fn obj(pairs: Vec<(&str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Get-InboundConnector: a partner connector (TLS required).
pub fn inbound_connectors(seed: u64, tenant: &Tenant) -> Vec<Map<String, Value>> {
    let mut rng = rng_for(seed, tenant, usize::MAX - 3, 0x494E);
    vec![obj(vec![
        ("Name", "Partner relay (TLS)".into()),
        ("Identity", "Partner relay (TLS)".into()),
        ("Guid", guid(&mut rng).to_string().into()),
        ("Enabled", true.into()),
        ("ConnectorType", "Partner".into()),
        ("ConnectorSource", "Default".into()),
        ("SenderDomains", json!(["smtp:partner.example;1"])),
        ("RequireTls", true.into()),
        ("RestrictDomainsToCertificate", false.into()),
        ("TlsSenderCertificateName", "mail.partner.example".into()),
        ("WhenCreated", "2022-09-12T10:00:00+00:00".into()),
    ])]
}

/// Get-OutboundConnector: smart host for one partner domain.
pub fn outbound_connectors(seed: u64, tenant: &Tenant) -> Vec<Map<String, Value>> {
    let mut rng = rng_for(seed, tenant, usize::MAX - 4, 0x4F55);
    vec![obj(vec![
        ("Name", "To partner (smart host)".into()),
        ("Identity", "To partner (smart host)".into()),
        ("Guid", guid(&mut rng).to_string().into()),
        ("Enabled", true.into()),
        ("ConnectorType", "Partner".into()),
        ("RecipientDomains", json!(["partner.example"])),
        ("SmartHosts", json!(["relay.partner.example"])),
        ("UseMXRecord", false.into()),
        ("TlsSettings", "DomainValidation".into()),
        ("TlsDomain", "relay.partner.example".into()),
        ("WhenCreated", "2022-09-12T10:05:00+00:00".into()),
    ])]
}

/// Get-HostedContentFilterPolicy: the default anti-spam policy and a strict one.
pub fn content_filter_policies(seed: u64, tenant: &Tenant) -> Vec<Map<String, Value>> {
    let mut rng = rng_for(seed, tenant, usize::MAX - 5, 0x4843);
    [
        ("Default", "MoveToJmf", 7, true),
        ("Strict Preset Security Policy", "Quarantine", 5, false),
    ]
    .iter()
    .map(|(name, action, bulk, default)| {
        obj(vec![
            ("Name", (*name).into()),
            ("Identity", (*name).into()),
            ("Guid", guid(&mut rng).to_string().into()),
            ("IsDefault", (*default).into()),
            ("SpamAction", (*action).into()),
            ("HighConfidenceSpamAction", "Quarantine".into()),
            ("PhishSpamAction", "Quarantine".into()),
            ("BulkThreshold", (*bulk).into()),
            ("QuarantineRetentionPeriod", 30.into()),
            ("AllowedSenderDomains", json!([])),
            ("BlockedSenderDomains", json!(["spam.example"])),
        ])
    })
    .collect()
}

/// Get-MalwareFilterPolicy: the default policy.
pub fn malware_filter_policies(seed: u64, tenant: &Tenant) -> Vec<Map<String, Value>> {
    let mut rng = rng_for(seed, tenant, usize::MAX - 6, 0x4D46);
    vec![obj(vec![
        ("Name", "Default".into()),
        ("Identity", "Default".into()),
        ("Guid", guid(&mut rng).to_string().into()),
        ("IsDefault", true.into()),
        ("EnableFileFilter", true.into()),
        (
            "FileTypes",
            json!(["ace", "ani", "app", "exe", "iso", "jar", "js", "vbs"]),
        ),
        ("FileTypeAction", "Reject".into()),
        ("ZapEnabled", true.into()),
        ("EnableInternalSenderAdminNotifications", false.into()),
    ])]
}

/// Get-QuarantineMessage: 25 quarantined messages to the tenant's domain.
pub fn quarantine_messages(seed: u64, tenant: &Tenant) -> Vec<Map<String, Value>> {
    let mut rng = rng_for(seed, tenant, usize::MAX - 7, 0x5155);
    let domain = primary_domain(tenant);
    let types = ["Spam", "HighConfPhish", "Phish", "Malware", "Bulk"];
    let subjects = [
        "Invoice overdue",
        "Your parcel is waiting",
        "Password expires today",
        "Win a prize",
        "Quarterly newsletter",
    ];
    (0..25)
        .map(|i| {
            let t = types[rng.gen_range(0..types.len())];
            let received = chrono::DateTime::parse_from_rfc3339("2026-11-01T06:00:00Z")
                .expect("constant date")
                .with_timezone(&chrono::Utc)
                + chrono::Duration::minutes(rng.gen_range(0..40_000));
            let id = format!("{}\\{}", guid(&mut rng), guid(&mut rng));
            obj(vec![
                ("Identity", id.into()),
                (
                    "MessageId",
                    format!("<{}@mail.spam.example>", guid(&mut rng).simple()).into(),
                ),
                ("SenderAddress", format!("noreply{i}@spam.example").into()),
                (
                    "RecipientAddress",
                    json!([format!("user{:03}@{domain}", rng.gen_range(0..500))]),
                ),
                ("Subject", subjects[rng.gen_range(0..subjects.len())].into()),
                ("ReceivedTime", iso(received).into()),
                ("Expires", iso(received + chrono::Duration::days(30)).into()),
                ("QuarantineTypes", t.into()),
                ("Type", t.into()),
                ("Size", rng.gen_range(2_000..90_000).into()),
                ("Direction", "Inbound".into()),
                ("Released", false.into()),
            ])
        })
        .collect()
}

/// Get-MessageTrace: 200 messages of the last days between the tenant's users and outside,
/// filtered by `-SenderAddress`, `-RecipientAddress` and `-Status`.
pub fn message_trace(
    seed: u64,
    tenant: &Tenant,
    params: &Map<String, Value>,
) -> Vec<Map<String, Value>> {
    let mut rng = rng_for(seed, tenant, usize::MAX - 8, 0x4D54);
    let domain = primary_domain(tenant);
    let statuses = [
        "Delivered",
        "Delivered",
        "Delivered",
        "Expanded",
        "Failed",
        "FilteredAsSpam",
        "Quarantined",
    ];
    let rows: Vec<Map<String, Value>> = (0..200)
        .map(|i| {
            let inbound = rng.gen_bool(0.5);
            let inside = format!("user{:03}@{domain}", rng.gen_range(0..500));
            let outside = format!("contact{:03}@partner.example", rng.gen_range(0..100));
            let (from, to) = if inbound {
                (outside, inside)
            } else {
                (inside, outside)
            };
            let received = chrono::DateTime::parse_from_rfc3339("2026-11-20T00:00:00Z")
                .expect("constant date")
                .with_timezone(&chrono::Utc)
                + chrono::Duration::seconds(i * 3000 + rng.gen_range(0..3000));
            obj(vec![
                ("Received", iso(received).into()),
                ("SenderAddress", from.into()),
                ("RecipientAddress", to.into()),
                ("Subject", format!("Message {i:03}").into()),
                ("Status", statuses[rng.gen_range(0..statuses.len())].into()),
                ("ToIP", Value::Null),
                (
                    "FromIP",
                    format!("203.0.113.{}", rng.gen_range(1..255)).into(),
                ),
                ("Size", rng.gen_range(3_000..2_000_000).into()),
                (
                    "MessageId",
                    format!("<{}@{}>", guid(&mut rng).simple(), initial_domain(tenant)).into(),
                ),
                ("MessageTraceId", guid(&mut rng).to_string().into()),
            ])
        })
        .collect();
    let want = |name: &str| param_list(params, name);
    let (senders, recipients, statuses) = (
        want("SenderAddress"),
        want("RecipientAddress"),
        want("Status"),
    );
    let any = |list: &[String], v: &Value| {
        list.is_empty()
            || list
                .iter()
                .any(|x| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(x)))
    };
    rows.into_iter()
        .filter(|r| {
            any(&senders, &r["SenderAddress"])
                && any(&recipients, &r["RecipientAddress"])
                && any(&statuses, &r["Status"])
        })
        .collect()
}

/// Get-DlpCompliancePolicy: two policies.
pub fn dlp_policies(seed: u64, tenant: &Tenant) -> Vec<Map<String, Value>> {
    let mut rng = rng_for(seed, tenant, usize::MAX - 9, 0x444C);
    [
        ("U.S. Financial Data", "Enable"),
        ("GDPR personal data (test)", "TestWithNotifications"),
    ]
    .iter()
    .map(|(name, mode)| {
        obj(vec![
            ("Name", (*name).into()),
            ("Identity", (*name).into()),
            ("Guid", guid(&mut rng).to_string().into()),
            ("Mode", (*mode).into()),
            ("Enabled", true.into()),
            ("ExchangeLocation", json!(["All"])),
            ("SharePointLocation", json!(["All"])),
            ("OneDriveLocation", json!(["All"])),
            ("DistributionStatus", "Success".into()),
            ("WhenCreatedUTC", "2024-02-01T12:00:00+00:00".into()),
        ])
    })
    .collect()
}
