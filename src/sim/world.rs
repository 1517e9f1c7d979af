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

#[derive(Debug, Clone)]
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

#[derive(Debug, Clone)]
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

#[derive(Debug, Clone)]
pub struct World {
    pub seed: u64,
    pub tenants: Vec<Tenant>,
    pub users: Vec<User>,
    pub apps: Vec<AppRegistration>,
}
