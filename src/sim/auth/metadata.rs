//! Metadata of the simulated Entra: OpenID configuration, signing keys, the index page, and
//! what Microsoft's client libraries (MSAL) ask an authority host first: account type discovery
//! (`/common/userrealm/<upn>?api-version=1.0`: "Managed" for the sim's domains, "Unknown"
//! otherwise) and instance discovery (`/common/discovery/instance`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::json;

use super::flows::html;
use super::proto::EntraError;
use super::{Authority, DEVICE_CODE_GRANT, Shared, page};

pub(super) async fn openid_configuration(
    State(s): Shared,
    Path(tenant): Path<String>,
) -> Result<Response, EntraError> {
    let authority = s.authority(&tenant)?;
    let login = &s.shared.urls.login;
    let issuer = match authority {
        Authority::Multi => format!("{login}/{{tenantid}}/v2.0"),
        Authority::Tenant(t) => format!("{login}/{t}/v2.0"),
    };
    let base = format!("{login}/{tenant}");
    Ok(axum::Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{base}/oauth2/v2.0/token"),
        "device_authorization_endpoint": format!("{base}/oauth2/v2.0/devicecode"),
        "jwks_uri": format!("{base}/discovery/v2.0/keys"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": [
            "authorization_code", "refresh_token", "password", "client_credentials", DEVICE_CODE_GRANT
        ],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["none", "private_key_jwt"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid", "upn", "preferred_username",
            "name", "ver", "nonce", "sid", "acrs"
        ],
        "tenant_region_scope": "WW",
        "cloud_instance_name": "sim.exo-connect.invalid",
    }))
    .into_response())
}

pub(super) async fn jwks(
    State(s): Shared,
    Path(tenant): Path<String>,
) -> Result<Response, EntraError> {
    use rsa::pkcs8::DecodePublicKey;
    use rsa::traits::PublicKeyParts;
    s.authority(&tenant)?;
    let key = rsa::RsaPublicKey::from_public_key_pem(&s.shared.keys.public_key_pem)
        .expect("sim public key");
    let b64 = |b: Vec<u8>| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    Ok(axum::Json(json!({
        "keys": [{
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": s.shared.keys.kid,
            "n": b64(key.n().to_bytes_be()),
            "e": b64(key.e().to_bytes_be()),
        }]
    }))
    .into_response())
}

pub(super) async fn index(State(s): Shared) -> Response {
    html(
        StatusCode::OK,
        page::page(
            "Simulated sign-in",
            &format!(
                "<p>Authority: {0}/organizations. Device sign-in: <a href=\"/devicelogin\">{0}/devicelogin</a>.</p>",
                page::esc(&s.shared.urls.login)
            ),
        ),
    )
}

/// `GET /common/userrealm/{upn}?api-version=1.0`: account type discovery (MSAL asks it before a
/// password grant): "Managed" for a domain of a sim tenant, "Unknown" otherwise.
pub(super) async fn userrealm(State(s): Shared, Path(upn): Path<String>) -> Response {
    let domain = upn.rsplit('@').next().unwrap_or("").to_ascii_lowercase();
    let known = s.shared.world.tenant(&domain).is_some();
    axum::Json(json!({
        "ver": "1.0",
        "account_type": if known { "Managed" } else { "Unknown" },
        "domain_name": domain,
        "cloud_instance_name": "microsoftonline.com",
        "cloud_audience_urn": "urn:federation:MicrosoftOnline",
    }))
    .into_response()
}

/// `GET /common/discovery/instance`: instance discovery, answering that the sim's host is its
/// own (only) alias.
pub(super) async fn instance_discovery(State(s): Shared) -> Response {
    let login = &s.shared.urls.login;
    let host = login.split("://").nth(1).unwrap_or(login);
    axum::Json(json!({
        "tenant_discovery_endpoint": format!("{login}/{{tenant}}/v2.0/.well-known/openid-configuration"),
        "api-version": "1.1",
        "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
    }))
    .into_response()
}
