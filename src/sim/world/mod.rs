//! The seeded world of the simulated tenant: tenants, users, app registrations.
//! Deterministic from the seed. The fixed tenants and accounts are below ([`World::seeded`]);
//! generated customer tenants for partner-scale tests are in [`customers`].

pub mod customers;

use uuid::Uuid;

pub use self::customers::CustomerSpec;

/// Which cloud a simulated tenant pretends to live in (only changes names and labels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimCloud {
    Worldwide,
    GccHigh,
}

/// Which admin services a tenant has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantKind {
    /// Exchange Online with mailboxes, and Security & Compliance.
    Full,
    /// Standalone Exchange Online Protection: no mailboxes, no SCC data.
    EopStandalone,
    /// A partner (CSP/GDAP) tenant with delegated access to customers.
    Partner,
}

#[derive(Debug, Clone)]
pub struct Tenant {
    /// The tenant GUID (`tid`).
    pub id: Uuid,
    pub display_name: String,
    /// Accepted domains; the first is the initial `<name>.onmicrosoft.com` domain.
    pub domains: Vec<String>,
    pub cloud: SimCloud,
    pub kind: TenantKind,
    /// Number of mailboxes (generated per page, never all held in memory).
    pub mailboxes: usize,
    /// Tenant ids of customers this (partner) tenant has delegated access to.
    pub delegated_customers: Vec<Uuid>,
    /// Generated customer tenant number (1-based, `--tenants N`); None for the fixed tenants.
    pub customer: Option<usize>,
    /// How the admin API answers for this tenant (generated tenants may be slow or throttle).
    pub behaviour: TenantBehaviour,
}

/// How the admin API answers a tenant's requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantBehaviour {
    Normal,
    /// Every request waits `SimConfig::slow_tenant_delay` before it is answered.
    Slow,
    /// Throttle periods of `SimConfig::throttle_retry_after`: 429 with `Retry-After` during a
    /// period; one starts at the tenant's first request and after every `throttle_every`
    /// requests served.
    Throttling,
}

impl TenantBehaviour {
    pub fn label(self) -> &'static str {
        match self {
            TenantBehaviour::Normal => "normal",
            TenantBehaviour::Slow => "slow",
            TenantBehaviour::Throttling => "throttling",
        }
    }
}

#[derive(Clone)]
pub struct User {
    pub upn: String,
    pub display_name: String,
    pub password: String,
    pub tenant_id: Uuid,
    /// Object id (`oid`).
    pub oid: Uuid,
    /// MFA required: the password grant answers AADSTS50076; interactive flows ask for a TOTP.
    pub mfa: bool,
    /// Base32 TOTP secret (RFC 6238, SHA-1, 6 digits, 30 s).
    pub totp_secret: String,
    /// `RemotePowerShellEnabled`: false = admin API calls fail like the real service's.
    pub remote_powershell_enabled: bool,
    /// Admin roles, e.g. "Organization Management", "Compliance Administrator".
    pub roles: Vec<String>,
}

#[derive(Clone)]
pub struct AppRegistration {
    pub app_id: Uuid,
    pub display_name: String,
    pub tenant_id: Uuid,
    /// Application permissions, e.g. "Exchange.ManageAsApp".
    pub roles: Vec<String>,
    /// The certificate's public key (PEM, SPKI) the client assertion must verify against.
    pub public_key_pem: String,
    /// `x5t`: base64url SHA-1 thumbprint of the certificate (DER).
    pub x5t: String,
    /// The matching private key (PKCS#8 PEM) and certificate, written out for demos and tests.
    pub private_key_pem: String,
    pub certificate_pem: String,
}

/// Never prints the password or the TOTP secret.
impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("upn", &self.upn)
            .field("tenant_id", &self.tenant_id)
            .field("mfa", &self.mfa)
            .field("remote_powershell_enabled", &self.remote_powershell_enabled)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

/// Never prints the private key.
impl std::fmt::Debug for AppRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppRegistration")
            .field("app_id", &self.app_id)
            .field("display_name", &self.display_name)
            .field("tenant_id", &self.tenant_id)
            .field("roles", &self.roles)
            .field("x5t", &self.x5t)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct World {
    pub seed: u64,
    pub tenants: Vec<Tenant>,
    pub users: Vec<User>,
    pub apps: Vec<AppRegistration>,
}

/// Password of every seeded user unless the world says otherwise (printed by `exo-connect sim`).
pub const DEMO_PASSWORD_SUFFIX: &str = "-Demo-2026!";

impl World {
    /// The seeded world. Tenants and users are fixed (tests and demos name them); GUIDs, TOTP
    /// secrets and the mailbox data derive from `seed`.
    ///
    /// | tenant | domains | kind | mailboxes |
    /// |---|---|---|---|
    /// | Contoso | contoso.onmicrosoft.com, contoso.com | Full, worldwide | `mailboxes` |
    /// | Fabrikam Government | fabrikamgov.onmicrosoft.us, fabrikam.gov | Full, GCC High | 120 |
    /// | Northwind Traders | northwind.onmicrosoft.com, northwind.com | EOP standalone | 0 |
    /// | Adatum Partners | adatumpartners.onmicrosoft.com, adatum.com | Partner of Tailspin and Woodgrove | 0 |
    /// | Tailspin Toys | tailspin.onmicrosoft.com, tailspintoys.com | Full | 300 |
    /// | Woodgrove Bank | woodgrove.onmicrosoft.com, woodgrovebank.com | Full | 150 |
    ///
    /// Users (password = local part + [`DEMO_PASSWORD_SUFFIX`], e.g. `admin-Demo-2026!`):
    /// admin@contoso.com (MFA), ops@contoso.com (no MFA), helpdesk@contoso.com (no MFA, not
    /// enabled for remote PowerShell), servicedesk@contoso.com (no MFA, Help Desk only: sees
    /// fewer cmdlets), compliance@contoso.com (MFA, Compliance Administrator only),
    /// admin@fabrikam.gov (MFA), admin@northwind.com (no MFA), partner@adatum.com (MFA, partner),
    /// admin@tailspintoys.com (no MFA), admin@woodgrovebank.com (MFA).
    pub fn seeded(seed: u64, mailboxes: usize) -> World {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        let mut tenants: Vec<Tenant> = SEEDED_TENANTS
            .iter()
            .map(|t| Tenant {
                id: random_guid(&mut rng),
                display_name: t.name.to_string(),
                domains: t.domains.iter().map(|d| d.to_string()).collect(),
                cloud: t.cloud,
                kind: t.kind,
                mailboxes: t.mailboxes.unwrap_or(mailboxes),
                delegated_customers: Vec::new(),
                customer: None,
                behaviour: TenantBehaviour::Normal,
            })
            .collect();
        for (i, t) in SEEDED_TENANTS.iter().enumerate() {
            tenants[i].delegated_customers =
                t.delegates_to.iter().map(|c| tenants[*c].id).collect();
        }
        let users = SEEDED_PEOPLE
            .iter()
            .map(|p| {
                let secret: [u8; 20] = rng.r#gen();
                User {
                    upn: p.upn.to_string(),
                    display_name: p.name.to_string(),
                    password: demo_password(p.upn),
                    tenant_id: tenants[p.tenant].id,
                    oid: random_guid(&mut rng),
                    mfa: p.mfa,
                    totp_secret: base32_encode(&secret),
                    remote_powershell_enabled: p.remote_powershell,
                    roles: p.roles.iter().map(|r| r.to_string()).collect(),
                }
            })
            .collect();
        World {
            seed,
            tenants,
            users,
            apps: Vec::new(),
        }
    }

    /// A tenant by GUID or by any of its domains (case-insensitive).
    pub fn tenant(&self, id_or_domain: &str) -> Option<&Tenant> {
        // An id in its hyphenated form (any case), else a domain. Parsed once, not one id
        // formatted per tenant per look-up (every request looks its tenant up).
        let key = id_or_domain.trim();
        let id = uuid::Uuid::try_parse(key).ok().filter(|_| key.len() == 36);
        self.tenants
            .iter()
            .find(|t| Some(t.id) == id || t.domains.iter().any(|d| d.eq_ignore_ascii_case(key)))
    }

    /// A user by UPN (case-insensitive).
    pub fn user(&self, upn: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.upn.eq_ignore_ascii_case(upn.trim()))
    }
}

/// A fixed tenant of the seeded world.
struct TenantSeed {
    name: &'static str,
    domains: &'static [&'static str],
    cloud: SimCloud,
    kind: TenantKind,
    /// None = the configured mailbox count (the big tenant).
    mailboxes: Option<usize>,
    /// Indexes (in [`SEEDED_TENANTS`]) of the customers this partner is delegated to.
    delegates_to: &'static [usize],
}

const SEEDED_TENANTS: &[TenantSeed] = &[
    TenantSeed {
        name: "Contoso",
        domains: &["contoso.onmicrosoft.com", "contoso.com"],
        cloud: SimCloud::Worldwide,
        kind: TenantKind::Full,
        mailboxes: None,
        delegates_to: &[],
    },
    TenantSeed {
        name: "Fabrikam Government",
        domains: &["fabrikamgov.onmicrosoft.us", "fabrikam.gov"],
        cloud: SimCloud::GccHigh,
        kind: TenantKind::Full,
        mailboxes: Some(120),
        delegates_to: &[],
    },
    TenantSeed {
        name: "Northwind Traders",
        domains: &["northwind.onmicrosoft.com", "northwind.com"],
        cloud: SimCloud::Worldwide,
        kind: TenantKind::EopStandalone,
        mailboxes: Some(0),
        delegates_to: &[],
    },
    TenantSeed {
        name: "Adatum Partners",
        domains: &["adatumpartners.onmicrosoft.com", "adatum.com"],
        cloud: SimCloud::Worldwide,
        kind: TenantKind::Partner,
        mailboxes: Some(0),
        delegates_to: &[4, 5],
    },
    TenantSeed {
        name: "Tailspin Toys",
        domains: &["tailspin.onmicrosoft.com", "tailspintoys.com"],
        cloud: SimCloud::Worldwide,
        kind: TenantKind::Full,
        mailboxes: Some(300),
        delegates_to: &[],
    },
    TenantSeed {
        name: "Woodgrove Bank",
        domains: &["woodgrove.onmicrosoft.com", "woodgrovebank.com"],
        cloud: SimCloud::Worldwide,
        kind: TenantKind::Full,
        mailboxes: Some(150),
        delegates_to: &[],
    },
];

/// A fixed account of the seeded world.
struct PersonSeed {
    upn: &'static str,
    name: &'static str,
    /// Index of the home tenant in [`SEEDED_TENANTS`].
    tenant: usize,
    mfa: bool,
    remote_powershell: bool,
    roles: &'static [&'static str],
}

const ADMIN_ROLES: &[&str] = &["Organization Management", "Compliance Administrator"];

const SEEDED_PEOPLE: &[PersonSeed] = &[
    PersonSeed {
        upn: "admin@contoso.com",
        name: "Contoso Admin",
        tenant: 0,
        mfa: true,
        remote_powershell: true,
        roles: ADMIN_ROLES,
    },
    PersonSeed {
        upn: "ops@contoso.com",
        name: "Contoso Operations",
        tenant: 0,
        mfa: false,
        remote_powershell: true,
        roles: ADMIN_ROLES,
    },
    PersonSeed {
        upn: "helpdesk@contoso.com",
        name: "Contoso Helpdesk",
        tenant: 0,
        mfa: false,
        remote_powershell: false,
        roles: &["Help Desk"],
    },
    PersonSeed {
        upn: "compliance@contoso.com",
        name: "Contoso Compliance",
        tenant: 0,
        mfa: true,
        remote_powershell: true,
        roles: &["Compliance Administrator"],
    },
    PersonSeed {
        upn: "admin@fabrikam.gov",
        name: "Fabrikam Gov Admin",
        tenant: 1,
        mfa: true,
        remote_powershell: true,
        roles: ADMIN_ROLES,
    },
    PersonSeed {
        upn: "admin@northwind.com",
        name: "Northwind Admin",
        tenant: 2,
        mfa: false,
        remote_powershell: true,
        roles: &["Organization Management"],
    },
    PersonSeed {
        upn: "partner@adatum.com",
        name: "Adatum Partner Admin",
        tenant: 3,
        mfa: true,
        remote_powershell: true,
        roles: ADMIN_ROLES,
    },
    PersonSeed {
        upn: "admin@tailspintoys.com",
        name: "Tailspin Admin",
        tenant: 4,
        mfa: false,
        remote_powershell: true,
        roles: ADMIN_ROLES,
    },
    PersonSeed {
        upn: "admin@woodgrovebank.com",
        name: "Woodgrove Admin",
        tenant: 5,
        mfa: true,
        remote_powershell: true,
        roles: ADMIN_ROLES,
    },
    // Last, so the accounts above keep their seeded secrets.
    PersonSeed {
        upn: "servicedesk@contoso.com",
        name: "Contoso Service Desk",
        tenant: 0,
        mfa: false,
        remote_powershell: true,
        roles: &["Help Desk"],
    },
];

/// The demo password of an account: its local part + [`DEMO_PASSWORD_SUFFIX`].
pub fn demo_password(upn: &str) -> String {
    format!(
        "{}{}",
        upn.split('@').next().unwrap_or(upn),
        DEMO_PASSWORD_SUFFIX
    )
}

fn random_guid(rng: &mut rand_chacha::ChaCha20Rng) -> Uuid {
    use rand::Rng;
    let b: [u8; 16] = rng.r#gen();
    uuid::Builder::from_random_bytes(b).into_uuid()
}

/// RFC 4648 base32, no padding (the form authenticator apps take).
pub fn base32_encode(data: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &b in data {
        buffer = (buffer << 8) | b as u32;
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_world_is_deterministic_and_seed_dependent() {
        let a = World::seeded(7, 100);
        let b = World::seeded(7, 100);
        let c = World::seeded(8, 100);
        assert_eq!(a.tenants[0].id, b.tenants[0].id);
        assert_eq!(a.users[0].totp_secret, b.users[0].totp_secret);
        assert_ne!(a.tenants[0].id, c.tenants[0].id);
        assert_eq!(a.tenant("CONTOSO.COM").unwrap().mailboxes, 100);
        assert_eq!(
            a.user("admin@contoso.com").unwrap().password,
            "admin-Demo-2026!"
        );
        let partner = a.tenant("adatum.com").unwrap();
        assert_eq!(partner.delegated_customers.len(), 2);
    }

    #[test]
    fn debug_output_holds_no_secret() {
        let mut w = World::seeded(3, 10);
        w.apps.push(AppRegistration {
            app_id: Uuid::nil(),
            display_name: "app".into(),
            tenant_id: Uuid::nil(),
            roles: vec![],
            public_key_pem: "PUBLIC".into(),
            x5t: "x5t".into(),
            private_key_pem: "-----BEGIN PRIVATE KEY----- SECRETKEY".into(),
            certificate_pem: "CERT".into(),
        });
        let dbg = format!("{w:?}");
        for u in &w.users {
            assert!(!dbg.contains(&u.password), "password of {} leaked", u.upn);
            assert!(
                !dbg.contains(&u.totp_secret),
                "TOTP secret of {} leaked",
                u.upn
            );
        }
        assert!(!dbg.contains("SECRETKEY"));
        assert!(dbg.contains("admin@contoso.com"));
    }

    #[test]
    fn base32_matches_rfc4648_vectors() {
        assert_eq!(base32_encode(b""), "");
        assert_eq!(base32_encode(b"f"), "MY");
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
    }
}
