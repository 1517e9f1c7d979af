//! Browser sign-in: authorization code + PKCE S256 (oauth2 5) with a single-use loopback
//! listener on 127.0.0.1 (random port), `state` checked before any token request: in the
//! listener itself (an answer with another `state` gets a 400 and the listener keeps waiting
//! for the real redirect, so a stray or forged request can neither end nor use up the sign-in)
//! and again before the code is redeemed.

use std::time::Duration;

use futures_util::future::BoxFuture;
use oauth2::basic::{
    BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, CsrfToken, EndpointNotSet, EndpointSet, ExtraTokenFields,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope,
    StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::Instant;

use super::entra::EntraError;
use super::flows::{FlowCtx, TokenGrant};
use super::transport::OAuthHttp;
use super::{PUBLIC_CLIENT_ID, SignInError, SignInEvent};

/// Opens a URL in the user's browser. Tests inject one that drives the sim's page over HTTP.
pub trait BrowserLauncher: Send + Sync {
    fn open<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<(), String>>;
}

/// The system browser, without a shell (see [`super::open`]): only `https:` (or loopback
/// `http:`) addresses are opened.
#[derive(Debug, Default, Clone)]
pub struct SystemBrowser;

impl BrowserLauncher for SystemBrowser {
    fn open<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(super::open::open_in_browser(url))
    }
}

/// A launcher that never opens anything: the URL is reported to copy instead
/// (`SignInEvent::OpenBrowserFailed`).
#[derive(Debug, Default, Clone)]
pub struct NoBrowser;

impl BrowserLauncher for NoBrowser {
    fn open<'a>(&'a self, _url: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async { Err("opening a browser is disabled (EXO_CONNECT_NO_BROWSER)".into()) })
    }
}

/// The system browser, or [`NoBrowser`] when `EXO_CONNECT_NO_BROWSER` is set and non-empty
/// (headless machines, tests).
pub fn launcher_from_env() -> std::sync::Arc<dyn BrowserLauncher> {
    if std::env::var_os("EXO_CONNECT_NO_BROWSER").is_some_and(|v| !v.is_empty()) {
        std::sync::Arc::new(NoBrowser)
    } else {
        std::sync::Arc::new(SystemBrowser)
    }
}

/// Entra's extra token fields.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EntraTokenFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ext_expires_in: Option<u64>,
}
impl ExtraTokenFields for EntraTokenFields {}

pub type EntraTokenResponse = StandardTokenResponse<EntraTokenFields, BasicTokenType>;

/// oauth2 client with Entra's token and error types; auth + token URLs set.
pub type EntraClient = oauth2::Client<
    EntraError,
    EntraTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// A browser sign-in ready to start: the URL to open, the listener, and the PKCE secret.
pub struct PreparedBrowser {
    pub url: String,
    pub redirect_uri: String,
    pub state: CsrfToken,
    pub verifier: PkceCodeVerifier,
    pub listener: TcpListener,
    client: EntraClient,
}

impl std::fmt::Debug for PreparedBrowser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedBrowser")
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// What the browser delivered to the loopback listener.
#[derive(Clone, PartialEq, Eq)]
pub struct Redirect {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

impl std::fmt::Debug for Redirect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redirect")
            .field("has_code", &self.code.is_some())
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

pub fn entra_client(authority: &str, redirect_uri: &str) -> Result<EntraClient, SignInError> {
    let a = authority.trim_end_matches('/');
    let bad = |e: url::ParseError| SignInError::Config(format!("invalid authority {a}: {e}"));
    Ok(
        oauth2::Client::new(ClientId::new(PUBLIC_CLIENT_ID.to_string()))
            .set_auth_uri(AuthUrl::new(format!("{a}/oauth2/v2.0/authorize")).map_err(bad)?)
            .set_token_uri(TokenUrl::new(format!("{a}/oauth2/v2.0/token")).map_err(bad)?)
            .set_redirect_uri(RedirectUrl::new(redirect_uri.to_string()).map_err(bad)?),
    )
}

/// Binds the loopback listener and builds the authorize URL (PKCE S256, random state).
pub async fn prepare(
    authority: &str,
    scope: &str,
    login_hint: Option<&str>,
) -> Result<PreparedBrowser, SignInError> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| SignInError::Browser(format!("cannot listen on 127.0.0.1: {e}")))?;
    let port = listener
        .local_addr()
        .map_err(|e| SignInError::Browser(e.to_string()))?
        .port();
    let redirect_uri = format!("http://localhost:{port}/");
    let client = entra_client(authority, &redirect_uri)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = client
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge)
        .add_extra_param("response_mode", "query");
    for s in scope.split_whitespace() {
        req = req.add_scope(Scope::new(s.to_string()));
    }
    if let Some(h) = login_hint.filter(|h| !h.is_empty()) {
        req = req.add_extra_param("login_hint", h);
    }
    let (url, state) = req.url();
    Ok(PreparedBrowser {
        url: url.to_string(),
        redirect_uri,
        state,
        verifier,
        listener,
        client,
    })
}

const DONE_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>exo-connect</title></head><body style=\"font-family:sans-serif\"><h1>Sign-in complete</h1><p>You can close this window and return to exo-connect.</p></body></html>";
const FOREIGN_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>exo-connect</title></head><body style=\"font-family:sans-serif\"><h1>Not the sign-in in progress</h1><p>This answer does not belong to the sign-in exo-connect is waiting for, so it was ignored. Finish the sign-in in the window exo-connect opened.</p></body></html>";
const FAILED_PAGE: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>exo-connect</title></head><body style=\"font-family:sans-serif\"><h1>Sign-in not completed</h1><p>Return to exo-connect for details. You can close this window.</p></body></html>";

/// Waits for the browser's redirect carrying `expected_state` on the listener and returns its
/// query, answering with a small page. Connections that carry no OAuth answer (a browser's idle
/// pre-connection, a `/favicon.ico`) get a 404 or are dropped and skipped; an answer with another
/// `state` (or none) gets a 400 and is skipped too; the listener is dropped after the one
/// redirect (single use). The caller bounds the whole wait.
pub async fn receive_redirect(
    listener: TcpListener,
    expected_state: &str,
) -> Result<Redirect, SignInError> {
    // Each connection is read on its own task, so an idle pre-connection never delays the
    // connection that carries the redirect.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(tokio::net::TcpStream, String)>(8);
    let mut readers = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (mut sock, _) = accepted.map_err(|e| {
                    SignInError::Browser(format!("the loopback listener failed: {e}"))
                })?;
                let tx = tx.clone();
                readers.spawn(async move {
                    if let Some(target) = read_request_target(&mut sock).await {
                        let _ = tx.send((sock, target)).await;
                    }
                });
            }
            Some((mut sock, target)) = rx.recv() => {
                let Some(r) = parse_redirect(&target) else {
                    let _ = respond(&mut sock, "404 Not Found", "").await;
                    continue;
                };
                if r.state.as_deref() != Some(expected_state) {
                    let _ = respond(&mut sock, "400 Bad Request", FOREIGN_PAGE).await;
                    continue;
                }
                drop(listener);
                readers.abort_all();
                let (status, page) = if r.code.is_some() && r.error.is_none() {
                    ("200 OK", DONE_PAGE)
                } else {
                    ("400 Bad Request", FAILED_PAGE)
                };
                let _ = respond(&mut sock, status, page).await;
                return Ok(r);
            }
        }
    }
}

/// Reads one request head (bounded in time and size) and returns its target, or None for a
/// connection that sends nothing usable.
async fn read_request_target(sock: &mut tokio::net::TcpStream) -> Option<String> {
    let mut buf = Vec::with_capacity(2048);
    let mut chunk = [0u8; 2048];
    let read = async {
        loop {
            let n = sock.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
            if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.len() > 32 * 1024 {
                break;
            }
        }
        Ok::<_, std::io::Error>(())
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .ok()?
        .ok()?;
    let head = String::from_utf8_lossy(&buf);
    let mut parts = head.lines().next()?.split_whitespace();
    let _method = parts.next()?;
    Some(parts.next()?.to_string())
}

/// The OAuth answer in a request target (`/?code=..&state=..` or `/?error=..`), or None.
fn parse_redirect(target: &str) -> Option<Redirect> {
    let u = url::Url::parse(&format!("http://localhost{target}")).ok()?;
    if u.path() != "/" {
        return None;
    }
    let mut r = Redirect {
        code: None,
        state: None,
        error: None,
        error_description: None,
    };
    for (k, v) in u.query_pairs() {
        match k.as_ref() {
            "code" => r.code = Some(v.into_owned()),
            "state" => r.state = Some(v.into_owned()),
            "error" => r.error = Some(v.into_owned()),
            "error_description" => r.error_description = Some(v.into_owned()),
            _ => {}
        }
    }
    (r.code.is_some() || r.error.is_some()).then_some(r)
}

async fn respond(
    sock: &mut tokio::net::TcpStream,
    status: &str,
    page: &str,
) -> std::io::Result<()> {
    let resp = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n{page}",
        page.len()
    );
    sock.write_all(resp.as_bytes()).await?;
    sock.shutdown().await
}

/// Checks the redirect (state first: a wrong state never leads to a token request).
pub fn check_redirect(r: &Redirect, expected_state: &CsrfToken) -> Result<String, SignInError> {
    if r.state.as_deref() != Some(expected_state.secret().as_str()) {
        return Err(SignInError::StateMismatch);
    }
    if let Some(e) = &r.error {
        if e == "access_denied" {
            return Err(SignInError::Declined);
        }
        return Err(SignInError::Entra(Box::new(EntraError {
            error: e.clone(),
            error_description: r.error_description.clone(),
            ..Default::default()
        })));
    }
    r.code.clone().filter(|c| !c.is_empty()).ok_or_else(|| {
        SignInError::Browser("the browser answer carried no authorization code".into())
    })
}

/// Redeems an authorization code with its PKCE verifier (oauth2 over the shared client).
pub async fn redeem_code(
    http: &OAuthHttp,
    client: &EntraClient,
    code: &str,
    verifier: PkceCodeVerifier,
) -> Result<TokenGrant, SignInError> {
    let resp = client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .set_pkce_verifier(verifier)
        .request_async(http)
        .await
        .map_err(|e| match e {
            RequestTokenError::ServerResponse(er) => SignInError::Entra(Box::new(er)),
            RequestTokenError::Request(t) => SignInError::Network(t.0),
            RequestTokenError::Parse(_, _) => {
                SignInError::Network("the token endpoint's answer could not be parsed".into())
            }
            RequestTokenError::Other(o) => SignInError::Network(o),
        })?;
    let secs = resp
        .expires_in()
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(3600);
    Ok(TokenGrant {
        access_token: resp.access_token().secret().clone(),
        refresh_token: resp.refresh_token().map(|r| r.secret().clone()),
        id_token: resp.extra_fields().id_token.clone(),
        expires_at: super::flows::expires_after(secs),
    })
}

impl PreparedBrowser {
    /// Redeems a code for this prepared sign-in (consumes the verifier).
    pub async fn redeem(self, http: &OAuthHttp, code: &str) -> Result<TokenGrant, SignInError> {
        redeem_code(http, &self.client, code, self.verifier).await
    }
}

/// The whole browser flow: prepare, open the browser (or report the URL to copy), wait for the
/// single redirect (bounded by the flow timeout and cancel), check state, redeem the code.
pub async fn run(
    ctx: &FlowCtx,
    launcher: &dyn BrowserLauncher,
    authority: &str,
    scope: &str,
    login_hint: Option<&str>,
) -> Result<TokenGrant, SignInError> {
    let deadline = Instant::now() + ctx.timeout;
    let p = prepare(authority, scope, login_hint).await?;
    let PreparedBrowser {
        mut url,
        state,
        verifier,
        listener,
        client,
        ..
    } = p;
    // A claims challenge's answer (continuous access evaluation) rides on the authorize URL.
    if let Some(c) = &ctx.claims
        && let Ok(mut u) = url::Url::parse(&url)
    {
        u.query_pairs_mut().append_pair("claims", c);
        url = u.to_string();
    }
    let wait = receive_redirect(listener, state.secret());
    tokio::pin!(wait);
    // Open the browser while already listening (the launcher may deliver the redirect itself).
    let opened = tokio::select! {
        biased;
        _ = ctx.cancel.cancelled() => return Err(SignInError::Cancelled),
        r = launcher.open(&url) => Some(r),
        r = &mut wait => {
            // The redirect arrived while the launcher was still busy: it did open a browser.
            ctx.events.emit(SignInEvent::BrowserOpened { url: url.clone() });
            return finish(ctx, r, &state, &client, verifier).await;
        }
    };
    match opened {
        Some(Ok(())) => ctx
            .events
            .emit(SignInEvent::BrowserOpened { url: url.clone() }),
        Some(Err(_)) | None => ctx
            .events
            .emit(SignInEvent::OpenBrowserFailed { url: url.clone() }),
    }
    let r = ctx
        .bounded(deadline, "waiting for the browser sign-in", async {
            (&mut wait).await
        })
        .await;
    finish(ctx, r, &state, &client, verifier).await
}

async fn finish(
    ctx: &FlowCtx,
    r: Result<Redirect, SignInError>,
    state: &CsrfToken,
    client: &EntraClient,
    verifier: PkceCodeVerifier,
) -> Result<TokenGrant, SignInError> {
    let code = check_redirect(&r?, state)?;
    if ctx.cancel.is_cancelled() {
        return Err(SignInError::Cancelled);
    }
    redeem_code(&ctx.http, client, &code, verifier).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn authorize_url_has_pkce_s256_state_and_loopback_redirect() {
        let p = prepare(
            "http://127.0.0.1:9/contoso.com",
            "s/.default offline_access",
            Some("a@b.c"),
        )
        .await
        .unwrap();
        let u = url::Url::parse(&p.url).unwrap();
        assert_eq!(u.path(), "/contoso.com/oauth2/v2.0/authorize");
        let q: std::collections::HashMap<_, _> = u.query_pairs().into_owned().collect();
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], PUBLIC_CLIENT_ID);
        assert_eq!(q["state"], *p.state.secret());
        assert_eq!(q["login_hint"], "a@b.c");
        assert_eq!(q["scope"], "s/.default offline_access");
        assert!(q["redirect_uri"].starts_with("http://localhost:"));
        let port = p.listener.local_addr().unwrap().port();
        assert_eq!(q["redirect_uri"], format!("http://localhost:{port}/"));
    }

    #[tokio::test]
    async fn listener_serves_one_request_and_state_is_checked() {
        let p = prepare("http://127.0.0.1:9/organizations", "s", None)
            .await
            .unwrap();
        let port = p.listener.local_addr().unwrap().port();
        let state = p.state.secret().clone();
        let expected = state.clone();
        let server = tokio::spawn(async move { receive_redirect(p.listener, &expected).await });
        let client =
            crate::engine::http::build_client(&crate::engine::http::HttpOptions::default())
                .unwrap();
        // A browser's idle pre-connections (one closed, one kept open) and a favicon request
        // neither end nor hold up the wait.
        drop(
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap(),
        );
        let _idle = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let started = std::time::Instant::now();
        let fav = client
            .get(format!("http://127.0.0.1:{port}/favicon.ico"))
            .send()
            .await
            .unwrap();
        assert_eq!(fav.status(), 404);
        // A wrong state: 400, and the listener goes on waiting.
        let page = client
            .get(format!("http://127.0.0.1:{port}/?code=abc&state=wrong"))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 400);
        assert!(!page.text().await.unwrap().contains("Sign-in complete"));
        assert!(!server.is_finished());
        let page = client
            .get(format!("http://127.0.0.1:{port}/?code=abc&state={state}"))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        assert!(page.text().await.unwrap().contains("close this window"));
        let r = server.await.unwrap().unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "not held up by the idle connection"
        );
        assert_eq!(r.code.as_deref(), Some("abc"));
        assert_eq!(check_redirect(&r, &p.state).unwrap(), "abc");
        let forged = Redirect {
            state: Some("wrong".into()),
            ..r.clone()
        };
        assert!(matches!(
            check_redirect(&forged, &p.state),
            Err(SignInError::StateMismatch)
        ));
        // Single use: the port no longer answers.
        assert!(
            client
                .get(format!("http://127.0.0.1:{port}/"))
                .send()
                .await
                .is_err()
        );
    }
}
