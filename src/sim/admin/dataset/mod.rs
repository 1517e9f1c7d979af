//! Generated objects: mailboxes and users are computed from (seed, tenant, index) on demand, so
//! a 100 000-mailbox tenant costs nothing until a page of it is asked for.

mod config;
mod recipients;
mod security;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::sim::world::Tenant;

pub use self::config::{
    accepted_domains, compliance_searches, customer_transport_rules, organization_config,
    retention_policies, runtime_rng, seeded_transport_rules, transport_rule,
};
pub use self::recipients::{mailbox, quota, user};
pub use self::security::{
    content_filter_policies, dlp_policies, inbound_connectors, malware_filter_policies,
    message_trace, outbound_connectors, quarantine_messages,
};

pub(super) fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub(super) fn rng_for(seed: u64, tenant: &Tenant, index: usize, salt: u64) -> ChaCha8Rng {
    let (a, b) = tenant.id.as_u64_pair();
    let s = splitmix(seed ^ splitmix(a ^ b.rotate_left(17)) ^ splitmix(index as u64) ^ salt);
    ChaCha8Rng::seed_from_u64(s)
}

pub(super) fn guid(rng: &mut ChaCha8Rng) -> Uuid {
    let b: [u8; 16] = rng.r#gen();
    uuid::Builder::from_random_bytes(b).into_uuid()
}

/// The primary (vanity) domain of a tenant: its second domain, else its initial one.
pub fn primary_domain(tenant: &Tenant) -> &str {
    tenant
        .domains
        .get(1)
        .or(tenant.domains.first())
        .map(String::as_str)
        .unwrap_or("example.com")
}

pub(super) fn initial_domain(tenant: &Tenant) -> &str {
    tenant
        .domains
        .first()
        .map(String::as_str)
        .unwrap_or("example.onmicrosoft.com")
}

pub(super) fn iso(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

pub(super) fn dn(tenant: &Tenant, name: &str) -> String {
    format!(
        "CN={name},OU={},OU=Microsoft Exchange Hosted Organizations,DC=NAMPR01A001,DC=PROD,DC=OUTLOOK,DC=COM",
        initial_domain(tenant)
    )
}

/// The index a Name/Alias/UPN/SMTP of a generated mailbox encodes (its trailing digits).
pub fn index_hint(identity: &str) -> Option<usize> {
    let s = identity.trim();
    let s = s
        .strip_prefix("SMTP:")
        .or(s.strip_prefix("smtp:"))
        .unwrap_or(s);
    let local = s.split('@').next().unwrap_or(s);
    let digits: String = local
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().ok()
}

/// Case-insensitive comparison, Unicode-aware (`Ø` = `ø`).
fn eq_ci(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || a.to_lowercase() == b.to_lowercase()
}

/// Whether `row` is the object `identity` names (Name, Alias, Identity, UPN, SMTP, any address,
/// Guid, ExternalDirectoryObjectId, DisplayName; case-insensitive).
pub fn matches_identity(row: &Map<String, Value>, identity: &str) -> bool {
    let id = identity.trim();
    let id_nosmtp = id
        .strip_prefix("SMTP:")
        .or(id.strip_prefix("smtp:"))
        .unwrap_or(id);
    for key in [
        "Name",
        "Alias",
        "Identity",
        "UserPrincipalName",
        "PrimarySmtpAddress",
        "Guid",
        "ExternalDirectoryObjectId",
        "DisplayName",
        "DomainName",
    ] {
        if let Some(Value::String(v)) = row.get(key)
            && (eq_ci(v, id) || eq_ci(v, id_nosmtp))
        {
            return true;
        }
    }
    if let Some(Value::Array(a)) = row.get("EmailAddresses") {
        return a.iter().filter_map(Value::as_str).any(|addr| {
            let bare = addr.split_once(':').map(|(_, b)| b).unwrap_or(addr);
            bare.eq_ignore_ascii_case(id_nosmtp)
        });
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::world::World;

    #[test]
    fn quota_text_is_shaped_like_the_service() {
        assert_eq!(quota(99.0), "99 GB (106,300,440,576 bytes)");
        assert_eq!(quota(100.0), "100 GB (107,374,182,400 bytes)");
    }

    #[test]
    fn mailboxes_are_deterministic_and_rich() {
        let w = World::seeded(3, 100);
        let t = &w.tenants[0];
        let a = mailbox(3, t, 42);
        assert_eq!(a, mailbox(3, t, 42));
        assert_ne!(a, mailbox(4, t, 42));
        assert!(a.len() >= 80, "{} properties", a.len());
        assert_eq!(
            index_hint(a["PrimarySmtpAddress"].as_str().unwrap()),
            Some(42)
        );
        assert!(matches_identity(&a, a["Alias"].as_str().unwrap()));
        assert!(matches_identity(
            &a,
            &a["Guid"].as_str().unwrap().to_uppercase()
        ));
        assert!(!matches_identity(
            &mailbox(3, t, 43),
            a["Alias"].as_str().unwrap()
        ));
    }
}
