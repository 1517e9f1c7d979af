//! The request pipeline after the front door ([`super::serve`]), one function per step: bearer
//! token (and continuous access evaluation) → routing hint → tenant → caller → (legacy
//! connection count) → the endpoint: `$batch` ([`super::batch`]), `EXOModuleFile`
//! ([`super::catalogue`]) or InvokeCommand: query and body → page size → the cmdlet → one page
//! of its rows in the OData envelope.

use axum::http::{HeaderMap, Method, Uri, header};
use serde_json::{Map, Value, json};

use super::cmdlets::{self, Caller};
use super::faults::DetailForm;
use super::odata::{self, ApiError, SkipToken};
use super::reply::{Reply, bad_request, forbidden, header_str, insufficient_claims, unauthorized};
use super::{AdminApi, AdminHost};
use crate::sim::cae::TokenView;
use crate::sim::tokens::{AccessClaims, TokenError};
use crate::sim::world::Tenant;

/// One request to an admin host, as the steps see it.
pub(super) struct Req<'a> {
    pub endpoint: Endpoint,
    pub host: AdminHost,
    /// The `{tenant}` segment of the path (GUID or domain).
    pub tenant_in_path: &'a str,
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// Which admin API endpoint a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Endpoint {
    /// `…/adminapi/beta/{tenant}/InvokeCommand`
    Invoke,
    /// `…/adminapi/beta/{tenant}/$batch`
    Batch,
    /// `…/AdminApi/v1.0/{tenant}/EXOModuleFile`
    ModuleFile,
}

/// Why a step stopped the request: an OData error, or a finished answer (401, 302, …).
pub(super) enum Failure {
    Api(ApiError),
    Raw(Reply),
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure::Api(e)
    }
}

/// The steps after the front door ([`super::serve`]): authentication and authorization, then
/// the endpoint's own work. `batch_item` = the `$batch` item a fault makes fail.
pub(super) fn pipeline(
    api: &AdminApi,
    req: &Req,
    batch_item: Option<(usize, u16)>,
    cmdlet_name: &mut Option<String>,
) -> Result<Reply, Failure> {
    let claims = authenticate(api, req)?;
    require_anchor(req)?;
    let tenant = resolve_tenant(api, req, &claims)?;
    let (caller, principal) = identify_caller(api, &claims)?;
    check_remote_powershell(&caller)?;
    count_connection(api, req, tenant, &principal)?;
    match req.endpoint {
        Endpoint::Invoke => {}
        Endpoint::Batch => return super::batch::run(api, req, tenant, &caller, batch_item),
        Endpoint::ModuleFile => return Ok(module_file_reply(api, req, tenant, &caller)),
    }
    let query = QueryParts::parse(req.uri, tenant)?;
    let (cmdlet, params) = cmdlet_input(req, query.skip.as_ref())?;
    *cmdlet_name = Some(cmdlet.clone());
    let (page_size, applied) = page_size(req.headers)?;
    let mut reply = run_page(
        api, req, tenant, &caller, &cmdlet, &params, &query, page_size,
    )?;
    if let Some(a) = applied {
        reply = reply.header("preference-applied", a);
    }
    Ok(reply)
}

/// `EXOModuleFile`: the catalogue of the caller's cmdlets on this host (see
/// [`super::catalogue`]); `?Version=` is echoed as the module version.
fn module_file_reply(api: &AdminApi, req: &Req, tenant: &Tenant, caller: &Caller) -> Reply {
    let version = url::form_urlencoded::parse(req.uri.query().unwrap_or("").as_bytes())
        .find(|(k, _)| k.eq_ignore_ascii_case("version"))
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty() && v.len() < 40)
        .unwrap_or_else(|| "3.9.0".into());
    let context = format!(
        "{}/AdminApi/v1.0/{}/$metadata#EXOModuleFile",
        origin(api, req.host),
        req.tenant_in_path
    );
    Reply::json(
        200,
        &super::catalogue::module_file(req.host, tenant, caller.roles(), &version, &context),
    )
}

/// Step 1: the bearer token (signature, expiry, audience = the host's service).
fn authenticate(api: &AdminApi, req: &Req) -> Result<AccessClaims, Failure> {
    let urls = &api.shared.urls;
    let audience = if req.host.is_exo() {
        &urls.exo
    } else {
        &urls.scc
    };
    let Some(token) = bearer(req) else {
        return Err(Failure::Raw(unauthorized(
            api,
            "No bearer token: send 'Authorization: Bearer <access token>'.",
        )));
    };
    let verified = api
        .shared
        .keys
        .verify_token(&token, audience)
        .map_err(|e| {
            let why = match e {
                TokenError::Expired => {
                    "The access token has expired. Acquire a new token and retry.".to_string()
                }
                TokenError::WrongAudience(aud) => format!(
                    "The token audience '{aud}' is not this service; request a token for '{audience}'."
                ),
                TokenError::Invalid => {
                    "The access token is malformed or its signature is invalid.".to_string()
                }
            };
            Failure::Raw(unauthorized(api, &why))
        })?;
    let view = TokenView {
        upn: verified.claims.upn.as_deref(),
        sid: verified.sid.as_deref(),
        iat: verified.claims.iat,
        acrs: &verified.acrs,
    };
    if let Err(r) = api.shared.cae.check(&view) {
        return Err(Failure::Raw(insufficient_claims(api, &r.challenge_b64())));
    }
    Ok(verified.claims)
}

/// The bearer token of the request, if any.
pub(super) fn bearer(req: &Req) -> Option<String> {
    req.headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, t) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| t.trim().to_string())
        })
}

/// Step 2: the routing hint is required.
fn require_anchor(req: &Req) -> Result<(), Failure> {
    if header_str(req.headers, "x-anchormailbox").is_none() {
        return Err(bad_request(
            "The X-AnchorMailbox header is required (e.g. 'UPN:admin@contoso.com', or 'APP:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@<tenant>' for app-only).".into(),
            "X-AnchorMailbox",
        )
        .into());
    }
    Ok(())
}

/// Step 3: the tenant of the path is the token's, or a customer delegated to it.
fn resolve_tenant<'w>(
    api: &'w AdminApi,
    req: &Req,
    claims: &AccessClaims,
) -> Result<&'w Tenant, Failure> {
    let world = &api.shared.world;
    let tenant_in_path = req.tenant_in_path;
    let Some(token_tenant) = world.tenant(&claims.tid) else {
        return Err(Failure::Raw(unauthorized(
            api,
            "The token's tenant (tid) is unknown to this service.",
        )));
    };
    let Some(tenant) = world.tenant(tenant_in_path) else {
        return Err(forbidden(
            "Microsoft.Exchange.Security.Authorization.TenantMismatchException",
            format!("The tenant '{tenant_in_path}' in the URL is unknown; use the tenant id (tid) of the token or one of its domains."),
        )
        .into());
    };
    if tenant.id != token_tenant.id && !token_tenant.delegated_customers.contains(&tenant.id) {
        return Err(forbidden(
            "Microsoft.Exchange.Security.Authorization.TenantMismatchException",
            format!(
                "The tenant '{tenant_in_path}' in the URL does not match the token's tenant '{}' and is not a customer delegated to it.",
                token_tenant.id
            ),
        )
        .into());
    }
    Ok(tenant)
}

/// Step 4: who calls: a known user, or an app with `Exchange.ManageAsApp`. Also the principal
/// name used for counting (UPN or `app:<appid>`).
fn identify_caller<'w>(
    api: &'w AdminApi,
    claims: &AccessClaims,
) -> Result<(Caller<'w>, String), Failure> {
    match &claims.upn {
        Some(upn) => {
            let Some(user) = api.shared.world.user(upn) else {
                return Err(Failure::Raw(unauthorized(
                    api,
                    "The token's user is unknown to this service.",
                )));
            };
            Ok((Caller::User(user), user.upn.clone()))
        }
        None => {
            let app_ok = claims
                .roles
                .as_ref()
                .is_some_and(|r| r.iter().any(|x| x == "Exchange.ManageAsApp"));
            if !app_ok {
                return Err(forbidden(
                    "Microsoft.Exchange.Configuration.Authorization.AuthZException",
                    "The app-only token lacks the Exchange.ManageAsApp application permission."
                        .into(),
                )
                .into());
            }
            Ok((Caller::App, format!("app:{}", claims.appid)))
        }
    }
}

/// Step 4b: a user with `RemotePowerShellEnabled = false` is refused on every call.
fn check_remote_powershell(caller: &Caller) -> Result<(), Failure> {
    if let Caller::User(u) = caller
        && !u.remote_powershell_enabled
    {
        return Err(ApiError::new(
            403,
            "Forbidden",
            "Microsoft.Exchange.Management.PSDirectInvoke.DirectInvokeCmdletExecutionException",
            "Ex7A41C3",
            DetailForm::Pipe,
            format!(
                "AuthZ: User '{}' is not allowed to access Exchange Online PowerShell: RemotePowerShellEnabled is False for this account. An administrator can enable it with Set-User -Identity {} -RemotePowerShellEnabled $true.",
                u.upn, u.upn
            ),
        )
        .into());
    }
    Ok(())
}

/// Step 5: the retired remote PowerShell connection count by `connection-id` (legacy mode
/// only, see [`super::limits`]).
fn count_connection(
    api: &AdminApi,
    req: &Req,
    tenant: &Tenant,
    principal: &str,
) -> Result<(), Failure> {
    let service = if req.host.is_exo() { "EXO" } else { "SCC" };
    if let Some(cid) = header_str(req.headers, "connection-id")
        && let Err(cap) = api.count_connection(tenant, principal, service, &cid)
    {
        return Err(ApiError::new(
            400,
            "BadRequest",
            "System.Management.Automation.Remoting.PSRemotingTransportException",
            "Ex5C0D19",
            DetailForm::Pipe,
            format!(
                "Fail to create a runspace because you have exceeded the maximum number of connections allowed : {cap} for the policy party : MaxConcurrency. Please close existing runspace and try again."
            ),
        )
        .into());
    }
    Ok(())
}

/// Step 6a: `$select` and `$skiptoken` of the query string.
#[derive(Clone)]
pub(super) struct QueryParts {
    pub select: Vec<String>,
    pub skip: Option<SkipToken>,
}

impl QueryParts {
    pub(super) fn parse(uri: &Uri, tenant: &Tenant) -> Result<QueryParts, Failure> {
        let mut select: Vec<String> = Vec::new();
        let mut skip: Option<String> = None;
        for (k, v) in url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
            match k.as_ref() {
                "$select" => select.extend(
                    v.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty()),
                ),
                "$skiptoken" => skip = Some(v.into_owned()),
                _ => {}
            }
        }
        let skip = match skip {
            Some(s) => match SkipToken::decode(&s) {
                Some(t) if t.t == tenant.id.to_string() => Some(t),
                _ => {
                    return Err(bad_request(
                        "The $skiptoken is invalid or belongs to another tenant; start the listing again.".into(),
                        "$skiptoken",
                    )
                    .into());
                }
            },
            None => None,
        };
        Ok(QueryParts { select, skip })
    }
}

/// Step 6b: the cmdlet and its parameters: from the `CmdletInput` body (POST), or from the
/// skip token alone (GET of a nextLink). A POST to a nextLink must repeat the first body.
fn cmdlet_input(
    req: &Req,
    skip: Option<&SkipToken>,
) -> Result<(String, Map<String, Value>), Failure> {
    if *req.method == Method::GET {
        return match skip {
            Some(t) => Ok((t.c.clone(), t.p.clone())),
            None => Err(ApiError::new(
                405,
                "MethodNotAllowed",
                "Microsoft.Exchange.Admin.OData.Core.ODataRequestException",
                "Ex1D7A03",
                DetailForm::Json,
                "GET is only accepted on an @odata.nextLink; run cmdlets with POST and a CmdletInput body.",
            )
            .into()),
        };
    }
    let parsed: Value = serde_json::from_slice(req.body).map_err(|e| {
        bad_request(
            format!("The request body is not valid JSON ({e}); send {{\"CmdletInput\":{{\"CmdletName\":\"...\",\"Parameters\":{{}}}}}}."),
            "CmdletInput",
        )
    })?;
    let (name, params) = parse_cmdlet_input(&parsed)?;
    if let Some(t) = skip
        && (!t.c.eq_ignore_ascii_case(&name) || t.p != params)
    {
        return Err(bad_request(
            "The $skiptoken belongs to another command: POST the same body as the first page."
                .into(),
            "$skiptoken",
        )
        .into());
    }
    Ok((name, params))
}

/// `{"CmdletInput":{"CmdletName":…,"Parameters":{…}}}` → (name, parameters).
pub(super) fn parse_cmdlet_input(body: &Value) -> Result<(String, Map<String, Value>), ApiError> {
    let input = body.get("CmdletInput");
    let Some(name) = input
        .and_then(|i| i.get("CmdletName"))
        .and_then(Value::as_str)
    else {
        return Err(bad_request(
            "The body must contain CmdletInput.CmdletName (a string).".into(),
            "CmdletInput.CmdletName",
        ));
    };
    let params = match input.and_then(|i| i.get("Parameters")) {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return Err(bad_request(
                "CmdletInput.Parameters must be a JSON object.".into(),
                "CmdletInput.Parameters",
            ));
        }
    };
    Ok((name.to_string(), params))
}

/// Step 7: `Prefer: odata.maxpagesize=N` (1..=1000, larger clamped); the page size and the
/// `Preference-Applied` value.
pub(super) fn page_size(headers: &HeaderMap) -> Result<(usize, Option<String>), ApiError> {
    let mut page_size = 1000usize;
    let mut applied = None;
    if let Some(p) = header_str(headers, "prefer") {
        for pref in p.split(',') {
            if let Some(v) = pref.trim().strip_prefix("odata.maxpagesize=") {
                let n: usize = v.trim().parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    bad_request(
                        format!("Prefer: odata.maxpagesize={v} is invalid: use a whole number from 1 to 1000."),
                        "Prefer",
                    )
                })?;
                page_size = n.min(1000);
                applied = Some(format!("odata.maxpagesize={page_size}"));
            }
        }
    }
    Ok((page_size, applied))
}

/// Step 8: the cmdlet, and one page of its rows in the OData envelope (with the nextLink,
/// warnings on the first page, `$select`).
#[allow(clippy::too_many_arguments)]
pub(super) fn run_page(
    api: &AdminApi,
    req: &Req,
    tenant: &Tenant,
    caller: &Caller,
    cmdlet: &str,
    params: &Map<String, Value>,
    query: &QueryParts,
    page_size: usize,
) -> Result<Reply, Failure> {
    let spec = cmdlets::authorize(req.host, tenant, caller, cmdlet, params)?;
    let out = cmdlets::run(api, spec, tenant, params)?;
    let skip = query.skip.as_ref();
    let (cursor, emitted) = skip.map_or((0, 0), |t| (t.k, t.n));
    let remaining = out.limit.map(|l| l.saturating_sub(emitted));
    let (rows, next) = cmdlets::page(
        api.shared.config.seed,
        tenant,
        &out.source,
        cursor,
        page_size,
        remaining,
    );
    let base = api_base(api, req);
    let mut obj = Map::new();
    obj.insert(
        "@odata.context".into(),
        format!("{base}/$metadata#Collection(Exchange.GenericHashTable)").into(),
    );
    if let Some(k) = next {
        let token = SkipToken {
            t: tenant.id.to_string(),
            c: spec.name.to_string(),
            p: params.clone(),
            k,
            n: emitted + rows.len(),
        };
        obj.insert(
            "@odata.nextLink".into(),
            next_link(&base, &query.select, &token).into(),
        );
    }
    let warnings = if skip.is_none() {
        out.warnings
    } else {
        Vec::new()
    };
    if !warnings.is_empty() {
        obj.insert("@adminapi.warnings".into(), json!(warnings));
    }
    if let Some(question) = &out.confirmation {
        obj.insert("@adminapi.confirmationmessage".into(), json!(question));
    }
    if !out.errors.is_empty() {
        obj.insert("@adminapi.errors".into(), Value::Array(out.errors));
    }
    if out.confirmation.is_none() && (!rows.is_empty() || warnings.is_empty()) {
        let rows: Vec<Value> = rows
            .into_iter()
            .map(|r| Value::Object(odata::select(r, &query.select)))
            .collect();
        obj.insert("value".into(), Value::Array(rows));
    }
    Ok(Reply::json(200, &Value::Object(obj)))
}

/// The origin of the listener that answers.
pub(super) fn origin(api: &AdminApi, host: AdminHost) -> &str {
    let shared = &api.shared;
    match host {
        AdminHost::Exo => &shared.urls.exo,
        AdminHost::ExoAlt => &shared.fault_urls.exo_alt,
        AdminHost::SccGlobal => &shared.urls.scc,
        AdminHost::SccRegional => &shared.urls.scc_regional,
    }
}

/// `<origin>/adminapi/beta/<tenant as in the path>` of the host that answers.
fn api_base(api: &AdminApi, req: &Req) -> String {
    format!(
        "{}/adminapi/beta/{}",
        origin(api, req.host),
        req.tenant_in_path
    )
}

fn next_link(base: &str, select: &[String], token: &SkipToken) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    if !select.is_empty() {
        q.append_pair("$select", &select.join(","));
    }
    q.append_pair("$skiptoken", &token.encode());
    format!("{base}/InvokeCommand?{}", q.finish())
}
