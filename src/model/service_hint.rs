//! Which service a cmdlet belongs to, when its name says so: a cmdlet of Security & Compliance
//! run in an Exchange Online session (or the other way round) fails with "not recognized", which
//! reads like a missing role; this names the real cause first. The live catalogues (each
//! service's `EXOModuleFile`, `catalogue`) decide first — any cmdlet the other service's
//! catalogue knows and the session's does not —; the noun lists below only when no catalogue
//! tells.

use super::Service;
use super::catalogue::CmdletCatalogue;

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
    Some(message(cmdlet, belongs[0], service))
}

/// [`wrong_service`] from the live catalogues: `own` is the session's service's catalogue
/// (None: not fetched), `known` those known for any service (the session's own is skipped).
/// None when `own` knows the cmdlet; the other service whose catalogue knows it when one does
/// (Exchange Online before EOP); else the noun lists decide.
pub fn wrong_service_known(
    cmdlet: &str,
    service: Service,
    own: Option<&CmdletCatalogue>,
    known: &[(Service, &CmdletCatalogue)],
) -> Option<String> {
    if own.is_some_and(|c| c.cmdlet(cmdlet).is_some()) {
        return None;
    }
    let order = [
        Service::ExchangeOnline,
        Service::SecurityCompliance,
        Service::Protection,
    ];
    let home = order.into_iter().find(|&s| {
        s != service
            && known
                .iter()
                .any(|(k, c)| *k == s && c.cmdlet(cmdlet).is_some())
    });
    match home {
        Some(home) => Some(message(cmdlet, home, service)),
        None => wrong_service(cmdlet, service),
    }
}

fn message(cmdlet: &str, home: Service, service: Service) -> String {
    format!(
        "{cmdlet} belongs to {}, not {}: run it in a session of an {} profile.",
        long_name(home),
        long_name(service),
        home.short()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat(names: &[&str]) -> CmdletCatalogue {
        let mut c = CmdletCatalogue::default();
        for n in names {
            c.cmdlets.insert(
                n.to_ascii_lowercase(),
                crate::model::catalogue::CatalogueCmdlet {
                    name: n.to_string(),
                    params: Vec::new(),
                },
            );
        }
        c
    }

    #[test]
    fn the_live_catalogues_decide_before_the_noun_lists() {
        let (exo, scc) = (Service::ExchangeOnline, Service::SecurityCompliance);
        let exo_cat = cat(&["Get-Mailbox", "Get-EXOMailbox", "Get-SafeLinksPolicy"]);
        let scc_cat = cat(&["Get-ComplianceSearch", "Get-Label"]);
        let known = [(exo, &exo_cat), (scc, &scc_cat)];
        // No noun list names SafeLinks: only the catalogue knows it is Exchange Online's.
        assert!(wrong_service("Get-SafeLinksPolicy", scc).is_none());
        let m = wrong_service_known("Get-SafeLinksPolicy", scc, Some(&scc_cat), &known).unwrap();
        assert!(
            m.starts_with("Get-SafeLinksPolicy belongs to Exchange Online, not Security"),
            "{m}"
        );
        // The session's own catalogue knowing it: no hint, whatever the nouns say.
        assert!(wrong_service_known("Get-Label", scc, Some(&scc_cat), &known).is_none());
        let m = wrong_service_known("get-compliancesearch", exo, Some(&exo_cat), &known).unwrap();
        assert!(m.contains("belongs to Security & Compliance"), "{m}");
        // Nothing known anywhere: the noun lists still answer.
        assert!(wrong_service_known("Get-DlpCompliancePolicy", exo, None, &[]).is_some());
        assert!(wrong_service_known("Get-Frobnicator", exo, Some(&exo_cat), &known).is_none());
    }

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
