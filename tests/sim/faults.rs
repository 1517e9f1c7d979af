//! The soak faults, each seen on the wire with plain reqwest: truncated bodies (a broken
//! Content-Length, JSON cut mid-array), 401 mid-paging, redirects to the same host's other
//! port and to another loopback host (the trap), foreign and looping nextLinks, huge and
//! fractional Retry-After, oversized bodies, and the seeded random mode, under which a retrying
//! client loses and duplicates nothing.

use std::collections::HashSet;
use std::time::Duration;

use exo_connect::sim::SimHandle;
use exo_connect::sim::admin::AdminHost;
use serde_json::{Value, json};

use super::support::*;

struct Env {
    h: SimHandle,
    c: reqwest::Client,
    token: String,
    url: String,
}

async fn env(mailboxes: usize) -> Env {
    let h = sim(cfg(mailboxes)).await;
    let exo = h.urls().exo.clone();
    let token = user_token(&h, "ops@contoso.com", &exo, 600);
    let url = url(&exo, &tid(&h, "contoso.com"));
    Env {
        h,
        c: client(),
        token,
        url,
    }
}

fn all_mailboxes() -> Value {
    body("Get-Mailbox", json!({"ResultSize": "Unlimited"}))
}

impl Env {
    fn call(&self) -> Call<'_> {
        Call::new(&self.c, &self.token).header("Prefer", "odata.maxpagesize=100")
    }
    fn fault(&self, spec: &str) {
        self.h.admin.inject_spec(spec).unwrap();
    }
}

#[tokio::test]
async fn truncated_bodies_break_the_length_promise_or_the_json() {
    let e = env(300).await;
    e.fault("truncate");
    let r = e.call().post(&e.url, &all_mailboxes()).await;
    assert_eq!(r.status(), 200);
    let promised: usize = r.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(promised > 1000);
    assert!(
        r.bytes().await.is_err(),
        "the body ends short of its Content-Length"
    );
    e.fault("truncate:after=10");
    let r = e.call().post(&e.url, &all_mailboxes()).await;
    assert!(r.bytes().await.is_err());
    // The same request again: whole.
    let (s, v) = json_of(e.call().post(&e.url, &all_mailboxes()).await).await;
    assert_eq!((s, v["value"].as_array().unwrap().len()), (200, 100));

    e.fault("cutjson");
    let r = e.call().post(&e.url, &all_mailboxes()).await;
    assert_eq!(r.status(), 200);
    let declared: usize = r.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let text = r.text().await.unwrap();
    assert_eq!(text.len(), declared, "HTTP is fine, the JSON is not");
    assert!(text.contains("\"value\":[{"));
    assert!(serde_json::from_str::<Value>(&text).is_err());
}

#[tokio::test]
async fn a_401_in_the_middle_of_paging() {
    let e = env(300).await;
    e.fault("401:on=page");
    let (s, first) = json_of(e.call().post(&e.url, &all_mailboxes()).await).await;
    assert_eq!(s, 200, "the first page is not a paging request");
    let next = first["@odata.nextLink"].as_str().unwrap().to_string();
    let r = e.call().post(&next, &all_mailboxes()).await;
    assert_eq!(r.status(), 401);
    let challenge = r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(challenge.contains("invalid_token"), "{challenge}");
    let (s, page) = json_of(e.call().post(&next, &all_mailboxes()).await).await;
    assert_eq!(s, 200);
    assert_eq!(page["value"].as_array().unwrap().len(), 100);
    let log = e.h.admin.requests();
    assert_eq!(log[1].fault.as_deref(), Some("401:on=page @2"));
}

#[tokio::test]
async fn redirects_to_the_same_host_and_to_another_loopback_host() {
    let e = env(300).await;
    let alt = e.h.fault_urls().exo_alt.clone();
    let trap = e.h.fault_urls().trap.clone();
    let host = |u: &str| {
        reqwest::Url::parse(u)
            .unwrap()
            .host_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(host(&alt), host(&e.url));
    assert_ne!(host(&trap), host(&e.url), "the trap is another host");

    // Mid-paging, EXO redirects to its other port; the same token works there and the pages
    // continue on that host with the same rows.
    let (_, first) = json_of(e.call().post(&e.url, &all_mailboxes()).await).await;
    let next = first["@odata.nextLink"].as_str().unwrap().to_string();
    let (_, direct) = json_of(e.call().post(&next, &all_mailboxes()).await).await;
    e.fault("redirect:on=page");
    let r = e.call().post(&next, &all_mailboxes()).await;
    assert_eq!(r.status(), 302);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(location, next.replace(&e.h.urls().exo, &alt));
    let (s, moved) = json_of(e.call().post(&location, &all_mailboxes()).await).await;
    assert_eq!(s, 200);
    assert_eq!(moved["value"], direct["value"]);
    assert!(moved["@odata.nextLink"].as_str().unwrap().starts_with(&alt));
    let log = e.h.admin.requests();
    assert_eq!(log.last().unwrap().host, AdminHost::ExoAlt);

    // The hostile redirect points at the trap; the trap records who sent a token.
    e.fault("evilredirect");
    let r = e.call().post(&e.url, &all_mailboxes()).await;
    assert_eq!(r.status(), 302);
    let evil = r.headers()["location"].to_str().unwrap().to_string();
    assert!(evil.starts_with(&trap), "{evil}");
    assert!(e.h.admin.trap_hits().is_empty());
    e.c.post(&evil).json(&all_mailboxes()).send().await.unwrap();
    e.call().post(&evil, &all_mailboxes()).await;
    let hits = e.h.admin.trap_hits();
    assert_eq!(hits.len(), 2);
    assert!(!hits[0].authorization && hits[1].authorization);
    assert!(hits[1].path.contains("/InvokeCommand"));
    let dump = format!(
        "{hits:?}{}",
        serde_json::to_string(&e.h.admin.state()).unwrap()
    );
    assert!(
        !dump.contains(e.token.rsplit('.').next().unwrap()),
        "no token kept"
    );

    // SCC regional: the other path case on the same listener.
    let scc = e.h.urls().scc.clone();
    let t = user_token(&e.h, "ops@contoso.com", &scc, 600);
    let regional = url(&e.h.urls().scc_regional, "contoso.com");
    e.fault("redirect");
    let r = Call::new(&e.c, &t)
        .post(&regional, &body("Get-RetentionCompliancePolicy", json!({})))
        .await;
    assert_eq!(r.status(), 302);
    let l = r.headers()["location"].to_str().unwrap();
    assert!(
        l.starts_with(&format!("{}/AdminApi/Beta/", e.h.urls().scc_regional)),
        "{l}"
    );
}

#[tokio::test]
async fn foreign_and_looping_next_links() {
    let e = env(300).await;
    e.fault("foreignnext");
    let (s, v) = json_of(e.call().post(&e.url, &all_mailboxes()).await).await;
    assert_eq!(s, 200);
    assert_eq!(v["value"].as_array().unwrap().len(), 100);
    let next = v["@odata.nextLink"].as_str().unwrap();
    assert!(next.starts_with(&e.h.fault_urls().trap), "{next}");

    let (_, first) = json_of(e.call().post(&e.url, &all_mailboxes()).await).await;
    let next = first["@odata.nextLink"].as_str().unwrap().to_string();
    e.fault("nextloop:on=page");
    let (s, v) = json_of(e.call().post(&next, &all_mailboxes()).await).await;
    assert_eq!(s, 200);
    assert_eq!(
        v["@odata.nextLink"].as_str().unwrap(),
        next,
        "a page pointing to itself"
    );
    e.fault("nextloop");
    let (_, v) = json_of(e.call().post(&e.url, &all_mailboxes()).await).await;
    assert_eq!(v["@odata.nextLink"].as_str().unwrap(), e.url);
}

#[tokio::test]
async fn huge_and_fractional_retry_after() {
    let e = env(10).await;
    for (spec, header) in [("429:retry=1e20", "1e20"), ("429:retry=1.5", "1.5")] {
        e.fault(spec);
        let r = e.call().post(&e.url, &all_mailboxes()).await;
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["retry-after"], header);
    }
}

#[tokio::test]
async fn oversized_bodies_with_and_without_a_length() {
    let e = env(10).await;
    e.fault("huge:mb=3");
    let r = e.call().post(&e.url, &all_mailboxes()).await;
    assert_eq!(r.status(), 200);
    let declared: u64 = r.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(declared > 3 * 1024 * 1024);
    let bytes = r.bytes().await.unwrap();
    assert_eq!(bytes.len() as u64, declared);
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["value"].as_array().unwrap().len(), 3 * 1024 + 1);
    e.fault("huge:mb=2:length=none");
    let r = e.call().post(&e.url, &all_mailboxes()).await;
    assert!(r.headers().get("content-length").is_none());
    assert!(r.bytes().await.unwrap().len() > 2 * 1024 * 1024);
}

/// A client that retries what failed, follows same-host redirects and nothing else.
async fn patient_paging(e: &Env, b: &Value) -> (Vec<Value>, usize) {
    let allowed = [e.h.urls().exo.clone(), e.h.fault_urls().exo_alt.clone()];
    let mut rows = Vec::new();
    let mut next = Some(e.url.clone());
    let mut retries = 0;
    while let Some(u) = next.take() {
        let mut target = u;
        loop {
            assert!(retries < 500, "too many retries");
            let r = match e.call().post(&target, b).await.error_for_status() {
                Ok(r) => r,
                Err(_) => {
                    retries += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            };
            if r.status() == 302 {
                let l = r.headers()["location"].to_str().unwrap().to_string();
                assert!(allowed.iter().any(|a| l.starts_with(a.as_str())), "{l}");
                target = l;
                continue;
            }
            match r.bytes().await.map(|b| serde_json::from_slice::<Value>(&b)) {
                Ok(Ok(v)) => {
                    rows.extend(v["value"].as_array().cloned().unwrap_or_default());
                    next = v["@odata.nextLink"].as_str().map(str::to_string);
                    break;
                }
                _ => {
                    retries += 1;
                    continue;
                }
            }
        }
    }
    (rows, retries)
}

/// `random:p=0.3,seed=7`: a third of the requests fail in one of the soak ways; a client that
/// retries gets every one of 2,000 mailboxes exactly once, and the same run on a fresh sim
/// fires the same faults on the same requests.
#[tokio::test]
async fn random_faults_lose_and_duplicate_nothing_and_repeat_by_seed() {
    let mut logs = Vec::new();
    for _ in 0..2 {
        let e = env(2000).await;
        let (clean, _) = patient_paging(&e, &all_mailboxes()).await;
        let n = e.h.admin.invoke_count();
        e.fault(&format!("random@{}:p=0.3,seed=7", n + 1));
        let (rows, retries) = patient_paging(&e, &all_mailboxes()).await;
        assert_eq!(rows.len(), 2000);
        let guids: HashSet<&str> = rows.iter().map(|r| r["Guid"].as_str().unwrap()).collect();
        assert_eq!(guids.len(), 2000, "no duplicates");
        assert_eq!(rows, clean, "the same rows in the same order");
        assert!(retries > 0);
        let fired: Vec<(u64, String)> =
            e.h.admin
                .requests()
                .into_iter()
                .filter_map(|r| r.fault.map(|f| (r.seq, f)))
                .collect();
        assert!(fired.len() >= 5, "{fired:?}");
        assert!(e.h.admin.faults().len() == 1, "the random entry stays");
        logs.push(fired);
    }
    assert_eq!(logs[0], logs[1]);
}

/// `PUT /sim/faults` replaces the pending faults from outside the process (a soak's per-run
/// seed); a bad spec answers 400 with the parser's words and changes nothing.
#[tokio::test]
async fn faults_are_set_over_http_for_a_soak() {
    let e = env(10).await;
    e.fault("503@99");
    let put = |spec: &str| {
        e.c.put(format!("{}/sim/faults", e.h.urls().exo))
            .body(spec.to_string())
            .send()
    };
    let r = put("random:p=1,seed=3:kinds=503").await.unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["pending_faults"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(e.call().post(&e.url, &all_mailboxes()).await.status(), 503);
    let r = put("bogus@1").await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("bogus"));
    assert_eq!(e.call().post(&e.url, &all_mailboxes()).await.status(), 503);
    assert_eq!(put("").await.unwrap().status(), 200);
    assert_eq!(e.call().post(&e.url, &all_mailboxes()).await.status(), 200);
}
