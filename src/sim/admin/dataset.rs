//! Generated objects: mailboxes and users are computed from (seed, tenant, index) on demand, so
//! a 100 000-mailbox tenant costs nothing until a page of it is asked for.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::sim::world::Tenant;

/// (display first name, ASCII form for aliases)
const FIRST: &[(&str, &str)] = &[
    ("José", "jose"),
    ("Zoë", "zoe"),
    ("Björn", "bjorn"),
    ("Søren", "soren"),
    ("François", "francois"),
    ("Łukasz", "lukasz"),
    ("Anna", "anna"),
    ("Mohammed", "mohammed"),
    ("Priya", "priya"),
    ("Chen", "chen"),
    ("Olivia", "olivia"),
    ("Liam", "liam"),
    ("Emma", "emma"),
    ("Noah", "noah"),
    ("Aiko", "aiko"),
    ("Mateo", "mateo"),
    ("Ingrid", "ingrid"),
    ("Kwame", "kwame"),
    ("Fatima", "fatima"),
    ("Dmitri", "dmitri"),
    ("Siobhán", "siobhan"),
    ("Renée", "renee"),
    ("Jürgen", "jurgen"),
    ("Ana", "ana"),
];
const LAST: &[(&str, &str)] = &[
    ("Núñez", "nunez"),
    ("Müller", "muller"),
    ("Øvergård", "overgard"),
    ("Dvořák", "dvorak"),
    ("Smith", "smith"),
    ("García", "garcia"),
    ("Johnson", "johnson"),
    ("O'Brien", "obrien"),
    ("Kowalski", "kowalski"),
    ("Nguyen", "nguyen"),
    ("Patel", "patel"),
    ("Williams", "williams"),
    ("Brown", "brown"),
    ("Lefèvre", "lefevre"),
    ("Andersson", "andersson"),
    ("Rossi", "rossi"),
    ("Okafor", "okafor"),
    ("Ivanova", "ivanova"),
];
/// Full display names in other scripts, used for a few mailboxes.
const OTHER_SCRIPTS: &[(&str, &str, &str)] = &[
    ("佐藤 花子", "hanako", "sato"),
    ("田中 太郎", "taro", "tanaka"),
    ("王伟", "wei", "wang"),
    ("李娜", "na", "li"),
    ("محمد العلي", "mohammed", "alali"),
    ("فاطمة الزهراء", "fatima", "alzahra"),
];
const DEPARTMENTS: &[&str] = &[
    "Sales",
    "Marketing",
    "Finance",
    "Human Resources",
    "Research & Development",
    "Legal",
    "IT",
    "Operations",
    "Customer Service",
];
const OFFICES: &[&str] = &[
    "Seattle 1/1001",
    "London",
    "München",
    "São Paulo",
    "Tokyo",
    "Paris",
    "Oslo",
    "Dubai",
];
const LOCATIONS: &[(&str, &str)] = &[
    ("US", "en-US"),
    ("GB", "en-GB"),
    ("DE", "de-DE"),
    ("BR", "pt-BR"),
    ("JP", "ja-JP"),
    ("FR", "fr-FR"),
    ("NO", "nb-NO"),
    ("AE", "ar-AE"),
];

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn rng_for(seed: u64, tenant: &Tenant, index: usize, salt: u64) -> ChaCha8Rng {
    let (a, b) = tenant.id.as_u64_pair();
    let s = splitmix(seed ^ splitmix(a ^ b.rotate_left(17)) ^ splitmix(index as u64) ^ salt);
    ChaCha8Rng::seed_from_u64(s)
}

fn guid(rng: &mut ChaCha8Rng) -> Uuid {
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

fn initial_domain(tenant: &Tenant) -> &str {
    tenant
        .domains
        .first()
        .map(String::as_str)
        .unwrap_or("example.onmicrosoft.com")
}

/// The part of a row every cmdlet about a recipient shares.
struct Person {
    display: String,
    first: String,
    last: String,
    alias: String,
    upn: String,
    details: &'static str,
    edoid: Uuid,
    guid: Uuid,
    exchange_guid: Uuid,
    created: chrono::DateTime<chrono::Utc>,
    changed: chrono::DateTime<chrono::Utc>,
    department: &'static str,
    office: &'static str,
    location: (&'static str, &'static str),
}

fn person(seed: u64, tenant: &Tenant, index: usize) -> Person {
    let mut rng = rng_for(seed, tenant, index, 0x4D41_4942);
    let kind_roll: u32 = rng.gen_range(0..100);
    let details = match kind_roll {
        0..80 => "UserMailbox",
        80..90 => "SharedMailbox",
        90..96 => "RoomMailbox",
        _ => "EquipmentMailbox",
    };
    let (display, first, last, a_first, a_last) = if rng.gen_range(0..100) < 6 {
        let (d, af, al) = OTHER_SCRIPTS[rng.gen_range(0..OTHER_SCRIPTS.len())];
        let mut it = d.split(' ');
        let f = it.next().unwrap_or(d).to_string();
        let l = it.next().unwrap_or("").to_string();
        (d.to_string(), f, l, af, al)
    } else {
        let (f, af) = FIRST[rng.gen_range(0..FIRST.len())];
        let (l, al) = LAST[rng.gen_range(0..LAST.len())];
        (format!("{f} {l}"), f.to_string(), l.to_string(), af, al)
    };
    let (display, alias) = match details {
        "SharedMailbox" => (
            format!("{} Team {index}", DEPARTMENTS[index % DEPARTMENTS.len()]),
            format!("shared{index:05}"),
        ),
        "RoomMailbox" => (
            format!("Room {} {}", OFFICES[index % OFFICES.len()], index),
            format!("room{index:05}"),
        ),
        "EquipmentMailbox" => (format!("Projector {index}"), format!("equipment{index:05}")),
        _ => (display, format!("{a_first}.{a_last}{index:05}")),
    };
    let upn = format!("{alias}@{}", primary_domain(tenant));
    let base = chrono::DateTime::parse_from_rfc3339("2019-03-01T08:00:00Z")
        .expect("constant date")
        .with_timezone(&chrono::Utc);
    let created = base + chrono::Duration::seconds(rng.gen_range(0..(5 * 365 * 86400)));
    let changed = created + chrono::Duration::seconds(rng.gen_range(0..(365 * 86400)));
    Person {
        display,
        first,
        last,
        alias,
        upn,
        details,
        edoid: guid(&mut rng),
        guid: guid(&mut rng),
        exchange_guid: guid(&mut rng),
        created,
        changed,
        department: DEPARTMENTS[rng.gen_range(0..DEPARTMENTS.len())],
        office: OFFICES[rng.gen_range(0..OFFICES.len())],
        location: LOCATIONS[rng.gen_range(0..LOCATIONS.len())],
    }
}

fn iso(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

fn dn(tenant: &Tenant, name: &str) -> String {
    format!(
        "CN={name},OU={},OU=Microsoft Exchange Hosted Organizations,DC=NAMPR01A001,DC=PROD,DC=OUTLOOK,DC=COM",
        initial_domain(tenant)
    )
}

/// Formats a quota like the service: `99 GB (106,300,440,576 bytes)`.
pub fn quota(gb: f64) -> String {
    let bytes = (gb * 1024.0 * 1024.0 * 1024.0) as u64;
    let s = bytes.to_string();
    let mut grouped = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let shown = if gb.fract() == 0.0 {
        format!("{gb:.0}")
    } else {
        format!("{gb:.1}")
    };
    format!("{shown} GB ({grouped} bytes)")
}

/// Get-Mailbox row `index` (0-based) of `tenant`: 90+ properties, deterministic from the seed.
pub fn mailbox(seed: u64, tenant: &Tenant, index: usize) -> Map<String, Value> {
    let p = person(seed, tenant, index);
    let mut rng = rng_for(seed, tenant, index, 0x4D42_5850);
    let domain = primary_domain(tenant);
    let initial = initial_domain(tenant);
    let mut addresses = vec![
        Value::from(format!("SMTP:{}", p.upn)),
        Value::from(format!("smtp:{}@{initial}", p.alias)),
    ];
    if rng.gen_range(0..4) == 0 {
        addresses.push(Value::from(format!("smtp:{}.alt@{domain}", p.alias)));
    }
    if rng.gen_range(0..3) == 0 {
        addresses.push(Value::from(format!(
            "X500:/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn={}-{}",
            p.exchange_guid.simple(),
            p.alias
        )));
    }
    let user_like = p.details == "UserMailbox";
    let litigation = user_like && rng.gen_range(0..10) == 0;
    let archive = user_like && rng.gen_range(0..3) == 0;
    let forwarding = if user_like && rng.gen_range(0..20) == 0 {
        Value::from(format!("smtp:{}@partner.example", p.alias))
    } else {
        Value::Null
    };
    let mut custom: Vec<Value> = vec![Value::Null; 15];
    if rng.gen_range(0..4) == 0 {
        custom[0] = Value::from(format!("EMP{:06}", rng.gen_range(0..1_000_000)));
    }
    if rng.gen_range(0..8) == 0 {
        custom[4] = Value::from(p.department);
    }
    let (usage, lang) = p.location;
    let db = format!("NAMPR01DG{:03}-db{:03}", index % 97, rng.gen_range(0..400));
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    put("Name", p.alias.clone().into());
    put("Alias", p.alias.clone().into());
    put("DisplayName", p.display.clone().into());
    put("Identity", p.alias.clone().into());
    put("Id", p.alias.clone().into());
    put("DistinguishedName", dn(tenant, &p.alias).into());
    put("Guid", p.guid.to_string().into());
    put("ExchangeGuid", p.exchange_guid.to_string().into());
    put("ExternalDirectoryObjectId", p.edoid.to_string().into());
    put("PrimarySmtpAddress", p.upn.clone().into());
    put("UserPrincipalName", p.upn.clone().into());
    put("WindowsEmailAddress", p.upn.clone().into());
    put("MicrosoftOnlineServicesID", p.upn.clone().into());
    put("EmailAddresses", Value::Array(addresses));
    put("RecipientType", "UserMailbox".into());
    put("RecipientTypeDetails", p.details.into());
    put("OrganizationalUnit", initial.into());
    put("Database", db.into());
    put("ServerName", format!("dm6pr01mb{:04}", index % 9973).into());
    put("WhenCreated", iso(p.created).into());
    put("WhenChanged", iso(p.changed).into());
    put("WhenCreatedUTC", iso(p.created).into());
    put("WhenChangedUTC", iso(p.changed).into());
    put("WhenMailboxCreated", iso(p.created).into());
    put("ProhibitSendQuota", quota(99.0).into());
    put("ProhibitSendReceiveQuota", quota(100.0).into());
    put("IssueWarningQuota", quota(98.0).into());
    put("RecoverableItemsQuota", quota(30.0).into());
    put("RecoverableItemsWarningQuota", quota(20.0).into());
    put("RulesQuota", "256 KB (262,144 bytes)".into());
    put("MaxSendSize", "35 MB (36,700,160 bytes)".into());
    put("MaxReceiveSize", "36 MB (37,748,736 bytes)".into());
    put("UseDatabaseQuotaDefaults", false.into());
    put(
        "ArchiveStatus",
        if archive { "Active" } else { "None" }.into(),
    );
    put(
        "ArchiveGuid",
        if archive {
            guid(&mut rng).to_string()
        } else {
            Uuid::nil().to_string()
        }
        .into(),
    );
    put(
        "ArchiveName",
        if archive {
            json!([format!("In-Place Archive - {}", p.display)])
        } else {
            json!([])
        },
    );
    put(
        "ArchiveQuota",
        if archive { quota(100.0) } else { quota(50.0) }.into(),
    );
    put(
        "ArchiveWarningQuota",
        if archive { quota(90.0) } else { quota(45.0) }.into(),
    );
    put(
        "ArchiveState",
        if archive { "HostedProvisioned" } else { "None" }.into(),
    );
    put("AutoExpandingArchiveEnabled", false.into());
    put("LitigationHoldEnabled", litigation.into());
    put(
        "LitigationHoldDate",
        if litigation {
            Value::from(iso(p.changed))
        } else {
            Value::Null
        },
    );
    put(
        "LitigationHoldOwner",
        if litigation {
            Value::from(format!("admin@{domain}"))
        } else {
            Value::Null
        },
    );
    put("LitigationHoldDuration", "Unlimited".into());
    put("RetentionHoldEnabled", false.into());
    put("RetentionPolicy", "Default MRM Policy".into());
    put("SingleItemRecoveryEnabled", true.into());
    put("RetainDeletedItemsFor", "14.00:00:00".into());
    put("InPlaceHolds", json!([]));
    put("ComplianceTagHoldApplied", false.into());
    put("DelayHoldApplied", false.into());
    put(
        "HiddenFromAddressListsEnabled",
        (p.details == "EquipmentMailbox").into(),
    );
    put("ForwardingAddress", Value::Null);
    put("ForwardingSmtpAddress", forwarding);
    put("DeliverToMailboxAndForward", false.into());
    put("GrantSendOnBehalfTo", json!([]));
    put("AcceptMessagesOnlyFrom", json!([]));
    put("RejectMessagesFrom", json!([]));
    put("RequireSenderAuthenticationEnabled", false.into());
    put(
        "MessageCopyForSentAsEnabled",
        (p.details == "SharedMailbox").into(),
    );
    put("MessageCopyForSendOnBehalfEnabled", false.into());
    for (i, v) in custom.into_iter().enumerate() {
        put(&format!("CustomAttribute{}", i + 1), v);
    }
    put("ExtensionCustomAttribute1", json!([]));
    put("ExtensionCustomAttribute2", json!([]));
    put("Languages", json!([lang]));
    put("UsageLocation", usage.into());
    put("Office", p.office.into());
    put("Department", p.department.into());
    put("FirstName", p.first.clone().into());
    put("LastName", p.last.clone().into());
    put("IsMailboxEnabled", true.into());
    put("IsShared", (p.details == "SharedMailbox").into());
    put(
        "IsResource",
        matches!(p.details, "RoomMailbox" | "EquipmentMailbox").into(),
    );
    put("IsLinked", false.into());
    put("IsDirSynced", (rng.gen_range(0..2) == 0).into());
    put("IsInactiveMailbox", false.into());
    put("IsSoftDeletedByRemove", false.into());
    put("AccountDisabled", (p.details != "UserMailbox").into());
    put("AuditEnabled", true.into());
    put("AuditLogAgeLimit", "90.00:00:00".into());
    put("DefaultAuditSet", json!(["Admin", "Delegate", "Owner"]));
    put(
        "MailboxPlan",
        format!("ExchangeProtectedPlanE3-{}", tenant.id.simple()).into(),
    );
    put("PersistedCapabilities", json!(["BPOS_S_Enterprise"]));
    put("SKUAssigned", true.into());
    put(
        "ResourceType",
        match p.details {
            "RoomMailbox" => Value::from("Room"),
            "EquipmentMailbox" => Value::from("Equipment"),
            _ => Value::Null,
        },
    );
    put(
        "ResourceCapacity",
        if p.details == "RoomMailbox" {
            Value::from(rng.gen_range(4..40))
        } else {
            Value::Null
        },
    );
    put("AddressBookPolicy", Value::Null);
    put("SharingPolicy", "Default Sharing Policy".into());
    put(
        "RoleAssignmentPolicy",
        "Default Role Assignment Policy".into(),
    );
    put("ThrottlingPolicy", Value::Null);
    put("OwaMailboxPolicy", "OwaMailboxPolicy-Default".into());
    put("EmailAddressPolicyEnabled", false.into());
    put("ExchangeVersion", "0.20 (15.0.0.0)".into());
    put("ExchangeUserAccountControl", "None".into());
    put("RecipientLimits", "Unlimited".into());
    put("MailTip", Value::Null);
    put("MailTipTranslations", json!([]));
    put("JournalArchiveAddress", Value::Null);
    put("ModeratedBy", json!([]));
    put("ModerationEnabled", false.into());
    put("SimpleDisplayName", Value::Null);
    put("LegacyExchangeDN", format!(
        "/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn={}-{}",
        p.exchange_guid.simple(),
        p.alias
    ).into());
    put(
        "ObjectCategory",
        "NAMPR01A001.PROD.OUTLOOK.COM/Configuration/Schema/Person".into(),
    );
    put(
        "ObjectClass",
        json!(["top", "person", "organizationalPerson", "user"]),
    );
    put("OrganizationId", format!("NAMPR01A001.PROD.OUTLOOK.COM/Microsoft Exchange Hosted Organizations/{initial} - NAMPR01A001.PROD.OUTLOOK.COM/ConfigurationUnits/{initial}/Configuration").into());
    put("IsValid", true.into());
    put("ObjectState", "Unchanged".into());
    m
}

/// Get-User row `index` of `tenant` (same people as Get-Mailbox, fewer properties).
pub fn user(seed: u64, tenant: &Tenant, index: usize) -> Map<String, Value> {
    let p = person(seed, tenant, index);
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    put("Name", p.alias.clone().into());
    put("Identity", p.alias.clone().into());
    put("DisplayName", p.display.clone().into());
    put("FirstName", p.first.clone().into());
    put("LastName", p.last.clone().into());
    put("UserPrincipalName", p.upn.clone().into());
    put("WindowsEmailAddress", p.upn.clone().into());
    put("ExternalDirectoryObjectId", p.edoid.to_string().into());
    put("Guid", p.guid.to_string().into());
    put("DistinguishedName", dn(tenant, &p.alias).into());
    put("RecipientType", "UserMailbox".into());
    put("RecipientTypeDetails", p.details.into());
    put("Department", p.department.into());
    put("Office", p.office.into());
    put("Title", Value::Null);
    put("Company", tenant.display_name.clone().into());
    put("CountryOrRegion", Value::Null);
    put("UsageLocation", p.location.0.into());
    put("City", Value::Null);
    put("Phone", Value::Null);
    put("Manager", Value::Null);
    put("AccountDisabled", (p.details != "UserMailbox").into());
    put("IsDirSynced", false.into());
    put(
        "RemotePowerShellEnabled",
        (p.details == "UserMailbox").into(),
    );
    put("WhenCreated", iso(p.created).into());
    put("WhenChanged", iso(p.changed).into());
    m
}

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

/// The seeded transport rules of a tenant.
pub fn seeded_transport_rules(seed: u64, tenant: &Tenant) -> Vec<Map<String, Value>> {
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
