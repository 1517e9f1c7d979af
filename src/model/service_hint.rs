//! Which service a cmdlet belongs to, when its name says so: a cmdlet of Security & Compliance
//! run in an Exchange Online session (or the other way round) fails with "not recognized", which
//! reads like a missing role; this names the real cause first.

use super::Service;

/// Nouns only Security & Compliance has (matched inside the cmdlet's noun).
const SCC: &[&str] = &[
    "Compliance",
    "Dlp",
    "Retention",
    "Label",
    "ProtectionAlert",
    "CaseHold",
    "eDiscovery",
    "InformationBarrier",
    "AuditConfig",
];

/// Nouns only Exchange Online has (not EOP, not Security & Compliance).
const EXO_ONLY: &[&str] = &[
    "Mailbox",
    "CASMailbox",
    "MobileDevice",
    "InboxRule",
    "CalendarProcessing",
    "OrganizationConfig",
];

/// Nouns Exchange Online and EOP have, Security & Compliance not.
const EXCHANGE: &[&str] = &[
    "TransportRule",
    "AcceptedDomain",
    "InboundConnector",
    "OutboundConnector",
    "MessageTrace",
    "HostedContentFilter",
    "HostedOutboundSpamFilter",
    "MalwareFilter",
    "QuarantineMessage",
    "DistributionGroup",
    "MailContact",
    "MailUser",
];

/// The services a cmdlet's name places it in; None when the name does not tell.
fn services_of(cmdlet: &str) -> Option<&'static [Service]> {
    let noun = cmdlet.split_once('-').map(|(_, n)| n).unwrap_or(cmdlet);
    let has = |list: &[&str]| {
        list.iter()
            .any(|n| noun.to_ascii_lowercase().contains(&n.to_ascii_lowercase()))
    };
    if has(SCC) {
        Some(&[Service::SecurityCompliance])
    } else if has(EXO_ONLY) {
        Some(&[Service::ExchangeOnline])
    } else if has(EXCHANGE) {
        Some(&[Service::ExchangeOnline, Service::Protection])
    } else {
        None
    }
}

fn long_name(s: Service) -> &'static str {
    match s {
        Service::ExchangeOnline => "Exchange Online",
        Service::Protection => "Exchange Online Protection",
        Service::SecurityCompliance => "Security & Compliance",
    }
}

/// "Get-Mailbox belongs to Exchange Online, not Security & Compliance: …" when `cmdlet` is
/// known to belong to another service than `service`; None otherwise (or when unknown).
pub fn wrong_service(cmdlet: &str, service: Service) -> Option<String> {
    let belongs = services_of(cmdlet)?;
    if belongs.contains(&service) {
        return None;
    }
    let home = belongs[0];
    Some(format!(
        "{cmdlet} belongs to {}, not {}: run it in a session of an {} profile.",
        long_name(home),
        long_name(service),
        home.short()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_service_a_cmdlet_belongs_to() {
        let scc = Service::SecurityCompliance;
        let exo = Service::ExchangeOnline;
        let eop = Service::Protection;
        let m = wrong_service("Get-Mailbox", scc).unwrap();
        assert!(
            m.starts_with("Get-Mailbox belongs to Exchange Online"),
            "{m}"
        );
        let m = wrong_service("Get-RetentionCompliancePolicy", exo).unwrap();
        assert!(m.contains("belongs to Security"), "{m}");
        assert!(wrong_service("Get-DlpCompliancePolicy", eop).is_some());
        assert!(
            wrong_service("Get-TransportRule", eop).is_none(),
            "EOP has it"
        );
        assert!(wrong_service("Get-TransportRule", scc).is_some());
        assert!(wrong_service("Get-Mailbox", exo).is_none());
        assert!(wrong_service("Get-Mailbox", eop).is_some());
        assert!(
            wrong_service("Get-Recipient", scc).is_none(),
            "both have it"
        );
        assert!(wrong_service("Get-Frobnicator", exo).is_none(), "unknown");
    }
}
