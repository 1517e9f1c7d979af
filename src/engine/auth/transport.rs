//! The one HTTP path of sign-in: oauth2's `AsyncHttpClient` over the shared reqwest 0.13 client
//! (built by `engine::http::build_client`, which never follows redirects), plus the raw form POST
//! the device-code, password, refresh and client-credentials grants use. Every answer is read
//! with the engine's 1 MiB cap (`engine::http::read_capped`).

use std::future::Future;
use std::pin::Pin;

use oauth2::{HttpRequest, HttpResponse};

use super::SignInError;
use super::entra::EntraError;
use crate::engine::diag;
use crate::engine::http::{SMALL_BODY_CAP, host_of, read_capped};

/// Adapter: oauth2 5 requests sent through our reqwest client.
#[derive(Clone, Debug)]
pub struct OAuthHttp {
    pub client: reqwest::Client,
}

/// Transport failure (connection refused, timeout, policy).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TransportError(pub String);

impl OAuthHttp {
    pub fn new(client: reqwest::Client) -> Self {
        OAuthHttp { client }
    }

    /// Sends one request; http:// only to loopback (engine::http::check_url).
    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.send_typed(request).await.map_err(|e| match e {
            SignInError::Network(m) => TransportError(m),
            other => TransportError(other.explanation()),
        })
    }

    /// Same, with a proxy's 407 as [`SignInError::ProxyAuth`].
    pub async fn send_typed(&self, request: HttpRequest) -> Result<HttpResponse, SignInError> {
        let url = request.uri().to_string();
        let target = crate::engine::http::check_url(&url)
            .map_err(|e| SignInError::Network(e.to_string()))?;
        let (parts, body) = request.into_parts();
        let method = parts.method.to_string();
        let mut rb = self.client.request(parts.method, &url).body(body);
        for (name, value) in parts.headers.iter() {
            rb = rb.header(name, value);
        }
        let started = std::time::Instant::now();
        let resp = rb.send().await.map_err(|e| {
            diag::no_answer(
                "sign-in",
                &method,
                &target,
                started.elapsed(),
                &e.to_string(),
            );
            match crate::engine::proxy::ProxyAuthRequired::from_error(&target, &e) {
                Some(p) => SignInError::ProxyAuth(p),
                None => SignInError::Network(format!("could not reach {}: {}", host_of(&url), e)),
            }
        })?;
        let status = resp.status();
        let headers = resp.headers().clone();
        diag::exchange(
            "sign-in",
            &method,
            &target,
            status.as_u16(),
            started.elapsed(),
            &headers,
        );
        if status == reqwest::StatusCode::PROXY_AUTHENTICATION_REQUIRED {
            return Err(SignInError::ProxyAuth(
                crate::engine::proxy::ProxyAuthRequired::from_response(&target, &headers),
            ));
        }
        if status == reqwest::StatusCode::UNAUTHORIZED
            && let Some(p) =
                crate::engine::proxy::ProxyAuthRequired::from_proxy_401(&target, &headers)
        {
            return Err(SignInError::ProxyAuth(p));
        }
        // A sign-in answer is small: never more than 1 MiB is read of it.
        let bytes = read_capped(resp, SMALL_BODY_CAP)
            .await
            .map_err(|e| SignInError::Network(e.to_string()))?;
        let mut out = oauth2::http::Response::builder().status(status);
        for (name, value) in headers.iter() {
            out = out.header(name, value);
        }
        out.body(bytes)
            .map_err(|e| SignInError::Network(e.to_string()))
    }

    /// POSTs a form to an Entra endpoint and parses the JSON answer: `Ok(json)` on 2xx, the
    /// parsed Entra error otherwise.
    pub async fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
    ) -> Result<serde_json::Value, SignInError> {
        // The sign-in step, never the form (it holds the password, codes, tokens).
        let grant = form
            .iter()
            .find(|(k, _)| *k == "grant_type")
            .map(|(_, v)| *v)
            .unwrap_or("device code request");
        tracing::info!(grant, host = host_of(url), "sign-in step");
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter())
            .finish();
        let req = oauth2::http::Request::builder()
            .method(oauth2::http::Method::POST)
            .uri(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body.into_bytes())
            .map_err(|e| SignInError::Config(format!("invalid sign-in URL {url}: {e}")))?;
        let resp = self.send_typed(req).await?;
        let status = resp.status();
        let json: Option<serde_json::Value> = serde_json::from_slice(resp.body()).ok();
        if status.is_success() {
            return json.ok_or_else(|| {
                SignInError::Network(format!(
                    "{} answered {} with a body that is not JSON",
                    host_of(url),
                    status
                ))
            });
        }
        match json.and_then(|j| serde_json::from_value::<EntraError>(j).ok()) {
            Some(e) if !e.error.is_empty() => Err(SignInError::Entra(Box::new(e))),
            _ => Err(SignInError::Network(format!(
                "{} answered HTTP {} without an OAuth error body",
                host_of(url),
                status
            ))),
        }
    }
}

impl<'c> oauth2::AsyncHttpClient<'c> for OAuthHttp {
    type Error = TransportError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, TransportError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}
