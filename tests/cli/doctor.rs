//! `exo-connect doctor NAME`: the real binary against an in-process sim and a closed port, plus
//! the catalogue's words in `exo-connect run`'s failure output.

use std::time::Duration;

use exo_connect::model::{AuthMethod, Cloud, Profile, Service};
use exo_connect::sim::SimConfig;

use super::support::{Out, exo, finish, home_with_store as store_with};

/// The binary in `home`, the environment's proxies left out.
async fn cli(home: &tempfile::TempDir, args: &[&str], stdin: &str) -> Out {
    let mut c = exo(home.path(), args);
    c.env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY");
    finish(c, stdin, Duration::from_secs(30)).await
}

fn profile(name: &str, upn: &str, authority: &str, service_base: &str) -> Profile {
    let mut p = Profile::new(name, upn, Service::ExchangeOnline);
    p.cloud = Cloud::Custom;
    p.connection_uri = Some(format!("{service_base}/powershell-liveid/"));
    p.authorization_endpoint = Some(authority.to_string());
    p.auth = AuthMethod::Password;
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_against_the_sim_passes_and_json_agrees() {
    let h = exo_connect::sim::start(SimConfig {
        mailboxes: 10,
        ..Default::default()
    })
    .await
    .unwrap();
    let home = store_with(vec![profile(
        "Contoso EXO",
        "ops@contoso.com",
        &h.urls().authority(),
        &h.urls().exo,
    )]);
    let o = cli(&home, &["doctor", "Contoso EXO"], "").await;
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    let login = h.urls().login.trim_start_matches("http://").to_string();
    let exo = h.urls().exo.trim_start_matches("http://").to_string();
    for want in [
        "✓ DNS 127.0.0.1 → 127.0.0.1".to_string(),
        format!("✓ TCP {login}: connected to {login}"),
        format!("✓ TCP {exo}: connected to {exo}"),
        format!("– TLS {login}: skipped: plain http to loopback (the simulated tenant)"),
        "✓ OpenID".to_string(),
        "metadata found".to_string(),
        "✓ Clock".to_string(),
        "All ".to_string(),
    ] {
        assert!(
            o.stdout.contains(&want),
            "missing {want:?} in:\n{}",
            o.stdout
        );
    }
    assert!(!o.stdout.contains('✗'), "{}", o.stdout);
    // Every step line has its time.
    for line in o.stdout.lines().filter(|l| l.starts_with('✓')) {
        assert!(line.ends_with(" ms)"), "{line}");
    }

    let o = cli(&home, &["doctor", "Contoso EXO", "--format", "json"], "").await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["passed"], true);
    let steps = v["steps"].as_array().unwrap();
    assert!(steps.len() >= 9, "{steps:?}");
    let kinds: Vec<&str> = steps.iter().map(|s| s["kind"].as_str().unwrap()).collect();
    for k in ["route", "dns", "tcp", "tls", "open_id", "clock"] {
        assert!(kinds.contains(&k), "{k} missing in {kinds:?}");
    }
    assert!(
        steps
            .iter()
            .all(|s| s["outcome"] == "passed" || s["outcome"] == "skipped")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_explains_a_closed_port_and_exits_1() {
    let h = exo_connect::sim::start(SimConfig {
        mailboxes: 10,
        ..Default::default()
    })
    .await
    .unwrap();
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let home = store_with(vec![profile(
        "Closed",
        "ops@contoso.com",
        &h.urls().authority(),
        &format!("http://127.0.0.1:{port}"),
    )]);
    let o = cli(&home, &["doctor", "Closed"], "").await;
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
    // The sign-in host is fine, the service host is not.
    assert!(o.stdout.contains("✓ OpenID"), "{}", o.stdout);
    assert!(
        o.stdout.contains(&format!(
            "✗ TCP 127.0.0.1:{port}: connection refused by 127.0.0.1:{port}: nothing listens on 127.0.0.1:{port} / a firewall blocks it: TCP {port} must be open to Microsoft 365"
        )),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout
            .contains("    What happened: The connection to the service was refused or timed out."),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("    Why: "), "{}", o.stdout);
    assert!(o.stdout.contains("    What to do: "), "{}", o.stdout);
    assert!(o.stdout.contains("1 of "), "{}", o.stdout);
    assert!(o.stderr.contains("checks failed"), "{}", o.stderr);

    let o = cli(&home, &["doctor", "Closed", "--format", "json"], "").await;
    assert_eq!(o.code, 1);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["passed"], false);
    let failed: Vec<&serde_json::Value> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["outcome"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["kind"], "tcp");
    assert_eq!(failed[0]["advice"]["id"], "tcp-blocked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_usage_errors_exit_2() {
    let home = store_with(vec![]);
    let o = cli(&home, &["doctor", "Nope"], "").await;
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("no profile named 'Nope'"), "{}", o.stderr);
    let o = cli(&home, &["doctor", "Nope", "--timeout", "0"], "").await;
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("--timeout"), "{}", o.stderr);
    let o = cli(&home, &["doctor", "Nope", "--format", "xml"], "").await;
    assert_eq!(o.code, 2);
}

/// `exo-connect run` shows what happened, why and what to do for a catalogued service error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_failure_carries_the_catalogue_explanation() {
    let h = exo_connect::sim::start(SimConfig {
        mailboxes: 10,
        connection_cap: Some(1000),
        ..Default::default()
    })
    .await
    .unwrap();
    let home = store_with(vec![profile(
        "Helpdesk",
        "helpdesk@contoso.com",
        &h.urls().authority(),
        &h.urls().exo,
    )]);
    let pw = format!(
        "helpdesk{}\n",
        exo_connect::sim::world::DEMO_PASSWORD_SUFFIX
    );
    let o = cli(
        &home,
        &["run", "Helpdesk", "--password-stdin", "--", "Get-Mailbox"],
        &pw,
    )
    .await;
    assert_eq!(o.code, 1, "{}\n{}", o.stdout, o.stderr);
    assert!(o.stderr.contains("RemotePowerShellEnabled"), "{}", o.stderr);
    assert!(
        o.stderr
            .contains("Why: The user's RemotePowerShellEnabled setting is False"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr
            .contains("What to do: Ask an Exchange administrator"),
        "{}",
        o.stderr
    );
}
