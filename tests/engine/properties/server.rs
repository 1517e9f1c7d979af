//! What a server says: OData error bodies (`engine::rest::parse_error_body`), token responses
//! (`engine::auth::flows::parse_grant`, `EntraError`), JWT claims (`decode_claims`) and
//! `Retry-After` (`engine::rest::parse_retry_after`). No panic on any input; the documented
//! forms give back what was put in.

use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use exo_connect::engine::auth::EntraError;
use exo_connect::engine::auth::claims::decode_claims;
use exo_connect::engine::auth::flows::parse_grant;
use exo_connect::engine::rest::{MAX_RETRY_AFTER, parse_error_body, parse_retry_after};
use proptest::prelude::*;
use serde_json::{Value, json};

use super::{any_text, config};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_000_000, 0).unwrap()
}

/// JSON that a server might send where a number is expected.
fn number_like() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<i64>().prop_map(|n| Value::from(n.to_string())),
        any_text(12).prop_map(Value::from),
        Just(Value::Null),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_error_body_is_read_without_panic(
        b in prop_oneof![prop::collection::vec(any::<u8>(), 0..300), any_text(300).prop_map(String::into_bytes)]
    ) {
        let p = parse_error_body(&b);
        if let Some(m) = p.message {
            prop_assert!(m.chars().count() <= 2000 || serde_json::from_slice::<Value>(&b).is_ok());
        }
    }

    #[test]
    fn the_json_detail_form_gives_its_message_and_type(code in any_text(10), msg in any_text(40), ty in any_text(30)) {
        let inner = json!({"Message": msg, "TypeName": ty}).to_string();
        let body = json!({"error": {"code": code, "message": "outer", "details": [{"message": inner}]}});
        let p = parse_error_body(body.to_string().as_bytes());
        prop_assert_eq!(p.code, Some(code));
        prop_assert_eq!(p.message, Some(msg));
        prop_assert_eq!(p.exception_type, Some(ty));
    }

    #[test]
    fn the_pipe_form_gives_its_text_and_type(ty in "[A-Za-z.]{1,30}", text in "[^|]{1,40}") {
        prop_assume!(!text.trim().is_empty() && serde_json::from_str::<Value>(&text).is_err());
        let body = json!({"error": {"code": "BadRequest", "message": "m", "details": [{"message": format!("Ex1|{ty}|{text}")}]}});
        let p = parse_error_body(body.to_string().as_bytes());
        prop_assert_eq!(p.message.as_deref(), Some(text.trim()));
        prop_assert_eq!(p.exception_type.as_deref(), Some(ty.as_str()));
    }

    #[test]
    fn any_token_answer_is_read_without_panic(
        expires in number_like(),
        access in prop::option::of(any_text(20)),
        extra in prop::collection::btree_map("[a-z_]{1,12}", number_like(), 0..4),
    ) {
        let mut j = json!({"expires_in": expires});
        for (k, v) in extra {
            j[k] = v;
        }
        if let Some(a) = access {
            j["access_token"] = json!(a);
        }
        let before = Utc::now();
        if let Ok(g) = parse_grant(&j) {
            prop_assert!(g.expires_at >= before - chrono::Duration::seconds(1));
        }
        if let Ok(e) = serde_json::from_value::<EntraError>(j) {
            let _ = (e.codes(), e.known(), e.needs_interactive_mfa(), e.refresh_token_dead(), e.explanation());
        }
    }

    #[test]
    fn a_token_answer_gives_its_tokens(at in "tok-[A-Za-z0-9._-]{16,60}", rt in prop::option::of("rt-[A-Za-z0-9._-]{16,60}"), secs in 0i64..200_000) {
        let mut j = json!({"token_type": "Bearer", "access_token": at, "expires_in": secs});
        if let Some(r) = &rt {
            j["refresh_token"] = json!(r);
        }
        let before = Utc::now();
        let g = parse_grant(&j).unwrap();
        prop_assert_eq!(&g.access_token, &at);
        prop_assert_eq!(&g.refresh_token, &rt);
        let shown = format!("{g:?}");
        prop_assert!(!shown.contains(&at) && rt.as_ref().is_none_or(|r| !shown.contains(r)), "{}", shown);
        let left = (g.expires_at - before).num_seconds();
        prop_assert!((secs - 2..=secs + 2).contains(&left), "{} vs {}", left, secs);
    }

    #[test]
    fn aadsts_codes_are_found_in_the_description(code in 10_000u64..1_000_000, text in any_text(30)) {
        let e: EntraError = serde_json::from_value(json!({
            "error": "invalid_grant",
            "error_description": format!("AADSTS{code}: {text}"),
        })).unwrap();
        prop_assert!(e.codes().contains(&code), "{:?}", e.codes());
        let _ = e.explanation();
    }

    #[test]
    fn any_text_as_a_jwt_is_read_without_panic(s in any_text(80), payload in prop::collection::vec(any::<u8>(), 0..80)) {
        let _ = decode_claims(&s);
        let _ = decode_claims(&format!("e30.{}.sig", b64(&payload)));
    }

    #[test]
    fn jwt_claims_come_back(tid in any_text(12), upn in any_text(20), exp in any::<i64>()) {
        let payload = json!({"tid": tid, "upn": upn, "exp": exp, "aud": ["x", 1]}).to_string();
        let c = decode_claims(&format!("{}.{}.sig", b64(b"{\"alg\":\"RS256\"}"), b64(payload.as_bytes()))).unwrap();
        prop_assert_eq!(c.tid, Some(tid));
        prop_assert_eq!(c.upn, Some(upn));
        prop_assert_eq!(c.exp, Some(exp));
    }

    #[test]
    fn any_retry_after_is_read_without_panic(
        s in prop_oneof![
            any_text(40),
            any::<f64>().prop_map(|f| f.to_string()),
            any::<f64>().prop_map(|f| format!("{f:e}")),
            any::<i64>().prop_map(|n| format!("{n}")),
            (any::<i64>(), 0usize..4).prop_map(|(n, k)| format!("{n}{}", "0".repeat(k * 8))),
        ]
    ) {
        let _ = parse_retry_after(&s, now());
    }

    #[test]
    fn retry_after_seconds_and_dates_come_back(secs in 0u64..3_600, tenths in 0u64..10, ahead in -100_000i64..100_000) {
        prop_assert_eq!(parse_retry_after(&secs.to_string(), now()), Some(Duration::from_secs(secs)));
        let frac = parse_retry_after(&format!("{secs}.{tenths}"), now()).unwrap();
        prop_assert!(frac.abs_diff(Duration::from_millis(secs * 1000 + tenths * 100)) < Duration::from_millis(1));
        let date = (now() + chrono::Duration::seconds(ahead)).to_rfc2822();
        // A date further than a day ahead is clamped like delay-seconds are.
        let want = Duration::from_secs(ahead.max(0) as u64).min(MAX_RETRY_AFTER);
        prop_assert_eq!(parse_retry_after(&date, now()), Some(want));
    }
}
