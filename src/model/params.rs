//! Parameter values as the admin API wants them, and the parameters exo-connect refuses
//! (reference page §7, "Parameter types"):
//! - dates as ISO 8601 UTC strings (`2026-11-30T08:00:00Z`): a date given without a zone is the
//!   local time, as PowerShell reads it; [`encode_dates`] rewrites the values of date-typed
//!   parameters (a catalogue's `datetime`, or by name: `…Date`, `StartTime`, `EndTime`);
//! - byte arrays as `{"@odata.type":"#Exchange.ByteArrayType","Data":"<base64>"}`
//!   ([`byte_array`]);
//! - secrets: the service wants `SecureString` values encrypted with a key it hands out, and a
//!   line typed into a tool ends up in history and logs, so parameters that carry passwords or
//!   credentials (by name, [`secret_parameter`], or `SecureString`/`PSCredential`-typed in a
//!   catalogue, [`secret_type`]) are refused with a message rather than sent in clear.

use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::{Map, Value, json};

/// Why a parameter is refused, when it is: the name carries a secret.
pub fn secret_parameter(name: &str) -> Option<String> {
    let n = name.to_ascii_lowercase();
    // Ends with: `-ResetPasswordOnNextLogon` is a switch, not a secret.
    let secret = n.ends_with("password")
        || n.ends_with("passwords")
        || n.ends_with("credential")
        || n.ends_with("credentials")
        || n == "cred"
        || n.ends_with("securestring")
        || n == "sharedsecret"
        || n == "clientsecret";
    secret.then(|| refusal(name))
}

/// Whether a catalogue's parameter type carries a secret.
pub fn secret_type(ps_type: &str) -> bool {
    let t = ps_type
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let t = t.rsplit('.').next().unwrap_or(&t);
    matches!(t, "securestring" | "pscredential")
}

/// The refusal of a secret-carrying parameter.
pub fn refusal(name: &str) -> String {
    format!(
        "Parameter -{name} carries a password or credential: exo-connect does not send secrets in a cmdlet line (the service expects them encrypted, and a typed line ends up in history and logs). Set it in the Microsoft 365 admin center or with PowerShell instead."
    )
}

/// Whether a parameter name looks date-typed (used when no catalogue says).
pub fn date_like_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.ends_with("date")
        || n.ends_with("datetime")
        || matches!(n.as_str(), "starttime" | "endtime" | "expirytime")
}

/// A date as the service wants it: ISO 8601 UTC (`2026-11-30T08:00:00Z`). Accepts RFC 3339
/// (with `Z` or an offset), `yyyy-MM-dd[ HH:mm[:ss]]` or `yyyy-MM-ddTHH:mm[:ss]` and
/// `MM/dd/yyyy[ HH:mm[:ss]]` (PowerShell's invariant culture), the last ones as local time.
pub fn to_utc_iso(text: &str) -> Option<String> {
    let t = text.trim();
    let out = |d: DateTime<Utc>| d.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Some(out(d.with_timezone(&Utc)));
    }
    const FORMATS: &[&str] = &[
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%m/%d/%Y %H:%M:%S",
        "%m/%d/%Y %H:%M",
    ];
    let naive = FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
        .or_else(|| {
            ["%Y-%m-%d", "%m/%d/%Y"]
                .iter()
                .find_map(|f| NaiveDate::parse_from_str(t, f).ok())
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    let local = Local.from_local_datetime(&naive).earliest()?;
    Some(out(local.with_timezone(&Utc)))
}

/// Rewrites the values of date-typed parameters as ISO 8601 UTC. `is_date(name)` says which
/// are date-typed for sure (a catalogue); those must parse, others that look like dates by name
/// are rewritten when they parse and left as typed otherwise.
pub fn encode_dates(
    params: &mut Map<String, Value>,
    is_date: &dyn Fn(&str) -> Option<bool>,
) -> Result<(), String> {
    for (name, v) in params.iter_mut() {
        let sure = is_date(name);
        if sure == Some(false) || (sure.is_none() && !date_like_name(name)) {
            continue;
        }
        let Value::String(s) = v else { continue };
        match to_utc_iso(s) {
            Some(iso) => *v = Value::String(iso),
            None if sure == Some(true) => {
                return Err(format!(
                    "-{name} '{s}' is not a date: give it as 2026-11-30, 2026-11-30 08:00 (local time) or 2026-11-30T08:00:00Z"
                ));
            }
            None => {}
        }
    }
    Ok(())
}

/// A byte array as the service wants it.
pub fn byte_array(bytes: &[u8]) -> Value {
    json!({"@odata.type": "#Exchange.ByteArrayType", "Data": base64(bytes)})
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Rewrites byte-array-typed parameters (a catalogue's `byte[]`) given as a list of numbers
/// 0..=255 as [`byte_array`]s.
pub fn encode_byte_arrays(
    params: &mut Map<String, Value>,
    is_bytes: &dyn Fn(&str) -> bool,
) -> Result<(), String> {
    for (name, v) in params.iter_mut() {
        if !is_bytes(name) {
            continue;
        }
        let items = match v {
            Value::Array(a) => a.clone(),
            Value::Number(_) => vec![v.clone()],
            _ => continue,
        };
        let bytes: Option<Vec<u8>> = items
            .iter()
            .map(|i| i.as_u64().and_then(|n| u8::try_from(n).ok()))
            .collect();
        let bytes =
            bytes.ok_or_else(|| format!("-{name} takes bytes: give numbers from 0 to 255"))?;
        *v = byte_array(&bytes);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_refused_by_name_and_type() {
        for n in [
            "Password",
            "NewPassword",
            "OldPassword",
            "RoomMailboxPassword",
            "Credential",
            "AuthenticationCredential",
            "ClientSecret",
        ] {
            assert!(secret_parameter(n).is_some(), "{n}");
        }
        for n in [
            "Identity",
            "ResultSize",
            "CustomAttribute1",
            "Credit",
            "ResetPasswordOnNextLogon",
        ] {
            assert!(secret_parameter(n).is_none(), "{n}");
        }
        assert!(secret_parameter("Password").unwrap().contains("-Password"));
        assert!(secret_type("SecureString"));
        assert!(secret_type("[System.Security.SecureString]"));
        assert!(secret_type("System.Management.Automation.PSCredential"));
        assert!(!secret_type("string"));
    }

    #[test]
    fn dates_become_iso_utc() {
        assert_eq!(
            to_utc_iso("2026-11-30T10:00:00+02:00").as_deref(),
            Some("2026-11-30T08:00:00Z")
        );
        assert_eq!(
            to_utc_iso("2026-11-30T08:00:00Z").as_deref(),
            Some("2026-11-30T08:00:00Z")
        );
        let local = Local
            .with_ymd_and_hms(2026, 11, 30, 8, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        assert_eq!(to_utc_iso("2026-11-30 08:00").as_deref(), Some(&*local));
        assert_eq!(to_utc_iso("11/30/2026 08:00:00").as_deref(), Some(&*local));
        assert!(to_utc_iso("2026-11-30").is_some());
        assert_eq!(to_utc_iso("yesterday"), None);
        assert_eq!(to_utc_iso("2026-13-40"), None);

        let mut p = Map::new();
        p.insert("StartDate".into(), json!("2026-11-30T10:00:00+02:00"));
        p.insert("Identity".into(), json!("2026-11-30"));
        p.insert("EndDate".into(), json!("not a date"));
        encode_dates(&mut p, &|_| None).unwrap();
        assert_eq!(p["StartDate"], "2026-11-30T08:00:00Z");
        assert_eq!(p["Identity"], "2026-11-30", "not a date parameter");
        assert_eq!(p["EndDate"], "not a date", "by name only: left as typed");
        let e = encode_dates(&mut p, &|n| Some(n == "EndDate")).unwrap_err();
        assert!(e.contains("-EndDate 'not a date' is not a date"), "{e}");
    }

    #[test]
    fn byte_arrays_are_typed_and_base64() {
        assert_eq!(
            byte_array(b"hello"),
            json!({"@odata.type": "#Exchange.ByteArrayType", "Data": "aGVsbG8="})
        );
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
        let mut p = Map::new();
        p.insert("PictureData".into(), json!([104, 105]));
        p.insert("Other".into(), json!([1, 2]));
        encode_byte_arrays(&mut p, &|n| n == "PictureData").unwrap();
        assert_eq!(p["PictureData"]["Data"], "aGk=");
        assert_eq!(p["Other"], json!([1, 2]));
        p.insert("PictureData".into(), json!([300]));
        assert!(encode_byte_arrays(&mut p, &|n| n == "PictureData").is_err());
    }
}
