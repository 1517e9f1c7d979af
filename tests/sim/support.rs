//! Helpers shared by the sim tests: a plain reqwest client (no redirects followed), a sim
//! started for a test, tokens minted with the sim's own keys, admin API calls, paging.
#![allow(dead_code)]

use exo_connect::sim::tokens::{AccessClaims, SimKeys};
use exo_connect::sim::{SimConfig, SimHandle, start};
use serde_json::{Value, json};

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub async fn sim(cfg: SimConfig) -> SimHandle {
    start(cfg).await.unwrap()
}

pub fn cfg(mailboxes: usize) -> SimConfig {
    SimConfig {
        mailboxes,
        ..SimConfig::default()
    }
}

/// A delegated token for a World user, for `aud`.
pub fn user_token(h: &SimHandle, upn: &str, aud: &str, exp_in: i64) -> String {
    let u = h.world().user(upn).unwrap();
    mint(
        &h.shared.keys,
        &u.tenant_id.to_string(),
        Some(upn),
        None,
        aud,
        exp_in,
    )
}

pub fn mint(
    keys: &SimKeys,
    tid: &str,
    upn: Option<&str>,
    roles: Option<Vec<String>>,
    aud: &str,
    exp_in: i64,
) -> String {
    let now = chrono::Utc::now().timestamp();
    keys.issue_access_token(&AccessClaims {
        aud: aud.into(),
        iss: format!("http://127.0.0.1/{tid}/v2.0"),
        tid: tid.into(),
        oid: uuid::Uuid::new_v4().to_string(),
        upn: upn.map(str::to_string),
        scp: upn.map(|_| "Exchange.Manage".to_string()),
        roles,
        appid: "fb78d390-0c51-40cd-8e17-fdbfab77341b".into(),
        iat: now,
        nbf: now,
        exp: now + exp_in,
    })
}

pub fn tid(h: &SimHandle, domain: &str) -> String {
    h.world().tenant(domain).unwrap().id.to_string()
}

pub fn url(origin: &str, tenant: &str) -> String {
    format!("{origin}/adminapi/beta/{tenant}/InvokeCommand")
}

pub fn body(cmdlet: &str, params: Value) -> Value {
    json!({"CmdletInput": {"CmdletName": cmdlet, "Parameters": params}})
}

pub struct Call<'a> {
    pub c: &'a reqwest::Client,
    pub token: Option<&'a str>,
    pub anchor: Option<&'a str>,
    pub extra: Vec<(&'a str, String)>,
}

impl<'a> Call<'a> {
    pub fn new(c: &'a reqwest::Client, token: &'a str) -> Call<'a> {
        Call {
            c,
            token: Some(token),
            anchor: Some("UPN:admin@contoso.com"),
            extra: Vec::new(),
        }
    }
    pub fn header(mut self, k: &'a str, v: impl Into<String>) -> Self {
        self.extra.push((k, v.into()));
        self
    }
    pub fn req(&self, r: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let mut r = r;
        if let Some(t) = self.token {
            r = r.bearer_auth(t);
        }
        if let Some(a) = self.anchor {
            r = r.header("X-AnchorMailbox", a);
        }
        for (k, v) in &self.extra {
            r = r.header(*k, v);
        }
        r
    }
    pub async fn post(&self, url: &str, b: &Value) -> reqwest::Response {
        self.req(self.c.post(url).json(b)).send().await.unwrap()
    }
    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.req(self.c.get(url)).send().await.unwrap()
    }
}

pub async fn json_of(r: reqwest::Response) -> (u16, Value) {
    let s = r.status().as_u16();
    let v = r.json().await.unwrap_or(Value::Null);
    (s, v)
}

pub fn detail(v: &Value) -> String {
    v["error"]["details"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Follows nextLinks by POST (same body) or GET; returns the rows and the number of pages.
pub async fn collect(call: &Call<'_>, first: &str, b: &Value, by_get: bool) -> (Vec<Value>, usize) {
    let (s, mut v) = json_of(call.post(first, b).await).await;
    assert_eq!(s, 200, "{v}");
    let mut rows = Vec::new();
    let mut pages = 1;
    loop {
        rows.extend(v["value"].as_array().cloned().unwrap_or_default());
        let Some(next) = v["@odata.nextLink"].as_str().map(str::to_string) else {
            break;
        };
        let r = if by_get {
            call.get(&next).await
        } else {
            call.post(&next, b).await
        };
        let (s, nv) = json_of(r).await;
        assert_eq!(s, 200, "{nv}");
        v = nv;
        pages += 1;
    }
    (rows, pages)
}

/// An access token from the sim's token endpoint by the password grant (non-MFA accounts).
pub async fn password_token(
    c: &reqwest::Client,
    h: &SimHandle,
    upn: &str,
    password: &str,
    resource: &str,
    authority: &str,
) -> String {
    let r = c
        .post(format!("{}/{authority}/oauth2/v2.0/token", h.urls().login))
        .form(&[
            ("client_id", "fb78d390-0c51-40cd-8e17-fdbfab77341b"),
            ("grant_type", "password"),
            ("username", upn),
            ("password", password),
            (
                "scope",
                &format!("{resource}/.default offline_access openid profile"),
            ),
        ])
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    v["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token for {upn}: {v}"))
        .to_string()
}
