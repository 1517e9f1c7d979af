//! Generated customer tenants for partner-scale tests (`exo-connect sim --tenants N`).
//!
//! Customer `i` (1-based) has the initial domain `cust<i>.onmicrosoft.com` (at least three
//! digits: `cust042.onmicrosoft.com`) and the vanity domain `cust<i>.example.com`, a generated
//! display name (e.g. "Alpine Logistics 042"), `mailboxes` mailboxes, and one admin account
//! `admin@cust<i>.onmicrosoft.com` (no MFA, Organization Management + Compliance Administrator,
//! password `admin-Demo-2026!`). One partner tenant, "Litware MSP" (`litwaremsp.onmicrosoft.com`,
//! `litware.com`), has delegated access (DelegatedOrganization) to every customer; its account
//! `partner@litware.com` has no MFA, so tests sign in headless: a token for a customer comes from
//! the authority `/<customer domain or id>`.
//!
//! Everything derives from the seed through its own random stream, so adding customers never
//! changes the fixed tenants. Which customers are slow and which throttle is a seeded choice too.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use uuid::Uuid;

use super::{
    ADMIN_ROLES, SimCloud, Tenant, TenantBehaviour, TenantKind, User, World, base32_encode,
    demo_password, random_guid,
};

/// Domain of the partner tenant that manages every generated customer.
pub const PARTNER_DOMAIN: &str = "litwaremsp.onmicrosoft.com";
/// The partner account (no MFA) with delegated access to every generated customer.
pub const PARTNER_UPN: &str = "partner@litware.com";

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CustomerSpec {
    /// Number of customer tenants (0 = none, and no partner tenant).
    pub tenants: usize,
    /// Mailboxes of each customer tenant.
    pub mailboxes: usize,
    /// How many customers answer slowly.
    pub slow: usize,
    /// How many customers throttle (disjoint from the slow ones).
    pub throttling: usize,
}

impl CustomerSpec {
    /// The default number of slow (and of throttling) customers: 5 %, at least one when there
    /// are 4 or more customers, none below.
    pub fn default_share(tenants: usize) -> usize {
        if tenants >= 4 {
            (tenants / 20).max(1)
        } else {
            0
        }
    }
}

const ADJECTIVES: &[&str] = &[
    "Alpine",
    "Blue Harbor",
    "Cedar",
    "Delta",
    "Evergreen",
    "Falcon",
    "Granite",
    "Harbor",
    "Iron Bay",
    "Juniper",
    "Keystone",
    "Lakeside",
    "Meridian",
    "Northgate",
    "Oakridge",
    "Pinnacle",
    "Quarry",
    "Redwood",
    "Summit",
    "Tidewater",
    "Union",
    "Valley",
    "Westfield",
    "Zenith",
];
const NOUNS: &[&str] = &[
    "Logistics",
    "Dental",
    "Foods",
    "Legal",
    "Engineering",
    "Motors",
    "Health",
    "Analytics",
    "Builders",
    "Travel",
    "Insurance",
    "Textiles",
    "Pharma",
    "Energy",
    "Media",
    "Consulting",
];

/// `cust042` for customer 42 of up to 999; wider when there are more.
fn label(i: usize, tenants: usize) -> String {
    let width = tenants.to_string().len().max(3);
    format!("cust{i:0width$}")
}

impl World {
    /// Adds the generated customers and their partner (nothing when `spec.tenants` is 0).
    pub fn add_customers(&mut self, spec: &CustomerSpec) {
        if spec.tenants == 0 {
            return;
        }
        let mut rng = ChaCha20Rng::seed_from_u64(self.seed ^ 0xC057_0E45);
        let behaviours = behaviours(&mut rng, spec);
        let mut partner = Tenant {
            id: random_guid(&mut rng),
            display_name: "Litware MSP".into(),
            domains: vec![PARTNER_DOMAIN.into(), "litware.com".into()],
            cloud: SimCloud::Worldwide,
            kind: TenantKind::Partner,
            mailboxes: 0,
            delegated_customers: Vec::new(),
            customer: None,
            behaviour: TenantBehaviour::Normal,
        };
        self.users.push(account(
            &mut rng,
            PARTNER_UPN,
            "Litware Partner Admin",
            partner.id,
        ));
        for (n, behaviour) in behaviours.into_iter().enumerate() {
            let i = n + 1;
            let l = label(i, spec.tenants);
            let name = format!(
                "{} {} {:03}",
                ADJECTIVES[rng.gen_range(0..ADJECTIVES.len())],
                NOUNS[rng.gen_range(0..NOUNS.len())],
                i
            );
            let tenant = Tenant {
                id: random_guid(&mut rng),
                display_name: name.clone(),
                domains: vec![format!("{l}.onmicrosoft.com"), format!("{l}.example.com")],
                cloud: SimCloud::Worldwide,
                kind: TenantKind::Full,
                mailboxes: spec.mailboxes,
                delegated_customers: Vec::new(),
                customer: Some(i),
                behaviour,
            };
            let upn = format!("admin@{l}.onmicrosoft.com");
            self.users
                .push(account(&mut rng, &upn, &format!("{name} Admin"), tenant.id));
            partner.delegated_customers.push(tenant.id);
            self.tenants.push(tenant);
        }
        self.tenants.push(partner);
    }

    /// The generated customer tenants, in order.
    pub fn customers(&self) -> impl Iterator<Item = &Tenant> {
        self.tenants.iter().filter(|t| t.customer.is_some())
    }
}

/// The behaviour of each customer, in order: a seeded choice of the slow and throttling ones.
fn behaviours(rng: &mut ChaCha20Rng, spec: &CustomerSpec) -> Vec<TenantBehaviour> {
    let mut order: Vec<usize> = (0..spec.tenants).collect();
    order.shuffle(rng);
    let mut out = vec![TenantBehaviour::Normal; spec.tenants];
    let slow = spec.slow.min(spec.tenants);
    let throttling = spec.throttling.min(spec.tenants - slow);
    for &i in &order[..slow] {
        out[i] = TenantBehaviour::Slow;
    }
    for &i in &order[slow..slow + throttling] {
        out[i] = TenantBehaviour::Throttling;
    }
    out
}

/// A generated admin account (no MFA, enabled for remote PowerShell, admin roles).
fn account(rng: &mut ChaCha20Rng, upn: &str, name: &str, tenant_id: Uuid) -> User {
    let secret: [u8; 20] = rng.r#gen();
    User {
        upn: upn.to_string(),
        display_name: name.to_string(),
        password: demo_password(upn),
        tenant_id,
        oid: random_guid(rng),
        mfa: false,
        totp_secret: base32_encode(&secret),
        remote_powershell_enabled: true,
        roles: ADMIN_ROLES.iter().map(|r| r.to_string()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world(tenants: usize, slow: usize, throttling: usize) -> World {
        let mut w = World::seeded(9, 10);
        w.add_customers(&CustomerSpec {
            tenants,
            mailboxes: 7,
            slow,
            throttling,
        });
        w
    }

    #[test]
    fn customers_are_deterministic_and_leave_the_fixed_world_alone() {
        let plain = World::seeded(9, 10);
        let a = world(200, 10, 10);
        let b = world(200, 10, 10);
        assert_eq!(a.tenants.len(), plain.tenants.len() + 201);
        for (x, y) in plain.tenants.iter().zip(&a.tenants) {
            assert_eq!(x.id, y.id);
        }
        let ids = |w: &World| w.customers().map(|t| t.id).collect::<Vec<_>>();
        assert_eq!(ids(&a), ids(&b));
        let c42 = a.tenant("cust042.onmicrosoft.com").unwrap();
        assert_eq!(c42.customer, Some(42));
        assert_eq!(c42.mailboxes, 7);
        assert_eq!(a.tenant("cust042.example.com").unwrap().id, c42.id);
        let admin = a.user("admin@cust042.onmicrosoft.com").unwrap();
        assert_eq!(admin.tenant_id, c42.id);
        assert!(!admin.mfa);
        let partner = a.tenant(PARTNER_DOMAIN).unwrap();
        assert_eq!(partner.delegated_customers.len(), 200);
        assert!(!a.user(PARTNER_UPN).unwrap().mfa);
        let count = |b: TenantBehaviour| a.customers().filter(|t| t.behaviour == b).count();
        assert_eq!(count(TenantBehaviour::Slow), 10);
        assert_eq!(count(TenantBehaviour::Throttling), 10);
        assert_ne!(
            ids(&world(200, 10, 10)),
            ids(&{
                let mut w = World::seeded(10, 10);
                w.add_customers(&CustomerSpec {
                    tenants: 200,
                    ..Default::default()
                });
                w
            })
        );
        assert!(world(0, 0, 0).user(PARTNER_UPN).is_none());
    }

    #[test]
    fn labels_and_default_shares() {
        assert_eq!(label(42, 200), "cust042");
        assert_eq!(label(7, 1500), "cust0007");
        assert_eq!(CustomerSpec::default_share(3), 0);
        assert_eq!(CustomerSpec::default_share(4), 1);
        assert_eq!(CustomerSpec::default_share(200), 10);
        let w = world(3, 5, 5);
        let slow = w
            .customers()
            .filter(|t| t.behaviour == TenantBehaviour::Slow)
            .count();
        assert_eq!(slow, 3);
    }
}
