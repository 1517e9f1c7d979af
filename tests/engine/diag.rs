//! The diagnostic log (`engine::diag`) over a real flow: a password sign-in and a device-code
//! sign-in against the sim through the connect use-case, then a cmdlet with a retry, all at
//! debug level into a log file. The log has the requests, status codes, timings, request ids and
//! sign-in steps, and none of the secrets this client held: the access tokens it got, every
//! refresh token in its keychain, the password, the device code's user code.

use crate::common::signin_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::mpsc;

use exo_connect::engine::auth::{NoBrowser, SignInError, SignInEvent, TokenCache};
use exo_connect::engine::connect::{
    ConnectError, ConnectOptions, Connector, OnFailure, OnMismatch, SignInPrompt,
};
use exo_connect::engine::diag::{Diagnostics, LogLevel};
use exo_connect::engine::http::{HttpOptions, build_client};
use exo_connect::engine::proxy::Clients;
use exo_connect::engine::rest::CmdletRequest;
use exo_connect::engine::secrets::SecretStore;
use exo_connect::engine::sessions::{RegistrySettings, SessionRegistry};
use exo_connect::model::AuthMethod;
use signin_support::*;

/// Gives the password once; sends device codes to the test (which plays the browser).
struct Prompt {
    password: Mutex<Option<String>>,
    codes: mpsc::UnboundedSender<String>,
}

impl SignInPrompt for Prompt {
    fn show(&self, event: &SignInEvent) {
        if let SignInEvent::CodeIssued { user_code, .. } = event {
            let _ = self.codes.send(user_code.clone());
        }
    }
    fn password(&self) -> BoxFuture<'_, Result<String, ConnectError>> {
        let pw = self.password.lock().unwrap().take();
        Box::pin(async move { pw.ok_or(ConnectError::SignIn(SignInError::Cancelled)) })
    }
    fn upn_mismatch<'a>(&'a self, _e: &'a str, _a: &'a str) -> BoxFuture<'a, OnMismatch> {
        Box::pin(async { OnMismatch::Cancel })
    }
    fn failed<'a>(&'a self, _error: &'a SignInError) -> BoxFuture<'a, OnFailure> {
        Box::pin(async { OnFailure::GiveUp })
    }
}

// current_thread: every task of this flow runs on this thread, under the log's subscriber
// (set for this thread only; other tests in the binary are not logged). The subscriber is not
// the global default here, unlike in the binary (`diag::global`).
#[tokio::test(flavor = "current_thread")]
async fn a_sign_in_and_a_cmdlet_are_logged_without_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let diag = Diagnostics::new(LogLevel::Debug);
    let path = diag.set_folder(Some(dir.path())).unwrap().unwrap();
    // tracing caches each call site's interest; while only one dispatcher exists it asks the
    // default of whichever thread hits the site first, and another test's thread (no subscriber)
    // would switch our sites off for good. With two dispatchers alive it asks every dispatcher.
    let _second = tracing::Dispatch::new(Diagnostics::new(LogLevel::Warn).subscriber());
    let _guard = tracing::dispatcher::set_default(&tracing::Dispatch::new(diag.subscriber()));

    let h = start_sim(|c| c.faults = "503@3".into()).await;
    let shared = build_client(&HttpOptions::default()).unwrap();
    let secrets = SecretStore::memory();
    let c = Connector::new(
        TokenCache::new(shared.clone(), secrets.clone()),
        Clients::new(shared, secrets.clone()),
        SessionRegistry::start(RegistrySettings::default()),
    )
    .with_browser(Arc::new(NoBrowser))
    .with_signin_timeout(Duration::from_secs(30));

    // A password sign-in.
    let mut p = profile(&h, "ops@contoso.com");
    p.auth = AuthMethod::Password;
    let (codes_tx, mut codes) = mpsc::unbounded_channel();
    let prompt = Prompt {
        password: Mutex::new(Some(password_of("ops@contoso.com"))),
        codes: codes_tx.clone(),
    };
    let first = c
        .connect(&p, &prompt, &ConnectOptions::default())
        .await
        .unwrap();

    // A device-code sign-in (the test completes the code on the sim's page).
    let mut q = profile(&h, "admin@northwind.com");
    q.name = "sim device code".into();
    q.auth = AuthMethod::DeviceCode;
    let user_codes = Arc::new(Mutex::new(Vec::new()));
    let (h2, seen) = (h.clone(), user_codes.clone());
    tokio::spawn(async move {
        while let Some(code) = codes.recv().await {
            seen.lock().unwrap().push(code.clone());
            complete_device_login(
                &h2,
                &code,
                &UserAction::SignIn("admin@northwind.com".into()),
            )
            .await;
        }
    });
    let prompt = Prompt {
        password: Mutex::new(None),
        codes: codes_tx,
    };
    let second = c
        .connect(&q, &prompt, &ConnectOptions::default())
        .await
        .unwrap();

    // A cmdlet on the first session: its first page answers 503 once (the log shows the retry).
    let out = c
        .registry()
        .run(
            first.session.connection_id,
            CmdletRequest::new("Get-Mailbox").param("ResultSize", "5"),
        )
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(out.rows.len(), 5);

    // The secrets this client held.
    let mut secret_values = vec![
        first.signed_in.access.secret.clone(),
        second.signed_in.access.secret.clone(),
        password_of("ops@contoso.com"),
    ];
    let keys = secrets.keys("").await;
    for k in &keys {
        secret_values.push(secrets.get(k).await.unwrap());
    }
    assert!(keys.len() >= 2, "both refresh tokens are kept: {keys:?}");
    let user_codes = user_codes.lock().unwrap().clone();
    assert_eq!(user_codes.len(), 1, "one device code");
    secret_values.extend(user_codes);

    let log = std::fs::read_to_string(&path).unwrap();
    for s in &secret_values {
        assert!(s.len() >= 8, "a real secret: {s:?}");
        assert!(!log.contains(s.as_str()), "a secret in the log:\n{log}");
        // Not even a piece of it (a token cut in half is still half a token).
        assert!(
            !log.contains(&s[s.len() / 2..]),
            "part of a secret in the log:\n{log}"
        );
    }
    assert!(!log.contains("eyJ"), "{log}");

    // What support needs.
    for want in [
        "sign-in step grant=password",
        "device code issued",
        "grant=urn:ietf:params:oauth:grant-type:device_code",
        "signed in profile=sim account=ops@contoso.com",
        "account=admin@northwind.com",
        "what=Get-AcceptedDomain",
        "what=Get-Mailbox method=POST",
        "status=503",
        "retry attempt=1",
        "session connection_id=",
    ] {
        assert!(log.contains(want), "{want:?} missing from the log:\n{log}");
    }
    let responses: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" response what=Get-"))
        .collect();
    assert!(responses.len() >= 4, "{log}");
    for l in &responses {
        assert!(l.contains(" status=") && l.contains(" ms="), "{l}");
        let id = l.split(" request_id=").nth(1).unwrap_or("");
        assert!(
            uuid::Uuid::parse_str(id.split(' ').next().unwrap_or("")).is_ok(),
            "the service's request id: {l}"
        );
    }
    // The memory ring holds the same lines ("Copy diagnostics").
    assert!(diag.recent(5).iter().any(|l| log.contains(l.as_str())));
}
