//! The live cmdlet catalogue: every cmdlet the sim serves (where it exists, which roles may run
//! it, its parameters and their types), used both by `InvokeCommand` (an unknown cmdlet, or one
//! outside the caller's roles, answers 403 "The term '…' is not recognized as the name of a
//! cmdlet…") and by `GET <base>/AdminApi/v1.0/<tenant>/EXOModuleFile` (also
//! `/adminapi/v1.0/…`; `?Version=` is echoed), which answers, like the service, JSON whose
//! `value[0]` holds `ModuleVersion`, `ModuleName`, `exportedCmdlets` (comma-separated, what
//! partner portals split) and `EncodedModule`: the base64 (UTF-8) text of a generated PowerShell
//! module in the real module file's shape — one `function script:<Cmdlet>` per cmdlet the
//! caller's roles allow on that host, with `[CmdletBinding(…)]` and a `param(…)` block of typed
//! parameters (parameter sets where the cmdlet has them), and a body that calls
//! `Execute-Command`. A Help Desk account sees only the recipient readers and message trace; the
//! SCC host lists the compliance cmdlets.

use serde_json::{Value, json};

use super::AdminHost;
use crate::sim::world::{Tenant, TenantKind};

/// A parameter's PowerShell type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PType {
    Str,
    Strings,
    Switch,
    Bool,
    Int,
    /// `Unlimited` or a number (ResultSize), quotas, …
    Object,
    Date,
}

impl PType {
    fn ps(self) -> &'static str {
        match self {
            PType::Str => "string",
            PType::Strings => "string[]",
            PType::Switch => "switch",
            PType::Bool => "bool",
            PType::Int => "int",
            PType::Object => "Object",
            PType::Date => "datetime",
        }
    }
}

/// A parameter: name, type, parameter set (None = all sets).
pub type Param = (&'static str, PType, Option<&'static str>);

pub struct Spec {
    pub name: &'static str,
    pub scc: bool,
    /// Needs mailboxes (not in standalone EOP).
    pub mailboxes: bool,
    pub roles: &'static [&'static str],
    pub params: &'static [Param],
    /// A change cmdlet: asks for confirmation unless `Confirm: false`, honours `WhatIf`.
    pub change: bool,
}

/// PowerShell common parameters every cmdlet accepts.
pub const COMMON: &[&str] = &[
    "ErrorAction",
    "WarningAction",
    "Verbose",
    "Debug",
    "InformationAction",
];

const READERS: &[&str] = &[
    "Organization Management",
    "View-Only Organization Management",
    "Help Desk",
    "Recipient Management",
];
const CONFIG_READERS: &[&str] = &[
    "Organization Management",
    "View-Only Organization Management",
];
const SECURITY: &[&str] = &[
    "Organization Management",
    "Security Administrator",
    "Security Reader",
];
const TRACE: &[&str] = &[
    "Organization Management",
    "View-Only Organization Management",
    "Help Desk",
];
const WRITERS: &[&str] = &["Organization Management"];
const RECIPIENT_WRITERS: &[&str] = &["Organization Management", "Recipient Management"];
const COMPLIANCE: &[&str] = &[
    "Organization Management",
    "Compliance Administrator",
    "eDiscovery Manager",
];
const DLP: &[&str] = &["Organization Management", "Compliance Administrator"];

use PType::*;

const ID: Param = ("Identity", Str, None);
const CONFIRM: Param = ("Confirm", Switch, None);
const WHATIF: Param = ("WhatIf", Switch, None);
const RECIPIENT_QUERY: &[Param] = &[
    ("Identity", Str, Some("Identity")),
    ("Filter", Str, Some("Filter")),
    ("ResultSize", Object, None),
    ("RecipientTypeDetails", Strings, None),
];
const RULE_FIELDS: &[Param] = &[
    ("Comments", Str, None),
    ("Mode", Str, None),
    ("Priority", Int, None),
    ("SentToScope", Str, None),
    ("FromScope", Str, None),
    ("PrependSubject", Str, None),
    ("RejectMessageReasonText", Str, None),
    ("SubjectContainsWords", Strings, None),
    ("AttachmentExtensionMatchesWords", Strings, None),
    ("StopRuleProcessing", Bool, None),
];

/// The properties Set-Mailbox may change, with their types.
pub const MAILBOX_SETTABLE: &[Param] = &[
    ("DisplayName", Str, None),
    ("Office", Str, None),
    ("CustomAttribute1", Str, None),
    ("CustomAttribute2", Str, None),
    ("CustomAttribute3", Str, None),
    ("CustomAttribute4", Str, None),
    ("CustomAttribute5", Str, None),
    ("CustomAttribute6", Str, None),
    ("CustomAttribute7", Str, None),
    ("CustomAttribute8", Str, None),
    ("CustomAttribute9", Str, None),
    ("CustomAttribute10", Str, None),
    ("CustomAttribute11", Str, None),
    ("CustomAttribute12", Str, None),
    ("CustomAttribute13", Str, None),
    ("CustomAttribute14", Str, None),
    ("CustomAttribute15", Str, None),
    ("HiddenFromAddressListsEnabled", Bool, None),
    ("LitigationHoldEnabled", Bool, None),
    ("RetentionHoldEnabled", Bool, None),
    ("AuditEnabled", Bool, None),
    ("DeliverToMailboxAndForward", Bool, None),
    ("ForwardingSmtpAddress", Str, None),
    ("ProhibitSendQuota", Object, None),
    ("ProhibitSendReceiveQuota", Object, None),
    ("IssueWarningQuota", Object, None),
    ("MaxSendSize", Object, None),
    ("MaxReceiveSize", Object, None),
];

macro_rules! spec {
    ($name:expr, scc: $scc:expr, mbx: $mbx:expr, $roles:expr, $params:expr, change: $change:expr) => {
        Spec {
            name: $name,
            scc: $scc,
            mailboxes: $mbx,
            roles: $roles,
            params: $params,
            change: $change,
        }
    };
}

/// Every cmdlet (a data table).
pub const CMDLETS: &[Spec] = &[
    spec!("Get-Mailbox", scc: false, mbx: true, READERS, RECIPIENT_QUERY, change: false),
    spec!("Get-EXOMailbox", scc: false, mbx: true, READERS, &[
        ("Identity", Str, Some("Identity")),
        ("Filter", Str, Some("Filter")),
        ("ResultSize", Object, None),
        ("RecipientTypeDetails", Strings, None),
        ("Properties", Strings, None),
        ("PropertySets", Strings, None),
    ], change: false),
    spec!("Get-User", scc: false, mbx: false, READERS, RECIPIENT_QUERY, change: false),
    spec!("Get-Recipient", scc: false, mbx: false, READERS, RECIPIENT_QUERY, change: false),
    spec!("Get-AcceptedDomain", scc: false, mbx: false, CONFIG_READERS, &[ID], change: false),
    spec!("Get-OrganizationConfig", scc: false, mbx: false, CONFIG_READERS, &[], change: false),
    spec!("Get-TransportRule", scc: false, mbx: false, CONFIG_READERS,
        &[ID, ("State", Str, None)], change: false),
    spec!("Get-InboundConnector", scc: false, mbx: false, CONFIG_READERS, &[ID], change: false),
    spec!("Get-OutboundConnector", scc: false, mbx: false, CONFIG_READERS, &[ID], change: false),
    spec!("Get-HostedContentFilterPolicy", scc: false, mbx: false, SECURITY, &[ID], change: false),
    spec!("Get-MalwareFilterPolicy", scc: false, mbx: false, SECURITY, &[ID], change: false),
    spec!("Get-QuarantineMessage", scc: false, mbx: false, SECURITY, &[
        ID,
        ("QuarantineTypes", Strings, None),
        ("StartReceivedDate", Date, None),
        ("EndReceivedDate", Date, None),
        ("PageSize", Int, None),
        ("Page", Int, None),
    ], change: false),
    spec!("Get-MessageTrace", scc: false, mbx: false, TRACE, &[
        ("SenderAddress", Strings, None),
        ("RecipientAddress", Strings, None),
        ("StartDate", Date, None),
        ("EndDate", Date, None),
        ("Status", Strings, None),
        ("PageSize", Int, None),
        ("Page", Int, None),
    ], change: false),
    spec!("Set-Mailbox", scc: false, mbx: true, RECIPIENT_WRITERS, &[ID, CONFIRM, WHATIF], change: true),
    spec!("New-TransportRule", scc: false, mbx: false, WRITERS,
        &[("Name", Str, None), ("Enabled", Bool, None), CONFIRM, WHATIF], change: true),
    spec!("Set-TransportRule", scc: false, mbx: false, WRITERS,
        &[ID, ("Name", Str, None), CONFIRM, WHATIF], change: true),
    spec!("Remove-TransportRule", scc: false, mbx: false, WRITERS, &[ID, CONFIRM, WHATIF], change: true),
    spec!("Enable-TransportRule", scc: false, mbx: false, WRITERS, &[ID, CONFIRM, WHATIF], change: true),
    spec!("Disable-TransportRule", scc: false, mbx: false, WRITERS, &[ID, CONFIRM, WHATIF], change: true),
    spec!("Get-RetentionCompliancePolicy", scc: true, mbx: false, COMPLIANCE,
        &[ID, ("DistributionDetail", Switch, None)], change: false),
    spec!("Get-DlpCompliancePolicy", scc: true, mbx: false, DLP,
        &[ID, ("DistributionDetail", Switch, None)], change: false),
    spec!("Get-ComplianceSearch", scc: true, mbx: false, COMPLIANCE,
        &[ID, ("ResultSize", Object, None)], change: false),
];

impl Spec {
    /// Every parameter of the cmdlet: its own, the rule fields of the transport rule cmdlets,
    /// the settable properties of Set-Mailbox.
    pub fn all_params(&self) -> Vec<Param> {
        let mut out = self.params.to_vec();
        match self.name {
            "New-TransportRule" | "Set-TransportRule" => out.extend_from_slice(RULE_FIELDS),
            "Set-Mailbox" => out.extend_from_slice(MAILBOX_SETTABLE),
            _ => {}
        }
        out
    }

    /// The cmdlet exists on this host for this tenant.
    pub fn exists(&self, host: AdminHost, tenant: &Tenant) -> bool {
        self.scc != host.is_exo() && !(self.mailboxes && tenant.kind == TenantKind::EopStandalone)
    }

    /// One of `roles` allows it (None = app-only: everything).
    pub fn allowed(&self, roles: Option<&[String]>) -> bool {
        roles.is_none_or(|roles| {
            roles
                .iter()
                .any(|r| self.roles.iter().any(|need| need.eq_ignore_ascii_case(r)))
        })
    }
}

/// The module file's `param(…)` block and function for one cmdlet.
fn function(spec: &Spec) -> String {
    let params = spec.all_params();
    let sets: Vec<&str> = params.iter().filter_map(|p| p.2).collect();
    let default_set = sets.first().copied().unwrap_or("Default");
    let mut lines = Vec::new();
    for (name, ty, set) in &params {
        let attr = match set {
            Some(s) => format!("    [Parameter(ParameterSetName='{s}')]\n"),
            None => String::new(),
        };
        lines.push(format!("{attr}    [{}]\n    ${{{name}}}", ty.ps()));
    }
    format!(
        "function script:{name}\n{{\n    [CmdletBinding(DefaultParameterSetName='{default_set}', SupportsShouldProcess=${should})]\n    param(\n{params}\n    )\n    Begin {{\n        $commandName = '{name}'\n    }}\n    Process {{\n        Execute-Command -CommandName $commandName -Parameters $PSBoundParameters -ParameterSetName $PSCmdlet.ParameterSetName\n    }}\n    End {{\n    }}\n}}\n",
        name = spec.name,
        should = if spec.change { "true" } else { "false" },
        params = lines.join(",\n\n"),
    )
}

/// The cmdlets a caller sees on a host for a tenant (`roles` None = app-only).
pub fn visible(host: AdminHost, tenant: &Tenant, roles: Option<&[String]>) -> Vec<&'static Spec> {
    CMDLETS
        .iter()
        .filter(|s| s.exists(host, tenant) && s.allowed(roles))
        .collect()
}

/// The EXOModuleFile answer (see the module docs).
pub fn module_file(
    host: AdminHost,
    tenant: &Tenant,
    roles: Option<&[String]>,
    version: &str,
    context: &str,
) -> Value {
    use base64::Engine;
    let specs = visible(host, tenant, roles);
    let mut text = format!(
        "# Generated by the simulated Exchange admin API for {} (module version {version}).\n# Cmdlets: {}\n\n",
        tenant.domains[0],
        specs.len()
    );
    for s in &specs {
        text.push_str(&function(s));
        text.push('\n');
    }
    let names: Vec<&str> = specs.iter().map(|s| s.name).collect();
    json!({
        "@odata.context": context,
        "value": [{
            "ModuleVersion": version,
            "ModuleName": format!("tmpEXO_{}", &tenant.id.simple().to_string()[..8]),
            "exportedCmdlets": names.join(","),
            "EncodedModule": base64::engine::general_purpose::STANDARD.encode(text),
        }]
    })
}
