//! Default views of results, like PowerShell's default formatting: the properties a cmdlet's
//! result shows first (Get-Mailbox: DisplayName, PrimarySmtpAddress, RecipientTypeDetails,
//! Alias…), so ~120 mailbox properties do not all land in the grid. Unknown cmdlets show their
//! first few properties; small results (at most [`SMALL`] properties) show every one.

/// A result with at most this many properties shows them all.
pub const SMALL: usize = 8;
/// How many properties an unknown cmdlet's result shows first.
pub const FIRST: usize = 6;

/// The default properties of each known cmdlet (lowercase name), in the order shown.
const VIEWS: &[(&str, &[&str])] = &[
    (
        "get-mailbox",
        &[
            "DisplayName",
            "PrimarySmtpAddress",
            "RecipientTypeDetails",
            "Alias",
            "Database",
            "ProhibitSendQuota",
            "WhenCreated",
        ],
    ),
    (
        "get-exomailbox",
        &[
            "DisplayName",
            "PrimarySmtpAddress",
            "RecipientTypeDetails",
            "Alias",
            "UserPrincipalName",
        ],
    ),
    (
        "get-recipient",
        &[
            "Name",
            "RecipientType",
            "RecipientTypeDetails",
            "PrimarySmtpAddress",
        ],
    ),
    ("get-user", &["Name", "RecipientType", "UserPrincipalName"]),
    (
        "get-mailboxstatistics",
        &["DisplayName", "ItemCount", "TotalItemSize", "LastLogonTime"],
    ),
    (
        "get-distributiongroup",
        &["Name", "DisplayName", "GroupType", "PrimarySmtpAddress"],
    ),
    ("get-transportrule", &["Name", "State", "Mode", "Priority"]),
    (
        "get-accepteddomain",
        &["Name", "DomainName", "DomainType", "Default"],
    ),
    (
        "get-inboundconnector",
        &["Name", "Enabled", "ConnectorType", "SenderDomains"],
    ),
    (
        "get-outboundconnector",
        &[
            "Name",
            "Enabled",
            "ConnectorType",
            "RecipientDomains",
            "SmartHosts",
        ],
    ),
    (
        "get-hostedcontentfilterpolicy",
        &[
            "Name",
            "IsDefault",
            "SpamAction",
            "HighConfidenceSpamAction",
        ],
    ),
    ("get-malwarefilterpolicy", &["Name", "IsDefault", "Action"]),
    (
        "get-quarantinemessage",
        &[
            "ReceivedTime",
            "Type",
            "Direction",
            "SenderAddress",
            "Subject",
            "Size",
            "Expires",
        ],
    ),
    (
        "get-messagetrace",
        &[
            "Received",
            "SenderAddress",
            "RecipientAddress",
            "Subject",
            "Status",
        ],
    ),
    (
        "get-retentioncompliancepolicy",
        &["Name", "Enabled", "Mode", "DistributionStatus", "Workload"],
    ),
    (
        "get-dlpcompliancepolicy",
        &["Name", "Enabled", "Mode", "Workload"],
    ),
    (
        "get-compliancesearch",
        &["Name", "RunBy", "JobEndTime", "Status"],
    ),
];

/// The cmdlet of a cmdlet line, lowercase ("get-mailbox" of "Get-Mailbox -ResultSize 10").
pub fn cmdlet_of(line: &str) -> String {
    line.split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// The default properties of `cmdlet` (any case; None: not a known cmdlet).
pub fn known(cmdlet: &str) -> Option<&'static [&'static str]> {
    let c = cmdlet.to_ascii_lowercase();
    VIEWS.iter().find(|(n, _)| *n == c).map(|(_, cols)| *cols)
}

/// The properties the default view of `cmdlet` shows, of a result with properties `columns`
/// (in first-seen order); None: every one (a small result).
pub fn default_view(cmdlet: &str, columns: &[&str]) -> Option<Vec<String>> {
    if columns.len() <= SMALL {
        return None;
    }
    let picked: Vec<String> = known(cmdlet)
        .unwrap_or_default()
        .iter()
        .filter_map(|want| columns.iter().find(|c| c.eq_ignore_ascii_case(want)))
        .map(|c| c.to_string())
        .collect();
    if !picked.is_empty() {
        return Some(picked);
    }
    Some(columns.iter().take(FIRST).map(|c| c.to_string()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_cmdlets_show_their_properties_in_powershell_order() {
        let mut cols = vec![
            "Guid",
            "Alias",
            "PrimarySmtpAddress",
            "RecipientTypeDetails",
        ];
        cols.extend(["A", "B", "C", "D", "E", "displayname"]);
        assert_eq!(
            default_view("Get-Mailbox", &cols).unwrap(),
            [
                "displayname",
                "PrimarySmtpAddress",
                "RecipientTypeDetails",
                "Alias"
            ]
        );
        let rule = [
            "Guid", "Name", "Priority", "Mode", "State", "A", "B", "C", "D",
        ];
        assert_eq!(
            default_view("get-transportrule", &rule).unwrap(),
            ["Name", "State", "Mode", "Priority"]
        );
        assert_eq!(cmdlet_of("  Get-Mailbox -ResultSize 10"), "get-mailbox");
    }

    #[test]
    fn unknown_cmdlets_show_their_first_properties_and_small_results_all() {
        let cols: Vec<String> = (0..20).map(|i| format!("P{i}")).collect();
        let cols: Vec<&str> = cols.iter().map(String::as_str).collect();
        assert_eq!(
            default_view("Get-Foo", &cols).unwrap(),
            ["P0", "P1", "P2", "P3", "P4", "P5"]
        );
        // Known cmdlet whose result has none of its properties: its first ones.
        assert_eq!(
            default_view("Get-TransportRule", &cols).unwrap().len(),
            FIRST
        );
        assert_eq!(default_view("Get-Mailbox", &cols[..SMALL]), None);
    }
}
