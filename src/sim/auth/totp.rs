//! RFC 6238 time-based one-time passwords (HMAC-SHA1, 6 digits, 30 s step), as authenticator
//! apps compute them from a base32 secret.

use hmac::{Hmac, Mac};

/// Length of one TOTP time step in seconds.
pub const STEP_SECS: u64 = 30;

/// The 6-digit code for `unix_time` from a base32 secret (RFC 4648, padding and case ignored).
/// None when the secret is not valid base32.
pub fn totp(secret_base32: &str, unix_time: u64) -> Option<String> {
    let key = base32_decode(secret_base32)?;
    let counter = unix_time / STEP_SECS;
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&key).ok()?;
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let bin = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    Some(format!("{:06}", bin % 1_000_000))
}

/// True when `code` is the TOTP of `unix_time`, or of the step before or after (clock skew).
pub fn verify(secret_base32: &str, code: &str, unix_time: u64) -> bool {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    [
        unix_time.saturating_sub(STEP_SECS),
        unix_time,
        unix_time + STEP_SECS,
    ]
    .iter()
    .any(|t| totp(secret_base32, *t).as_deref() == Some(code))
}

/// The current Unix time in seconds.
pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// RFC 4648 base32 decoding; `=` padding, spaces and case are ignored.
pub fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for c in s.chars().filter(|c| *c != '=' && !c.is_whitespace()) {
        let v = match c.to_ascii_uppercase() {
            c @ 'A'..='Z' => c as u32 - 'A' as u32,
            c @ '2'..='7' => c as u32 - '2' as u32 + 26,
            _ => return None,
        };
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            out.push((buffer >> (bits - 8)) as u8);
            bits -= 8;
        }
        buffer &= (1 << bits) - 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::world::base32_encode;

    /// RFC 6238 appendix B (SHA-1 key "12345678901234567890"), last 6 of the 8 digits.
    #[test]
    fn rfc6238_vectors() {
        let secret = base32_encode(b"12345678901234567890");
        assert_eq!(secret, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        for (t, code) in [
            (59u64, "287082"),
            (1111111109, "081804"),
            (1111111111, "050471"),
            (1234567890, "005924"),
            (2000000000, "279037"),
            (20000000000, "353130"),
        ] {
            assert_eq!(totp(&secret, t).as_deref(), Some(code), "t={t}");
        }
    }

    #[test]
    fn verify_accepts_one_step_of_skew_only() {
        let secret = base32_encode(b"12345678901234567890");
        assert!(verify(&secret, "081804", 1111111109));
        assert!(verify(&secret, "081804", 1111111109 + 30));
        assert!(verify(&secret, "081804", 1111111109 - 30));
        assert!(!verify(&secret, "081804", 1111111109 + 90));
        assert!(!verify(&secret, "08180", 1111111109));
        assert!(!verify(&secret, "abcdef", 1111111109));
    }

    #[test]
    fn base32_round_trips_and_rejects_garbage() {
        let data = b"any bytes \x00\xff at all";
        assert_eq!(base32_decode(&base32_encode(data)).unwrap(), data);
        assert_eq!(base32_decode("mzxw6ytboi").unwrap(), b"foobar");
        assert!(base32_decode("MZ1W").is_none());
        assert!(totp("not base32!", 0).is_none());
    }
}
