//! The diagnostic log's second line of defence: whatever reaches a log line passes through
//! [`redact_field`] (by the field's name) and [`redact`] (by what the text looks like), then
//! `model::text::printable_line`. The first line of defence is that the engine never hands a
//! secret to the log: no header value of Authorization/Cookie/Set-Cookie, no body of a token or
//! password request.
//!
//! What [`redact`] replaces with `[redacted]`:
//! - JWTs: `eyJ…` with at least one dot (access, ID tokens, client assertions);
//! - the word after `Bearer` or `Basic` (an Authorization header that slipped into a message);
//! - the value after `password=`, `secret=`, `token=`, `code=`, `assertion=` and their
//!   `_token` / `-token` forms (a form body or query that slipped in);
//! - long opaque strings: a run of 32 or more base64/URL-safe characters (no `/` or `.`) with
//!   both letters and digits that is not a GUID (refresh tokens, device codes, cookies).
//!
//! GUIDs (request ids, tenant ids), host names, paths, cmdlet names and numbers stay.

use std::borrow::Cow;

/// Field names whose values are never logged.
const SECRET_FIELDS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "password",
    "secret",
    "client_secret",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "device_code",
    "code",
    "client_assertion",
    "assertion",
    "body",
    "form",
];

/// Marker that replaces a secret.
pub const REDACTED: &str = "[redacted]";

/// A field's value as it may be logged: nothing at all for a secret field name, else
/// [`redact`]ed.
pub fn redact_field<'a>(name: &str, value: &'a str) -> Cow<'a, str> {
    let n = name.to_ascii_lowercase();
    if SECRET_FIELDS.contains(&n.as_str())
        || n.ends_with("_token")
        || n.ends_with("password")
        || n.ends_with("secret")
    {
        return Cow::Borrowed(REDACTED);
    }
    redact(value)
}

fn is_run_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+' | '~' | '%')
}

fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn opaque(run: &str) -> bool {
    run.len() >= 32
        && !is_guid(run)
        && run.chars().any(|c| c.is_ascii_digit())
        && run.chars().any(|c| c.is_ascii_alphabetic())
}

/// Words after which the next word is a secret.
const SECRET_WORDS: &[&str] = &["bearer ", "basic "];
/// Keys (`key=value`) whose value is a secret.
const SECRET_KEYS: &[&str] = &[
    "password",
    "secret",
    "token",
    "code",
    "assertion",
    "verifier",
];
/// Header names (`Cookie: …`) whose whole value, to the end of the line, is a secret.
const SECRET_HEADERS: &[&str] = &["cookie:", "set-cookie:"];
/// Key endings (`refresh_token=`, `device_code=`, …) whose value is a secret.
const SECRET_KEY_ENDINGS: &[&str] = &[
    "_verifier",
    "_token",
    "-token",
    "_code",
    "_assertion",
    "_secret",
    "_password",
];

fn secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    SECRET_KEYS.contains(&k.as_str()) || SECRET_KEY_ENDINGS.iter().any(|e| k.ends_with(e))
}

/// Length of a value after `=` or a secret word: up to a space or a separator.
fn value_len(v: &str) -> usize {
    v.find(|c: char| c.is_whitespace() || matches!(c, '&' | ',' | ';' | '"' | '\''))
        .unwrap_or(v.len())
}

/// After a JSON key's closing quote: the length of `": "` up to the string value, if a string
/// value follows (`"refresh_token": "…"`).
fn json_value_start(after: &str) -> Option<usize> {
    let t = after.strip_prefix('"')?.trim_start();
    let t = t.strip_prefix(':')?.trim_start();
    let t = t.strip_prefix('"')?;
    Some(after.len() - t.len())
}

/// `s` with anything that looks like a token or a credential replaced by `[redacted]`.
pub fn redact(s: &str) -> Cow<'_, str> {
    let mut out = String::with_capacity(s.len());
    let mut changed = false;
    let mut i = 0;
    while i < s.len() {
        let rest = &s[i..];
        let step = if prev_is_run(s, i) {
            None
        } else {
            jwt(rest, &mut out)
                .or_else(|| secret_word(rest, &mut out))
                .or_else(|| cookie_header(rest, &mut out))
                .or_else(|| word_run(rest, &mut out))
        };
        match step {
            Some((used, redacted)) => {
                changed |= redacted;
                i += used;
            }
            None => {
                let c = rest.chars().next().unwrap_or(' ');
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(s)
    }
}

/// One step of [`redact`] at the start of a word: the bytes of `rest` it took and whether it
/// replaced anything; `None` when the step does not apply there.
type Step = Option<(usize, bool)>;

/// A JWT: eyJ + base64url segments joined by dots.
fn jwt(rest: &str, out: &mut String) -> Step {
    if !rest.starts_with("eyJ") {
        return None;
    }
    let end = rest
        .find(|c: char| !(is_run_char(c) || c == '.' || c == '='))
        .unwrap_or(rest.len());
    (rest[..end].contains('.') || end >= 32).then(|| {
        out.push_str(REDACTED);
        (end, true)
    })
}

/// The word after "Bearer " / "Basic ".
fn secret_word(rest: &str, out: &mut String) -> Step {
    let head: String = rest
        .chars()
        .take(8)
        .collect::<String>()
        .to_ascii_lowercase();
    let w = SECRET_WORDS.iter().find(|w| head.starts_with(**w))?;
    out.push_str(&rest[..w.len()]);
    let n = value_len(&rest[w.len()..]);
    if n > 0 {
        out.push_str(REDACTED);
    }
    Some((w.len() + n, n > 0))
}

/// A Cookie / Set-Cookie header: the rest of the line.
fn cookie_header(rest: &str, out: &mut String) -> Step {
    let h = SECRET_HEADERS.iter().find(|h| {
        rest.get(..h.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(h))
    })?;
    out.push_str(&rest[..h.len()]);
    let n = rest[h.len()..].find('\n').unwrap_or(rest.len() - h.len());
    let secret = !rest[h.len()..h.len() + n].trim().is_empty();
    if secret {
        out.push(' ');
        out.push_str(REDACTED);
    }
    Some((h.len() + n, secret))
}

/// A run of word characters: the value of a secret key (`key=value`, `"key": "value"`) goes,
/// and so does an opaque run that looks like a token.
fn word_run(rest: &str, out: &mut String) -> Step {
    let c = rest.chars().next()?;
    if !is_run_char(c) {
        return None;
    }
    let end = rest.find(|c: char| !is_run_char(c)).unwrap_or(rest.len());
    let run = &rest[..end];
    let after = &rest[end..];
    if after.starts_with('=') && secret_key(run) {
        out.push_str(run);
        out.push('=');
        let n = value_len(&after[1..]);
        if n > 0 {
            out.push_str(REDACTED);
        }
        return Some((end + 1 + n, n > 0));
    }
    if secret_key(run)
        && let Some(n) = json_value_start(after)
    {
        out.push_str(&rest[..end + n]);
        let v = &rest[end + n..];
        let vl = v.find('"').unwrap_or(v.len());
        if vl > 0 {
            out.push_str(REDACTED);
        }
        return Some((end + n + vl, vl > 0));
    }
    // Base64 padding belongs to the run.
    let pad = after.len() - after.trim_start_matches('=').len();
    let run = &rest[..end + pad.min(2)];
    let secret = opaque(run);
    out.push_str(if secret { REDACTED } else { run });
    Some((run.len(), secret))
}

fn prev_is_run(s: &str, i: usize) -> bool {
    s[..i].chars().next_back().is_some_and(is_run_char)
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL291dGxvb2sub2ZmaWNlMzY1LmNvbSJ9.c2lnbmF0dXJlLWJ5dGVz";

    #[test]
    fn jwts_and_authorization_values_go() {
        let line = format!("sent Authorization: Bearer {JWT} to outlook.office365.com");
        let r = redact(&line);
        assert!(!r.contains("eyJ"), "{r}");
        assert!(r.contains("outlook.office365.com"), "{r}");
        assert_eq!(redact(JWT), REDACTED);
        let r = redact(&format!("id_token {JWT}, more")).into_owned();
        assert_eq!(r, "id_token [redacted], more");
        assert_eq!(redact("Basic dXNlcjpwYXNz"), "Basic [redacted]");
        assert_eq!(redact("bearer abc"), "bearer [redacted]");
    }

    #[test]
    fn form_values_and_long_opaque_strings_go() {
        let r = redact("grant_type=password&username=a@b.c&password=Hunter2!&scope=x");
        assert!(!r.contains("Hunter2"), "{r}");
        assert!(r.contains("username=a@b.c") && r.contains("scope=x"), "{r}");
        let r = redact("refresh_token=0.AXoAabc&x=1");
        assert!(!r.contains("AXoA"), "{r}");
        let rt = "0.AXoA7Kx9Qm3ZpL2wYt8RvN1sGhJ4kF6dC5bE0aU-_zWqXyTiOoPlKjHgFdSa";
        let r = redact(&format!("cached {rt} for x")).into_owned();
        assert!(!r.contains("AXoA7Kx9"), "{r}");
        let cookie = "ExoAffinity=a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2";
        assert!(
            !redact(cookie).contains("a1b2c3d4e5f6"),
            "{}",
            redact(cookie)
        );
    }

    #[test]
    fn ids_hosts_paths_and_words_stay() {
        for keep in [
            "request_id=5f8a3c1e-2b4d-4e6f-8a9b-0c1d2e3f4a5b status=200 ms=123",
            "POST https://outlook.office365.com/adminapi/beta/5f8a3c1e-2b4d-4e6f-8a9b-0c1d2e3f4a5b/InvokeCommand",
            "ps.compliance.protection.outlook.com Get-RetentionCompliancePolicy",
            "retry 3 of 5 in 1500 ms: 503 Service Unavailable",
            "signed in as admin@contoso.onmicrosoft.com (tenant contoso.onmicrosoft.com)",
            "Ann Lee — Müller, 東京",
        ] {
            assert_eq!(redact(keep), keep);
        }
    }

    #[test]
    fn secret_field_names_never_show_their_value() {
        for name in [
            "Authorization",
            "cookie",
            "Set-Cookie",
            "password",
            "refresh_token",
            "proxy_password",
            "device_code",
        ] {
            assert_eq!(redact_field(name, "anything at all"), REDACTED, "{name}");
        }
        assert_eq!(
            redact_field("host", "login.microsoftonline.com"),
            "login.microsoftonline.com"
        );
        assert_eq!(redact_field("message", JWT), REDACTED);
    }

    #[test]
    fn key_words_count_only_as_whole_words() {
        assert_eq!(redact("status_code=200"), "status_code=[redacted]");
        assert_eq!(redact("exit code=2"), "exit code=[redacted]");
        assert_eq!(redact("barcode=7"), "barcode=7");
        assert_eq!(redact("device_code=abc"), "device_code=[redacted]");
        assert_eq!(redact("password=é123"), "password=[redacted]");
    }

    /// The sim's refresh tokens and device codes: 48 random bytes, base64url.
    const SIM_RT: &str = "q3Jx9_Vb-0aZ8mN2kLp4RtYw6EeUo1IcHg5SdFfA7BnCv3XzMjKlOiPuQyTrW8sD";

    fn gone(line: &str, secret: &str) {
        let r = redact(line);
        assert!(!r.contains(secret), "{secret:?} survived in {r:?}");
        assert!(r.contains(REDACTED), "{r:?}");
    }

    #[test]
    fn bearer_tokens_and_authorization_headers() {
        gone(&format!("Authorization: Bearer {JWT}"), "eyJ");
        gone("authorization: bearer sl.short-opaque_token", "sl.short");
        gone(
            "Proxy-Authorization: Basic YWRtaW46SHVudGVyMiE=",
            "YWRtaW46",
        );
        gone(
            &format!("headers: {{\"Authorization\": \"Bearer {SIM_RT}\"}}"),
            "q3Jx9",
        );
        gone("Cookie: ExoAffinity=abc; session=xyz", "abc");
        gone("set-cookie: sid=s1; Path=/; HttpOnly", "sid=s1");
        assert_eq!(redact("Cookie:"), "Cookie:");
    }

    #[test]
    fn jwt_shaped_strings_anywhere() {
        gone(JWT, "eyJ");
        gone(&format!("https://host/cb#id_token={JWT}&state=1"), "eyJ");
        gone(
            &format!("{{\"access_token\":\"{JWT}\",\"expires_in\":3599}}"),
            "eyJ",
        );
        // Two segments (a header and claims without a signature) are still a token.
        gone("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0", "eyJ");
        assert_eq!(redact("eyJ is how a JWT starts"), "eyJ is how a JWT starts");
    }

    #[test]
    fn refresh_tokens_in_any_shape() {
        gone(&format!("token rotated: {SIM_RT}"), "q3Jx9");
        gone(
            &format!("refresh_token={SIM_RT}&grant_type=refresh_token"),
            "q3Jx9",
        );
        gone(
            "{\"refresh_token\": \"0.AXo-short\", \"scope\": \"x\"}",
            "AXo-short",
        );
        gone("\"refresh_token\":\"rt1\"", "rt1");
        let r = redact("{\"refresh_token\": \"0.AXo-short\", \"scope\": \"x\"}");
        assert!(r.contains("\"scope\": \"x\""), "{r}");
    }

    #[test]
    fn secrets_in_form_bodies_and_query_strings() {
        let body = "client_id=fb78d390&grant_type=password&username=ops%40contoso.com\
                    &password=p%40ss%3Dword&client_secret=s3cr3t~v4lue&scope=openid";
        let r = redact(body);
        for s in ["p%40ss", "s3cr3t"] {
            assert!(!r.contains(s), "{r}");
        }
        for kept in [
            "client_id=fb78d390",
            "grant_type=password",
            "username=ops%40contoso.com",
        ] {
            assert!(r.contains(kept), "{kept} in {r}");
        }
        let body = "grant_type=authorization_code&code=0.AbCd-Ef&redirect_uri=http%3A%2F%2F\
                    127.0.0.1%3A8400&code_verifier=pkce-verifier-123";
        let r = redact(body);
        assert!(!r.contains("0.AbCd") && !r.contains("pkce-verifier"), "{r}");
        assert!(r.contains("grant_type=authorization_code"), "{r}");
        gone(
            "GET http://127.0.0.1:8400/?code=M.C5_BAY.2.U&state=abc",
            "M.C5_BAY",
        );
        gone("device_code=GAQABAAEAAAB&client_id=x", "GAQAB");
        gone(
            "client_assertion=abc.def.ghi&client_assertion_type=jwt-bearer",
            "abc.def",
        );
        gone("https://login/x?client_secret=s3cr3t", "s3cr3t");
        gone("PASSWORD=Hunter2!", "Hunter2");
    }

    /// Deterministic pseudo-random text from tricky pieces (no extra dependency): `redact` never
    /// panics, and a token between spaces never survives whatever surrounds it.
    #[test]
    fn random_text_never_panics_and_never_keeps_an_embedded_token() {
        const PIECES: &[&str] = &[
            "eyJ",
            ".",
            "=",
            "&",
            "password",
            "Bearer ",
            "basic",
            "\"",
            ":",
            "é",
            "😀",
            " ",
            "code",
            "_token",
            "a1",
            "Z9-",
            "\n",
            "cookie:",
            "Set-Cookie:",
            "%3D",
            "==",
            "{",
            "}",
            ",",
        ];
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) as usize % n
        };
        for _ in 0..20_000 {
            let mut piece =
                |len: usize| -> String { (0..len).map(|_| PIECES[next(PIECES.len())]).collect() };
            let (before, after) = (piece(6), piece(6));
            let _ = redact(&before);
            for secret in [SIM_RT, JWT] {
                let line = format!("{before} {secret} {after}");
                let r = redact(&line);
                assert!(!r.contains(secret), "{line:?} -> {r:?}");
            }
        }
    }

    #[test]
    fn odd_input_does_not_panic() {
        for s in [
            "",
            "eyJ",
            "eyJ.",
            "Bearer ",
            "password=",
            "é€😀 eyJ😀",
            "=======",
            "%%%",
            "\"token\"",
            "\"token\":",
            "\"token\": \"",
            "cookie:é",
            "set-cookie:\n",
        ] {
            let _ = redact(s);
        }
    }
}
