//! Generated recipients: Get-Mailbox and Get-User rows computed from (seed, tenant, index).

use rand::Rng;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{dn, guid, initial_domain, iso, primary_domain, rng_for};
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

/// The random choices of one mailbox row, drawn in a fixed order (so a row depends only on
/// (seed, tenant, index)).
struct MailboxDraws {
    addresses: Vec<Value>,
    litigation: bool,
    /// The archive's GUID when the mailbox has one.
    archive: Option<Uuid>,
    forwarding: Value,
    custom: Vec<Value>,
    db: String,
    dir_synced: bool,
    /// Rooms: how many people fit.
    capacity: Option<i32>,
}

fn mailbox_draws(seed: u64, tenant: &Tenant, index: usize, p: &Person) -> MailboxDraws {
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
    let db = format!("NAMPR01DG{:03}-db{:03}", index % 97, rng.gen_range(0..400));
    let archive = archive.then(|| guid(&mut rng));
    let dir_synced = rng.gen_range(0..2) == 0;
    let capacity = (p.details == "RoomMailbox").then(|| rng.gen_range(4..40));
    MailboxDraws {
        addresses,
        litigation,
        archive,
        forwarding,
        custom,
        db,
        dir_synced,
        capacity,
    }
}

/// Get-Mailbox row `index` (0-based) of `tenant`: 90+ properties, deterministic from the seed.
pub fn mailbox(seed: u64, tenant: &Tenant, index: usize) -> Map<String, Value> {
    let p = person(seed, tenant, index);
    let d = mailbox_draws(seed, tenant, index, &p);
    let mut m = Map::new();
    mailbox_identity(&mut m, tenant, index, &p, &d);
    mailbox_quotas(&mut m);
    mailbox_holds(&mut m, tenant, &p, &d);
    mailbox_delivery(&mut m, &p, &d);
    mailbox_profile(&mut m, tenant, &p, &d);
    mailbox_policies(&mut m, tenant, &p);
    m
}

/// Names, ids, addresses, type, database, dates.
fn mailbox_identity(
    m: &mut Map<String, Value>,
    tenant: &Tenant,
    index: usize,
    p: &Person,
    d: &MailboxDraws,
) {
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
    put("EmailAddresses", Value::Array(d.addresses.clone()));
    put("RecipientType", "UserMailbox".into());
    put("RecipientTypeDetails", p.details.into());
    put("OrganizationalUnit", initial_domain(tenant).into());
    put("Database", d.db.clone().into());
    put("ServerName", format!("dm6pr01mb{:04}", index % 9973).into());
    put("WhenCreated", iso(p.created).into());
    put("WhenChanged", iso(p.changed).into());
    put("WhenCreatedUTC", iso(p.created).into());
    put("WhenChangedUTC", iso(p.changed).into());
    put("WhenMailboxCreated", iso(p.created).into());
}

/// Quotas and size limits (the service defaults).
fn mailbox_quotas(m: &mut Map<String, Value>) {
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    put("ProhibitSendQuota", quota(99.0).into());
    put("ProhibitSendReceiveQuota", quota(100.0).into());
    put("IssueWarningQuota", quota(98.0).into());
    put("RecoverableItemsQuota", quota(30.0).into());
    put("RecoverableItemsWarningQuota", quota(20.0).into());
    put("RulesQuota", "256 KB (262,144 bytes)".into());
    put("MaxSendSize", "35 MB (36,700,160 bytes)".into());
    put("MaxReceiveSize", "36 MB (37,748,736 bytes)".into());
    put("UseDatabaseQuotaDefaults", false.into());
}

/// Archive, litigation and retention holds.
fn mailbox_holds(m: &mut Map<String, Value>, tenant: &Tenant, p: &Person, d: &MailboxDraws) {
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    put(
        "ArchiveStatus",
        if d.archive.is_some() {
            "Active"
        } else {
            "None"
        }
        .into(),
    );
    put(
        "ArchiveGuid",
        d.archive.unwrap_or(Uuid::nil()).to_string().into(),
    );
    put(
        "ArchiveName",
        if d.archive.is_some() {
            json!([format!("In-Place Archive - {}", p.display)])
        } else {
            json!([])
        },
    );
    put(
        "ArchiveQuota",
        if d.archive.is_some() {
            quota(100.0)
        } else {
            quota(50.0)
        }
        .into(),
    );
    put(
        "ArchiveWarningQuota",
        if d.archive.is_some() {
            quota(90.0)
        } else {
            quota(45.0)
        }
        .into(),
    );
    put(
        "ArchiveState",
        if d.archive.is_some() {
            "HostedProvisioned"
        } else {
            "None"
        }
        .into(),
    );
    put("AutoExpandingArchiveEnabled", false.into());
    put("LitigationHoldEnabled", d.litigation.into());
    put(
        "LitigationHoldDate",
        if d.litigation {
            Value::from(iso(p.changed))
        } else {
            Value::Null
        },
    );
    put(
        "LitigationHoldOwner",
        if d.litigation {
            Value::from(format!("admin@{}", primary_domain(tenant)))
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
}

/// Delivery options, forwarding and custom attributes.
fn mailbox_delivery(m: &mut Map<String, Value>, p: &Person, d: &MailboxDraws) {
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    put(
        "HiddenFromAddressListsEnabled",
        (p.details == "EquipmentMailbox").into(),
    );
    put("ForwardingAddress", Value::Null);
    put("ForwardingSmtpAddress", d.forwarding.clone());
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
    for (i, v) in d.custom.iter().enumerate() {
        put(&format!("CustomAttribute{}", i + 1), v.clone());
    }
    put("ExtensionCustomAttribute1", json!([]));
    put("ExtensionCustomAttribute2", json!([]));
}

/// Language, office, flags, audit, plan and resource properties.
fn mailbox_profile(m: &mut Map<String, Value>, tenant: &Tenant, p: &Person, d: &MailboxDraws) {
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    put("Languages", json!([p.location.1]));
    put("UsageLocation", p.location.0.into());
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
    put("IsDirSynced", d.dir_synced.into());
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
        d.capacity.map(Value::from).unwrap_or(Value::Null),
    );
}

/// Policies and directory bookkeeping.
fn mailbox_policies(m: &mut Map<String, Value>, tenant: &Tenant, p: &Person) {
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
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
    put("OrganizationId", format!("NAMPR01A001.PROD.OUTLOOK.COM/Microsoft Exchange Hosted Organizations/{0} - NAMPR01A001.PROD.OUTLOOK.COM/ConfigurationUnits/{0}/Configuration", initial_domain(tenant)).into());
    put("IsValid", true.into());
    put("ObjectState", "Unchanged".into());
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
