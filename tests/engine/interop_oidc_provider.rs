//! Interoperability: the sign-in engine against an OAuth server nobody on this project wrote —
//! `oidc-provider` from npm (tests/interop/oidc_provider/server.mjs), with its own development
//! login and consent pages and its own device-code pages, driven here by a cookie-keeping HTTP
//! client playing the browser. Run by `tests/system/oidc_provider.sh` (which runs `npm ci`):
//! `cargo test --test engine interop_oidc_provider:: -- --ignored`.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use exo_connect::engine::auth::{
    BrowserLauncher, SignInError, SignInEvent, SignInOptions, TokenCache,
};
use exo_connect::engine::http::{HttpOptions, build_client};
use exo_connect::engine::secrets::SecretStore;
use exo_connect::engine::token::TokenProvider;
use exo_connect::model::SignInMethod;
use exo_connect::model::{Cloud, Profile, Service};
use futures_util::future::BoxFuture;
use tokio::io::{AsyncBufReadExt, BufReader};

const RESOURCE: &str = "http://127.0.0.1:5555";
const USER: &str = "admin@contoso.com";

struct Server {
    issuer: String,
    _child: tokio::process::Child,
}

async fn start_server() -> Server {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/oidc_provider");
    assert!(
        std::path::Path::new(dir)
            .join("node_modules/oidc-provider")
            .exists(),
        "run `npm ci` in {dir} (tests/system/oidc_provider.sh does)"
    );
    let mut child = tokio::process::Command::new("node")
        .arg("server.mjs")
        .arg(RESOURCE)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let issuer = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(l) = lines.next_line().await.unwrap() {
            if let Some(i) = l.strip_prefix("issuer ") {
                return i.to_string();
            }
        }
        panic!("the server ended without printing its issuer");
    })
    .await
    .expect("oidc-provider starts");
    // Keep draining its stdout (its notices go there; a closed pipe would kill it).
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Server {
        issuer,
        _child: child,
    }
}

fn profile(s: &Server) -> Profile {
    let mut p = Profile::new("interop", USER, Service::ExchangeOnline);
    p.cloud = Cloud::Custom;
    p.connection_uri = Some(format!("{RESOURCE}/powershell-liveid/"));
    p.authorization_endpoint = Some(format!("{}/organizations", s.issuer));
    p
}

/// A minimal browser: keeps cookies, follows redirects, fills oidc-provider's forms.
struct Browser {
    c: reqwest::Client,
    cookies: Mutex<BTreeMap<String, String>>,
    tamper_state: bool,
}

fn attr_after(html: &str, marker: &str, attr: &str) -> Option<String> {
    let i = html.find(marker)?;
    let tag_start = html[..i].rfind('<')?;
    let tag = &html[tag_start..i + marker.len() + html[i + marker.len()..].find('>')?];
    let k = format!("{attr}=\"");
    let s = tag.find(&k)? + k.len();
    Some(tag[s..s + tag[s..].find('"')?].replace("&amp;", "&"))
}

fn form_action(html: &str) -> Option<String> {
    let i = html.find("<form")?;
    let rest = &html[i..];
    let s = rest.find("action=\"")? + 8;
    Some(rest[s..s + rest[s..].find('"')?].replace("&amp;", "&"))
}

impl Browser {
    fn new() -> Arc<Browser> {
        Arc::new(Browser {
            c: build_client(&HttpOptions::default()).unwrap(),
            cookies: Mutex::new(BTreeMap::new()),
            tamper_state: false,
        })
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&self, r: &reqwest::Response) {
        let mut jar = self.cookies.lock().unwrap();
        for v in r.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap_or("");
            let pair = v.split(';').next().unwrap_or("");
            if let Some((k, val)) = pair.split_once('=') {
                let expired = v.to_ascii_lowercase().contains("expires=thu, 01 jan 1970");
                if val.is_empty() || expired {
                    jar.remove(k.trim());
                } else {
                    jar.insert(k.trim().to_string(), val.to_string());
                }
            }
        }
    }

    async fn send(&self, rb: reqwest::RequestBuilder) -> reqwest::Response {
        let r = rb
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep_cookies(&r);
        r
    }

    /// Browses from `url` as USER until the loopback redirect (delivered) or a final page.
    async fn browse(&self, url: &str, user_code: Option<&str>) -> String {
        let mut here = url::Url::parse(url).unwrap();
        let mut r = self.send(self.c.get(here.as_str())).await;
        for _ in 0..20 {
            if r.status().is_redirection() {
                let loc = r.headers()["location"].to_str().unwrap().to_string();
                let mut next = here.join(&loc).unwrap();
                if next.host_str() == Some("localhost") {
                    if self.tamper_state {
                        let pairs: Vec<(String, String)> = next
                            .query_pairs()
                            .map(|(k, v)| {
                                let v = if k == "state" {
                                    "forged".into()
                                } else {
                                    v.into_owned()
                                };
                                (k.into_owned(), v)
                            })
                            .collect();
                        next.query_pairs_mut().clear().extend_pairs(pairs);
                    }
                    let page = self.c.get(next.as_str()).send().await.unwrap();
                    return page.text().await.unwrap();
                }
                here = next;
                r = self.send(self.c.get(here.as_str())).await;
                continue;
            }
            let status = r.status();
            let html = r.text().await.unwrap();
            assert!(status.is_success(), "{status}: {html}");
            let action = form_action(&html).map(|a| here.join(&a).unwrap());
            let form: Vec<(String, String)> = if html.contains("name=\"prompt\" value=\"login\"") {
                vec![
                    ("prompt".into(), "login".into()),
                    ("login".into(), USER.into()),
                    ("password".into(), "any".into()),
                ]
            } else if html.contains("name=\"prompt\" value=\"consent\"") {
                vec![("prompt".into(), "consent".into())]
            } else if html.contains("name=\"confirm\"") {
                let xsrf = attr_after(&html, "name=\"xsrf\"", "value").unwrap();
                let code = attr_after(&html, "name=\"user_code\"", "value").unwrap();
                vec![
                    ("xsrf".into(), xsrf),
                    ("user_code".into(), code),
                    ("confirm".into(), "yes".into()),
                ]
            } else if html.contains("name=\"xsrf\"") {
                let xsrf = attr_after(&html, "name=\"xsrf\"", "value").unwrap();
                vec![
                    ("xsrf".into(), xsrf),
                    ("user_code".into(), user_code.expect("a user code").into()),
                ]
            } else {
                return html;
            };
            let action = action.expect("the page has a form");
            here = action.clone();
            r = self.send(self.c.post(action.as_str()).form(&form)).await;
        }
        panic!("too many steps");
    }
}

impl BrowserLauncher for Browser {
    fn open<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            self.browse(url, None).await;
            Ok(())
        })
    }
}

fn cache() -> Arc<TokenCache> {
    TokenCache::new(
        build_client(&HttpOptions::default()).unwrap(),
        SecretStore::memory(),
    )
}

#[tokio::test]
#[ignore = "needs node and `npm ci` in tests/interop/oidc_provider: run tests/system/oidc_provider.sh"]
async fn device_code_and_refresh_against_oidc_provider() {
    let s = start_server().await;
    let c = cache();
    let p = profile(&s);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let opts = SignInOptions {
        method: Some(SignInMethod::DeviceCode),
        events: Some(tx),
        timeout: Duration::from_secs(30),
        ..Default::default()
    };
    let run = tokio::spawn({
        let (c, p) = (c.clone(), p.clone());
        async move { c.sign_in(&p, opts).await }
    });
    let (code, uri) = loop {
        let e = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .unwrap()
            .unwrap();
        if let SignInEvent::CodeIssued {
            user_code,
            verification_uri,
            ..
        } = e
        {
            break (user_code, verification_uri);
        }
    };
    assert_eq!(uri, format!("{}/devicelogin", s.issuer));
    let page = Browser::new().browse(&uri, Some(&code)).await;
    assert!(page.to_lowercase().contains("success"), "{page}");
    let signed = run
        .await
        .unwrap()
        .expect("signed in through oidc-provider's device flow");
    assert_eq!(signed.account, USER);
    assert_eq!(signed.tenant_id, "interop-tenant");
    // Its refresh token works with our refresh grant.
    let prov = c.provider(&p, None, None).unwrap();
    let t = prov.token(true).await.expect("refreshed at oidc-provider");
    assert!(t.expires_at > chrono::Utc::now());
}

#[tokio::test]
#[ignore = "needs node and `npm ci` in tests/interop/oidc_provider: run tests/system/oidc_provider.sh"]
async fn browser_pkce_against_oidc_provider_and_a_forged_state_is_refused() {
    let s = start_server().await;
    let p = profile(&s);
    let opts = SignInOptions {
        method: Some(SignInMethod::Browser),
        browser: Browser::new(),
        timeout: Duration::from_secs(30),
        ..Default::default()
    };
    let signed = cache()
        .sign_in(&p, opts)
        .await
        .expect("PKCE sign-in at oidc-provider");
    assert_eq!(signed.account, USER);
    assert!(signed.upn_mismatch.is_none());

    let forger = Arc::new(Browser {
        tamper_state: true,
        ..Arc::try_unwrap(Browser::new()).ok().unwrap()
    });
    let opts = SignInOptions {
        method: Some(SignInMethod::Browser),
        browser: forger,
        timeout: Duration::from_secs(8),
        ..Default::default()
    };
    // The listener answers a redirect with another state 400 and keeps waiting for the real one
    // (a stray or forged request neither uses it up nor signs in): with only the forged one, the
    // sign-in never completes and ends at its timeout.
    let e = cache().sign_in(&p, opts).await.unwrap_err();
    assert!(matches!(e, SignInError::TimedOut(_)), "{e:?}");
}
