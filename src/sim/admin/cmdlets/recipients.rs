//! Get-Mailbox, Get-EXOMailbox, Get-User and Get-Recipient: generated rows by index (with the
//! tenant's Set-Mailbox changes); `-Identity` (a direct hit when the name encodes the index,
//! else a bounded scan), `-Filter`, `-RecipientTypeDetails`, `-ResultSize` (1000 and the
//! service's warning when absent). Get-EXOMailbox returns its small default property set plus
//! `-Properties`; Get-Recipient the recipient properties.

use serde_json::{Map, Value};

use super::{
    Output, RESULT_SIZE_WARNING, Source, finish_row, list, not_found, param, param_error,
    param_list, param_str, parse_filter,
};
use crate::sim::admin::AdminApi;
use crate::sim::admin::dataset;
use crate::sim::admin::odata::ApiError;
use crate::sim::world::Tenant;

/// How many rows an identity lookup scans at most when the identity does not encode an index.
const SCAN_LIMIT: usize = 10_000;

/// The default properties of Get-EXOMailbox (the "Minimum" property set).
const EXO_MINIMUM: &[&str] = &[
    "ExternalDirectoryObjectId",
    "UserPrincipalName",
    "Alias",
    "DisplayName",
    "EmailAddresses",
    "PrimarySmtpAddress",
    "RecipientType",
    "RecipientTypeDetails",
    "Identity",
    "Id",
    "ExchangeVersion",
    "Name",
    "DistinguishedName",
    "OrganizationId",
    "Guid",
];

/// The properties of Get-Recipient rows.
const RECIPIENT: &[&str] = &[
    "Name",
    "Alias",
    "DisplayName",
    "Identity",
    "PrimarySmtpAddress",
    "EmailAddresses",
    "RecipientType",
    "RecipientTypeDetails",
    "ExternalDirectoryObjectId",
    "Guid",
    "Department",
    "Office",
    "HiddenFromAddressListsEnabled",
    "WhenCreated",
    "WhenChanged",
];

/// The index of the generated mailbox `identity` names, if any.
pub(crate) fn find_index(seed: u64, tenant: &Tenant, identity: &str) -> Option<usize> {
    let total = tenant.mailboxes;
    if let Some(i) = dataset::index_hint(identity).filter(|i| *i < total)
        && dataset::matches_identity(&dataset::mailbox(seed, tenant, i), identity)
    {
        return Some(i);
    }
    (0..total.min(SCAN_LIMIT))
        .find(|i| dataset::matches_identity(&dataset::mailbox(seed, tenant, *i), identity))
}

pub(super) fn run(
    api: &AdminApi,
    name: &str,
    tenant: &Tenant,
    params: &Map<String, Value>,
) -> Result<Output, ApiError> {
    let seed = api.shared.config.seed;
    let make: fn(u64, &Tenant, usize) -> Map<String, Value> = if name == "Get-User" {
        dataset::user
    } else {
        dataset::mailbox
    };
    let keep = keep_of(name, params);
    let changes = api.mailbox_changes(tenant);
    if let Some(identity) = param_str(params, "Identity") {
        let i = find_index(seed, tenant, &identity).ok_or_else(|| not_found(&identity))?;
        let row = finish_row(make(seed, tenant, i), changes.get(&i), keep.as_ref());
        return Ok(list(vec![row]));
    }
    let size = result_size(name, params)?;
    let filter = match param_str(params, "Filter") {
        Some(f) => parse_filter(name, &f, &make(seed, tenant, 0))?,
        None => Vec::new(),
    };
    let (limit, warnings) = match size {
        None => (Some(1000), vec![RESULT_SIZE_WARNING.to_string()]),
        Some(l) => (l, Vec::new()),
    };
    Ok(Output {
        source: Source::Generated {
            total: tenant.mailboxes,
            make,
            filter,
            types: param_list(params, "RecipientTypeDetails"),
            changes,
            keep,
        },
        warnings,
        limit,
        confirmation: None,
        errors: Vec::new(),
    })
}

/// The properties a cmdlet keeps (None = all).
fn keep_of(name: &str, params: &Map<String, Value>) -> Option<Vec<String>> {
    let base: &[&str] = match name {
        "Get-EXOMailbox" => EXO_MINIMUM,
        "Get-Recipient" => RECIPIENT,
        _ => return None,
    };
    let mut keep: Vec<String> = base.iter().map(|s| s.to_string()).collect();
    keep.extend(param_list(params, "Properties"));
    if param_list(params, "PropertySets")
        .iter()
        .any(|s| s.eq_ignore_ascii_case("All"))
    {
        return None;
    }
    Some(keep)
}

/// `-ResultSize`: None = not given; Some(None) = Unlimited.
fn result_size(
    cmdlet: &str,
    params: &Map<String, Value>,
) -> Result<Option<Option<usize>>, ApiError> {
    let Some(v) = param(params, "ResultSize") else {
        return Ok(None);
    };
    let bad = || {
        param_error(
            cmdlet,
            format!(
                "Cannot bind parameter 'ResultSize'. Cannot convert value \"{}\" to type \"Microsoft.Exchange.Data.Unlimited`1[System.UInt32]\": use a positive number or 'Unlimited'.",
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            ),
        )
    };
    match v {
        Value::Number(n) => n
            .as_u64()
            .filter(|n| *n >= 1)
            .map(|n| Some(Some(n as usize)))
            .ok_or_else(bad),
        Value::String(s) if s.eq_ignore_ascii_case("unlimited") => Ok(Some(None)),
        Value::String(s) => s
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 1)
            .map(|n| Some(Some(n)))
            .ok_or_else(bad),
        _ => Err(bad()),
    }
}
