//! Seeded app registrations for the client-credentials flow: a deterministic RSA key per app and
//! a self-signed X.509 certificate whose SHA-1 thumbprint (`x5t`) identifies it.

use std::str::FromStr;

use base64::Engine;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use sha1::Digest;
use uuid::Uuid;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::{Encode, EncodePem};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::Validity;

use crate::sim::world::{AppRegistration, World};

/// The application permission that lets an app run Exchange cmdlets.
pub const MANAGE_AS_APP: &str = "Exchange.ManageAsApp";
/// Display name of the seeded app that has [`MANAGE_AS_APP`].
pub const AUTOMATION_APP: &str = "Contoso Exchange Automation";
/// Display name of the seeded app without any Exchange permission.
pub const NO_ROLE_APP: &str = "Contoso Reporting (no Exchange role)";

/// The two seeded app registrations of Contoso (deterministic keys from `seed`).
pub fn seeded_apps(seed: u64, world: &World) -> Vec<AppRegistration> {
    let Some(contoso) = world.tenant("contoso.onmicrosoft.com") else {
        return Vec::new();
    };
    vec![
        app(seed, 1, AUTOMATION_APP, contoso.id, &[MANAGE_AS_APP]),
        app(seed, 2, NO_ROLE_APP, contoso.id, &[]),
    ]
}

fn app(seed: u64, n: u64, name: &str, tenant_id: Uuid, roles: &[&str]) -> AppRegistration {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed ^ (0xA99_0000 + n));
    let id_bytes: [u8; 16] = rng.r#gen();
    let app_id = uuid::Builder::from_random_bytes(id_bytes).into_uuid();
    let key = rsa::RsaPrivateKey::new(&mut rng, 2048).expect("RSA key generation");
    let private_key_pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .expect("PKCS#8 encoding")
        .to_string();
    let public_key_pem = key
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("SPKI encoding");
    let spki_der = key
        .to_public_key()
        .to_public_key_der()
        .expect("SPKI encoding");
    let spki = SubjectPublicKeyInfoOwned::try_from(spki_der.as_bytes()).expect("SPKI decoding");
    let signer = SigningKey::<sha2::Sha256>::new(key);
    let subject = Name::from_str(&format!("CN={}", name.replace(['(', ')', ','], "")))
        .expect("certificate subject");
    let validity =
        Validity::from_now(std::time::Duration::from_secs(2 * 365 * 86400)).expect("validity");
    let cert = CertificateBuilder::new(
        Profile::Root,
        SerialNumber::from(n as u32 + 1000),
        validity,
        subject,
        spki,
        &signer,
    )
    .expect("certificate builder")
    .build::<rsa::pkcs1v15::Signature>()
    .expect("self-signed certificate");
    let der = cert.to_der().expect("certificate DER");
    let certificate_pem = cert.to_pem(LineEnding::LF).expect("certificate PEM");
    let x5t = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(&der));
    AppRegistration {
        app_id,
        display_name: name.to_string(),
        tenant_id,
        roles: roles.iter().map(|r| r.to_string()).collect(),
        public_key_pem,
        x5t,
        private_key_pem,
        certificate_pem,
    }
}
