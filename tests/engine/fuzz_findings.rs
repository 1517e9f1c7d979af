//! Regression tests for what the fuzz targets (`tests/fuzz/`) and the property tests
//! (`properties`) found: each test is the input that failed, and says how it failed before.

use std::time::Duration;

use chrono::Utc;
use exo_connect::engine::auth::flows::{self, FlowCtx, MAX_LIFETIME_SECS, parse_grant};
use exo_connect::engine::auth::transport::OAuthHttp;
use exo_connect::engine::auth::{CancellationToken, Events};
use exo_connect::engine::http::{HttpOptions, build_client};
use exo_connect::engine::rest::parse_retry_after;
use exo_connect::model::cmdline::parse_cmdlet_line;
use exo_connect::model::powershell::quote;
use exo_connect::model::results::{ResultStore, parse_page};
use serde_json::{Value, json};

/// Panicked (the `wininet_reg` target): "end byte index 6 is not a char boundary" — a
/// REG_BINARY value's hex was cut every two bytes of text, inside a multi-byte character.
#[test]
fn a_reg_binary_value_with_non_ascii_text_is_refused_not_a_panic() {
    use exo_connect::engine::proxy::wininet::{RegValue, parse_reg_query};
    let text = "HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings\\Connections\n    \
                DefaultConnectionSettings    REG_BINARY    C1B2\u{fffd}3D4E5F60718\n    \
                SavedLegacySettings    REG_BINARY    4600000001\n    \
                Other    REG_BINARY    46é00\n";
    let v = parse_reg_query(text);
    assert!(!v.contains_key("DefaultConnectionSettings"), "{v:?}");
    assert!(!v.contains_key("Other"), "{v:?}");
    assert!(
        matches!(v.get("SavedLegacySettings"), Some(RegValue::Binary(b)) if b == &[0x46, 0, 0, 0, 1]),
        "{v:?}"
    );
}

/// Panicked: "cannot convert float seconds to Duration: value is either too big or NaN".
#[test]
fn a_huge_retry_after_is_cut_not_a_panic() {
    let now = Utc::now();
    for v in [
        "1e20",
        "1e308",
        "18446744073709551616",
        "9999999999999999999.5",
    ] {
        let d = parse_retry_after(v, now).unwrap();
        assert!(
            d >= Duration::from_secs(3600) && d <= Duration::from_secs(86_400),
            "{v}: {d:?}"
        );
    }
    assert_eq!(
        parse_retry_after("1.5", now),
        Some(Duration::from_millis(1500))
    );
}

/// Panicked: "`DateTime + TimeDelta` overflowed" (expires_in "8208470841732", as a string) and
/// "TimeDelta::seconds out of bounds" (expires_in beyond i64::MAX / 1000).
#[test]
fn a_huge_or_negative_token_expires_in_is_cut_not_a_panic() {
    let week = Utc::now() + chrono::Duration::seconds(MAX_LIFETIME_SECS);
    for e in [
        json!("8208470841732"),
        json!(i64::MAX),
        json!(9_300_000_000_000_000_i64),
    ] {
        let g = parse_grant(&json!({"access_token": "a", "expires_in": e})).unwrap();
        assert!(g.expires_at <= week + chrono::Duration::seconds(5), "{e}");
        assert!(g.expires_at >= week - chrono::Duration::seconds(5), "{e}");
    }
    let g = parse_grant(&json!({"access_token": "a", "expires_in": i64::MIN})).unwrap();
    assert!(g.expires_at <= Utc::now());
}

/// Panicked: "overflow when adding duration to instant" — a device-code answer with a huge
/// `expires_in` (the code's deadline is an `Instant`). Now the sign-in finishes.
#[tokio::test]
async fn a_device_code_with_a_huge_expires_in_signs_in() {
    let app = axum::Router::new()
        .route(
            "/t/oauth2/v2.0/devicecode",
            axum::routing::post(|| async {
                axum::Json(json!({
                    "device_code": "dc", "user_code": "ABCD-EFGH",
                    "verification_uri": "https://microsoft.com/devicelogin",
                    "expires_in": i64::MAX, "interval": 0,
                }))
            }),
        )
        .route(
            "/t/oauth2/v2.0/token",
            axum::routing::post(|| async {
                axum::Json(json!({"access_token": "at", "expires_in": "99999999999999999"}))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let authority = format!("http://{}/t", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let ctx = FlowCtx {
        http: OAuthHttp::new(
            build_client(&HttpOptions {
                proxy: Some(None),
                ..HttpOptions::default()
            })
            .unwrap(),
        ),
        events: Events(None),
        cancel: CancellationToken::new(),
        timeout: Duration::from_secs(20),
        claims: None,
    };
    let g = flows::device_code(&ctx, &authority, "x/.default")
        .await
        .unwrap();
    assert_eq!(g.access_token, "at");
}

/// PowerShell's typographic single quotes (text pasted from Word) were plain characters to
/// the parser while `model::powershell::quote` doubles them: `'‘‘'` came back as `‘‘`.
#[test]
fn typographic_quotes_are_quotes() {
    let get = |line: &str| parse_cmdlet_line(line).unwrap().get("Name").cloned();
    assert_eq!(
        get(&format!("Get-X -Name {}", quote("‘"))),
        Some(json!("‘"))
    );
    assert_eq!(get("Get-X -Name ‘Ann O’’Neil’"), Some(json!("Ann O’Neil")));
    assert_eq!(get("Get-X -Name “Ann Lee”"), Some(json!("Ann Lee")));
    // As in PowerShell, a typographic quote ends a '…' string too.
    assert!(parse_cmdlet_line("Get-X -Name 'it‘s'").is_err());
    assert!(parse_cmdlet_line("Get-X -Name ab‘c").is_err());
}

/// A float inside a nested array came back one unit in the last place off
/// (4.276114931817321e40 → 4.2761149318173213e40): serde_json's fast float parser.
#[test]
fn nested_floats_come_back_exactly() {
    let row = json!({"A": [4.276114931817321e40, 0.1, 1.7976931348623157e308], "B": {"x": 2.2250738585072014e-308}});
    let mut store = ResultStore::new();
    parse_page(
        json!({"value": [row.clone()]}).to_string().as_bytes(),
        &mut store,
        None,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(Value::Object(store.row_object(0)), row);
}
