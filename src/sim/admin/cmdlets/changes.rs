//! The change cmdlets (reference page §7): Set-Mailbox, New-, Set-, Remove-, Enable- and
//! Disable-TransportRule.
//!
//! - Without `"Confirm": false` among the parameters they do nothing and answer 200 with
//!   `@adminapi.confirmationmessage` (the service's question, e.g. `Are you sure you want to
//!   perform this action?` + `Removing transport rule "Block EXE".`).
//! - With `"WhatIf": true` they do nothing and answer 200 with the `What if: Performing the
//!   operation "<cmdlet>" on target "<target>".` text in `@adminapi.warnings` (WhatIf wins
//!   over Confirm).
//! - With `"Confirm": false` they change the tenant's state (a later Get shows it; each tenant
//!   has its own). New-TransportRule returns the new rule; the others return no rows.
//! - `-Identity` may be an array (a batch-like call): each identity is changed on its own; one
//!   that is not found is a non-terminating error in `@adminapi.errors`
//!   (`{"target", "code": "NotFound", "message", "exceptionType"}`) of a 200 answer, and the
//!   others are still changed. A single missing identity is a terminating 404.

use serde_json::{Map, Value, json};

use super::{
    Output, list, missing_mandatory, not_found, param, param_error, param_list, param_str,
    recipients,
};
use crate::sim::admin::AdminApi;
use crate::sim::admin::catalogue::{MAILBOX_SETTABLE, PType, Spec};
use crate::sim::admin::odata::ApiError;
use crate::sim::world::Tenant;

/// `Confirm: false` (also "False", "$false", 0).
fn confirmed(params: &Map<String, Value>) -> bool {
    match param(params, "Confirm") {
        Some(Value::Bool(b)) => !b,
        Some(Value::String(s)) => {
            let s = s.trim().trim_start_matches('$');
            s.eq_ignore_ascii_case("false") || s == "0"
        }
        Some(Value::Number(n)) => n.as_u64() == Some(0),
        _ => false,
    }
}

fn what_if(params: &Map<String, Value>) -> bool {
    match param(params, "WhatIf") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => {
            let s = s.trim().trim_start_matches('$');
            s.eq_ignore_ascii_case("true") || s == "1"
        }
        _ => false,
    }
}

/// "Removing transport rule" …: what the cmdlet does, for the question.
fn action(cmdlet: &str) -> &'static str {
    match cmdlet {
        "Set-Mailbox" => "Setting mailbox",
        "New-TransportRule" => "Creating transport rule",
        "Set-TransportRule" => "Setting transport rule",
        "Remove-TransportRule" => "Removing transport rule",
        "Enable-TransportRule" => "Enabling transport rule",
        _ => "Disabling transport rule",
    }
}

fn nothing_done(message: Option<String>, warnings: Vec<String>) -> Output {
    Output {
        warnings,
        confirmation: message,
        ..list(Vec::new())
    }
}

pub(super) fn run(
    api: &AdminApi,
    spec: &Spec,
    tenant: &Tenant,
    params: &Map<String, Value>,
) -> Result<Output, ApiError> {
    let key = if spec.name == "New-TransportRule" {
        "Name"
    } else {
        "Identity"
    };
    let targets: Vec<String> = param_list(params, key)
        .into_iter()
        .filter(|t| !t.trim().is_empty())
        .collect();
    if targets.is_empty() {
        return Err(missing_mandatory(spec.name, key));
    }
    let target = targets.join(", ");
    if what_if(params) {
        let text = format!(
            "What if: Performing the operation \"{}\" on target \"{target}\".",
            spec.name
        );
        return Ok(nothing_done(None, vec![text]));
    }
    if !confirmed(params) {
        let text = format!(
            "Are you sure you want to perform this action?\n{} \"{target}\".",
            action(spec.name)
        );
        return Ok(nothing_done(Some(text), Vec::new()));
    }
    if spec.name == "Set-Mailbox" {
        for (name, ty, _) in MAILBOX_SETTABLE {
            if let Some(v) = param(params, name) {
                mailbox_value(name, *ty, v)?;
            }
        }
    }
    if spec.name == "New-TransportRule" {
        return new_transport_rule(api, spec.name, tenant, &targets[0], params);
    }
    let single = !matches!(param(params, "Identity"), Some(Value::Array(_)));
    let mut errors = Vec::new();
    for id in &targets {
        let done = match spec.name {
            "Set-Mailbox" => set_mailbox(api, tenant, id, params),
            "Remove-TransportRule" => api.remove_rule(tenant, id).then_some(()).ok_or(()),
            _ => set_rule(api, spec.name, tenant, id, params)?,
        };
        if done.is_err() {
            if single {
                return Err(not_found(id));
            }
            let e = not_found(id);
            errors.push(json!({
                "target": id,
                "code": e.code,
                "message": e.message,
                "exceptionType": e.exception_type,
            }));
        }
    }
    Ok(Output {
        errors,
        ..list(Vec::new())
    })
}

/// Checks a Set-Mailbox value against its type: booleans must be booleans.
fn mailbox_value(name: &str, ty: PType, v: &Value) -> Result<Value, ApiError> {
    match (ty, v) {
        (PType::Bool, Value::Bool(_)) => Ok(v.clone()),
        (PType::Bool, Value::String(s)) => match s
            .trim()
            .trim_start_matches('$')
            .to_ascii_lowercase()
            .as_str()
        {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(param_error(
                "Set-Mailbox",
                format!(
                    "Cannot bind parameter '{name}'. Cannot convert value \"{s}\" to type \"System.Boolean\": use $true or $false."
                ),
            )),
        },
        (PType::Bool, other) => Err(param_error(
            "Set-Mailbox",
            format!(
                "Cannot bind parameter '{name}'. Cannot convert value \"{other}\" to type \"System.Boolean\"."
            ),
        )),
        (_, Value::String(_)) | (_, Value::Null) => Ok(v.clone()),
        (_, other) => Ok(Value::String(other.to_string())),
    }
}

/// Err(()) = not found.
fn set_mailbox(
    api: &AdminApi,
    tenant: &Tenant,
    identity: &str,
    params: &Map<String, Value>,
) -> Result<(), ()> {
    let seed = api.shared.config.seed;
    let index = recipients::find_index(seed, tenant, identity).ok_or(())?;
    let mut change = Map::new();
    for (name, ty, _) in MAILBOX_SETTABLE {
        if let Some(v) = params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
        {
            // Validated in `run` before any change.
            if let Ok(v) = mailbox_value(name, *ty, v) {
                change.insert(name.to_string(), v);
            }
        }
    }
    api.change_mailbox(tenant, index, change);
    Ok(())
}

/// Set-, Enable-, Disable-TransportRule on one rule: Ok(Err(())) = not found.
fn set_rule(
    api: &AdminApi,
    cmdlet: &str,
    tenant: &Tenant,
    identity: &str,
    params: &Map<String, Value>,
) -> Result<Result<(), ()>, ApiError> {
    let mut fields = Map::new();
    match cmdlet {
        "Enable-TransportRule" => {
            fields.insert("State".into(), "Enabled".into());
        }
        "Disable-TransportRule" => {
            fields.insert("State".into(), "Disabled".into());
        }
        _ => {
            for key in [
                "Name",
                "Comments",
                "Mode",
                "StopRuleProcessing",
                "SentToScope",
                "FromScope",
            ] {
                if let Some(v) = param(params, key) {
                    fields.insert(key.into(), v.clone());
                }
            }
        }
    }
    let priority = match param(params, "Priority") {
        Some(v) => Some(v.as_u64().or_else(|| v.as_str()?.parse().ok()).ok_or_else(|| {
            param_error(cmdlet, format!("Cannot bind parameter 'Priority'. Cannot convert value \"{v}\" to type \"System.Int32\"."))
        })? as usize),
        None => None,
    };
    Ok(api.update_rule(tenant, identity, fields, priority))
}

fn new_transport_rule(
    api: &AdminApi,
    cmdlet: &str,
    tenant: &Tenant,
    name: &str,
    params: &Map<String, Value>,
) -> Result<Output, ApiError> {
    let mode = param_str(params, "Mode").unwrap_or_else(|| "Enforce".into());
    if !["Enforce", "Audit", "AuditAndNotify"]
        .iter()
        .any(|m| m.eq_ignore_ascii_case(&mode))
    {
        return Err(param_error(
            cmdlet,
            format!(
                "Cannot bind parameter 'Mode'. Cannot convert value \"{mode}\": use Enforce, Audit or AuditAndNotify."
            ),
        ));
    }
    let mut row = api.add_rule(tenant, name, &mode, param_str(params, "Comments"))?;
    let mut fields = Map::new();
    if matches!(param(params, "Enabled"), Some(Value::Bool(false))) {
        fields.insert("State".into(), "Disabled".into());
    }
    let priority = param(params, "Priority")
        .and_then(Value::as_u64)
        .map(|p| p as usize);
    if !fields.is_empty() || priority.is_some() {
        let _ = api.update_rule(tenant, name, fields, priority);
        row = api
            .rules_of(tenant)
            .into_iter()
            .find(|r| r["Name"] == name)
            .unwrap_or(row);
    }
    Ok(list(vec![row]))
}
