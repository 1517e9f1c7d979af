//! System tests against a REAL Secret Service (gnome-keyring under dbus-run-session).
//! Run by `tests/system/secret_service.sh` (and `.ci/run`):
//! `cargo test --test engine keychain_system:: -- --ignored`.

use crate::common::signin_support;

use std::process::Stdio;

use exo_connect::engine::secrets::SecretStore;
use exo_connect::model::AuthMethod;
use signin_support::*;
use tokio::io::AsyncWriteExt;

fn secret_tool_lookup(key: &str) -> Option<String> {
    let out = std::process::Command::new("secret-tool")
        .args(["lookup", "service", "exo-connect", "username", key])
        .output()
        .expect("secret-tool (libsecret-tools) is installed");
    let v = String::from_utf8_lossy(&out.stdout).trim_end().to_string();
    (out.status.success() && !v.is_empty()).then_some(v)
}

#[tokio::test]
#[ignore = "needs a real Secret Service: run tests/system/secret_service.sh"]
async fn refresh_token_round_trip_through_the_real_secret_service() {
    let store = SecretStore::platform().await;
    assert!(
        store.take_notice().is_none(),
        "the Secret Service is usable"
    );
    assert!(!store.is_memory_only());
    let key = format!("rt|system-test|t|{}@example.com", uuid::Uuid::new_v4());
    let secret = uuid::Uuid::new_v4().to_string();
    store.set(&key, &secret).await;
    assert!(!store.is_memory_only(), "the write reached the keychain");
    // An independent reader (libsecret's secret-tool) sees the item.
    assert!(
        secret_tool_lookup(&key) == Some(secret.clone()),
        "secret-tool finds the item"
    );
    // A new store (a restart) reads it back.
    let again = SecretStore::platform().await;
    assert!(again.get(&key).await == Some(secret.clone()));
    assert!(again.keys("rt|system-test|").await.contains(&key));
    again.delete(&key).await.unwrap();
    assert!(
        secret_tool_lookup(&key).is_none(),
        "deleted from the keychain"
    );
    let third = SecretStore::platform().await;
    assert!(third.get(&key).await.is_none());
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

async fn exo(home: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Out {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_exo-connect"));
    c.args(args)
        .env("EXO_CONNECT_HOME", home)
        .env_remove("EXO_CONNECT_SECRETS")
        .env("EXO_CONNECT_NO_BROWSER", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut i = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        i.write_all(s.as_bytes()).await.unwrap();
    }
    drop(i);
    let o = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("the command ends")
        .unwrap();
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn files_contain(dir: &std::path::Path, needle: &str) -> bool {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return false;
    };
    rd.flatten().any(|e| {
        let p = e.path();
        if p.is_dir() {
            files_contain(&p, needle)
        } else {
            std::fs::read(&p)
                .map(|b| String::from_utf8_lossy(&b).contains(needle))
                .unwrap_or(false)
        }
    })
}

#[tokio::test]
#[ignore = "needs a real Secret Service: run tests/system/secret_service.sh"]
async fn cli_sign_in_survives_a_restart_through_the_keychain() {
    let h = start_sim(|_| {}).await;
    let mut p = profile(&h, "ops@contoso.com");
    p.name = "ops".into();
    p.auth = AuthMethod::Password;
    let home = tempfile::tempdir().unwrap();
    let file = serde_json::json!({ "version": 1, "profiles": [p] });
    std::fs::write(home.path().join("profiles.json"), file.to_string()).unwrap();

    let pw = format!("{}\n", password_of("ops@contoso.com"));
    let r = exo(
        home.path(),
        &["login", "ops", "--password-stdin"],
        Some(&pw),
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("No usable OS keychain"), "{}", r.stderr);

    // The refresh token is in the keychain, under host + tenant + account, and in no file.
    let host = h.urls().login.trim_start_matches("http://").to_string();
    let key = format!("rt|{host}|organizations|ops@contoso.com");
    let rt = secret_tool_lookup(&key).expect("the refresh token is in the keychain");
    assert!(
        !files_contain(home.path(), &rt),
        "no file holds the refresh token"
    );
    if let Some(hd) = std::env::var_os("HOME") {
        let cfg = std::path::Path::new(&hd).join(".config/exo-connect");
        assert!(!files_contain(&cfg, &rt));
    }

    // A new process signs in without a password from the keychain.
    let r = exo(home.path(), &["login", "ops"], None).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("Using the cached sign-in"),
        "{}",
        r.stderr
    );
    assert!(
        r.stdout.contains("account: ops@contoso.com"),
        "{}",
        r.stdout
    );

    // `sessions` lists the cached sign-in with its account and a token expiry.
    let r = exo(home.path(), &["sessions", "--json"], None).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let listed: serde_json::Value = serde_json::from_str(&r.stdout).expect("sessions --json");
    let row = listed
        .as_array()
        .and_then(|a| a.iter().find(|r| r["profile"] == "ops"))
        .unwrap_or_else(|| panic!("ops is listed: {}", r.stdout));
    assert_eq!(row["account"], "ops@contoso.com", "{row}");
    assert!(row["expires"].is_string(), "an expiry is shown: {row}");

    // `run` in a new process needs no prompt either.
    let r = exo(
        home.path(),
        &["run", "ops", "--format", "json", "--", "Get-AcceptedDomain"],
        None,
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("contoso.com"), "{}", r.stdout);
    assert!(!r.stderr.contains("To sign in"), "{}", r.stderr);

    // Logout forgets it: the next login needs the password again.
    let r = exo(home.path(), &["logout", "ops"], None).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Signed out"), "{}", r.stdout);
    assert!(secret_tool_lookup(&key).is_none());
    let r = exo(home.path(), &["login", "ops"], None).await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--password-stdin"), "{}", r.stderr);
    let r = exo(home.path(), &["sessions", "--json", "--offline"], None).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains("ops@contoso.com"), "{}", r.stdout);
}
