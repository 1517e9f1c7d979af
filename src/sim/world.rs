//! The seeded world of the simulated tenant: tenants, users, app registrations.
//! Deterministic from the seed.

use uuid::Uuid;

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
    /// enabled for remote PowerShell), compliance@contoso.com (MFA, Compliance Administrator only),
    /// admin@fabrikam.gov (MFA), admin@northwind.com (no MFA), partner@adatum.com (MFA, partner),
    /// admin@tailspintoys.com (no MFA), admin@woodgrovebank.com (MFA).
    pub fn seeded(seed: u64, mailboxes: usize) -> World {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        let guid = |rng: &mut rand_chacha::ChaCha20Rng| {
            let b: [u8; 16] = rng.r#gen();
            uuid::Builder::from_random_bytes(b).into_uuid()
        };
        let tenant = |rng: &mut rand_chacha::ChaCha20Rng,
                      name: &str,
                      domains: &[&str],
                      cloud: SimCloud,
                      kind: TenantKind,
                      mailboxes: usize| Tenant {
            id: guid(rng),
            display_name: name.to_string(),
            domains: domains.iter().map(|d| d.to_string()).collect(),
            cloud,
            kind,
            mailboxes,
            delegated_customers: Vec::new(),
        };
        let contoso = tenant(
            &mut rng,
            "Contoso",
            &["contoso.onmicrosoft.com", "contoso.com"],
            SimCloud::Worldwide,
            TenantKind::Full,
            mailboxes,
        );
        let fabrikam = tenant(
            &mut rng,
            "Fabrikam Government",
            &["fabrikamgov.onmicrosoft.us", "fabrikam.gov"],
            SimCloud::GccHigh,
            TenantKind::Full,
            120,
        );
        let northwind = tenant(
            &mut rng,
            "Northwind Traders",
            &["northwind.onmicrosoft.com", "northwind.com"],
            SimCloud::Worldwide,
            TenantKind::EopStandalone,
            0,
        );
        let mut adatum = tenant(
            &mut rng,
            "Adatum Partners",
            &["adatumpartners.onmicrosoft.com", "adatum.com"],
            SimCloud::Worldwide,
            TenantKind::Partner,
            0,
        );
        let tailspin = tenant(
            &mut rng,
            "Tailspin Toys",
            &["tailspin.onmicrosoft.com", "tailspintoys.com"],
            SimCloud::Worldwide,
            TenantKind::Full,
            300,
        );
        let woodgrove = tenant(
            &mut rng,
            "Woodgrove Bank",
            &["woodgrove.onmicrosoft.com", "woodgrovebank.com"],
            SimCloud::Worldwide,
            TenantKind::Full,
            150,
        );
        adatum.delegated_customers = vec![tailspin.id, woodgrove.id];

        // (upn, display name, tenant, mfa, remote PowerShell enabled, roles)
        type Person<'a> = (&'a str, &'a str, Uuid, bool, bool, &'a [&'a str]);
        let people: [Person; 9] = [
            (
                "admin@contoso.com",
                "Contoso Admin",
                contoso.id,
                true,
                true,
                &["Organization Management", "Compliance Administrator"],
            ),
            (
                "ops@contoso.com",
                "Contoso Operations",
                contoso.id,
                false,
                true,
                &["Organization Management", "Compliance Administrator"],
            ),
            (
                "helpdesk@contoso.com",
                "Contoso Helpdesk",
                contoso.id,
                false,
                false,
                &["Help Desk"],
            ),
            (
                "compliance@contoso.com",
                "Contoso Compliance",
                contoso.id,
                true,
                true,
                &["Compliance Administrator"],
            ),
            (
                "admin@fabrikam.gov",
                "Fabrikam Gov Admin",
                fabrikam.id,
                true,
                true,
                &["Organization Management", "Compliance Administrator"],
            ),
            (
                "admin@northwind.com",
                "Northwind Admin",
                northwind.id,
                false,
                true,
                &["Organization Management"],
            ),
            (
                "partner@adatum.com",
                "Adatum Partner Admin",
                adatum.id,
                true,
                true,
                &["Organization Management", "Compliance Administrator"],
            ),
            (
                "admin@tailspintoys.com",
                "Tailspin Admin",
                tailspin.id,
                false,
                true,
                &["Organization Management", "Compliance Administrator"],
            ),
            (
                "admin@woodgrovebank.com",
                "Woodgrove Admin",
                woodgrove.id,
                true,
                true,
                &["Organization Management", "Compliance Administrator"],
            ),
        ];
        let users = people
            .iter()
            .map(|(upn, name, tid, mfa, rps, roles)| {
                let secret: [u8; 20] = rng.r#gen();
                User {
                    upn: upn.to_string(),
                    display_name: name.to_string(),
                    password: format!(
                        "{}{}",
                        upn.split('@').next().unwrap_or(upn),
                        DEMO_PASSWORD_SUFFIX
                    ),
                    tenant_id: *tid,
                    oid: guid(&mut rng),
                    mfa: *mfa,
                    totp_secret: base32_encode(&secret),
                    remote_powershell_enabled: *rps,
                    roles: roles.iter().map(|r| r.to_string()).collect(),
                }
            })
            .collect();
        World {
            seed,
            tenants: vec![contoso, fabrikam, northwind, adatum, tailspin, woodgrove],
            users,
            apps: Vec::new(),
        }
    }

    /// A tenant by GUID or by any of its domains (case-insensitive).
    pub fn tenant(&self, id_or_domain: &str) -> Option<&Tenant> {
        let key = id_or_domain.trim().to_ascii_lowercase();
        self.tenants.iter().find(|t| {
            t.id.to_string() == key || t.domains.iter().any(|d| d.eq_ignore_ascii_case(&key))
        })
    }

    /// A user by UPN (case-insensitive).
    pub fn user(&self, upn: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.upn.eq_ignore_ascii_case(upn.trim()))
    }
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
