//! The known-failure catalogue: ONE data table shared by the engine (sign-in, REST client,
//! connectivity check), the window and the command line. Each entry says what happened, why,
//! and what to do, and is matched by AADSTS code, HTTP status + body text, exception type or
//! error text (see [`Symptom`] and [`find`]).
//!
//! Pure data: no network, no async. Add rows, not code. Entries are tried in order, so specific
//! entries (a 429 with the tenant-concurrency text) come before generic ones (any 429).

use super::cloud::{Cloud, Service};

/// How an entry recognises a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// An AADSTS code (from `error_codes` or an `AADSTSnnnn` in the text).
    Aadsts(u64),
    /// Any failure with this HTTP status.
    Status(u16),
    /// This text (case-insensitive) in the message, body or exception type.
    Text(&'static str),
    /// This HTTP status and this text.
    StatusText(u16, &'static str),
    /// This .NET exception type (case-insensitive substring of the type name).
    Exception(&'static str),
    /// This text, for a profile of this service.
    ServiceText(Service, &'static str),
    /// One of these AADSTS codes, for a profile of this cloud.
    CloudAadsts(Cloud, &'static [u64]),
    /// Any failure of a profile of this cloud.
    Cloud(Cloud),
}

/// One catalogued failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownFailure {
    /// Stable identifier (`aadsts-50076`, `tcp-blocked`, ...).
    pub id: &'static str,
    /// What happened, in plain words.
    pub meaning: &'static str,
    /// Why it happens.
    pub why: &'static str,
    /// What to do about it.
    pub fix: &'static str,
    pub matches: &'static [Match],
}

impl KnownFailure {
    /// The first AADSTS code this entry matches, if it is an AADSTS entry.
    pub fn aadsts(&self) -> Option<u64> {
        self.matches.iter().find_map(|m| match m {
            Match::Aadsts(c) => Some(*c),
            _ => None,
        })
    }

    /// "What happened. Why: ... What to do: ..." in one paragraph.
    pub fn plain(&self) -> String {
        format!(
            "{} Why: {} What to do: {}",
            self.meaning, self.why, self.fix
        )
    }
}

/// What is known about a failure; fill in what you have (the rest stays default).
#[derive(Debug, Clone, Copy, Default)]
pub struct Symptom<'a> {
    pub aadsts: &'a [u64],
    pub status: Option<u16>,
    /// The message, body or error text.
    pub text: &'a str,
    pub exception_type: Option<&'a str>,
    pub service: Option<Service>,
    pub cloud: Option<Cloud>,
}

impl<'a> Symptom<'a> {
    /// Just an error text (AADSTS codes in it are found too).
    pub fn text(text: &'a str) -> Self {
        Symptom {
            text,
            ..Default::default()
        }
    }
}

/// AADSTS codes written in a text (`AADSTS50076: ...`).
pub fn aadsts_codes_in(text: &str) -> Vec<u64> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("AADSTS") {
        let digits: String = rest[i + 6..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        if let Ok(n) = digits.parse() {
            out.push(n);
        }
        rest = &rest[i + 6..];
    }
    out
}

fn contains_ci(hay: &str, needle: &str) -> bool {
    hay.to_ascii_lowercase()
        .contains(&needle.to_ascii_lowercase())
}

impl Match {
    fn hits(&self, s: &Symptom, codes: &[u64]) -> bool {
        let text_hit =
            |t: &str| contains_ci(s.text, t) || s.exception_type.is_some_and(|e| contains_ci(e, t));
        match *self {
            Match::Aadsts(c) => codes.contains(&c),
            Match::Status(st) => s.status == Some(st),
            Match::Text(t) => text_hit(t),
            Match::StatusText(st, t) => s.status == Some(st) && text_hit(t),
            Match::Exception(t) => s.exception_type.is_some_and(|e| contains_ci(e, t)),
            Match::ServiceText(svc, t) => s.service == Some(svc) && text_hit(t),
            Match::CloudAadsts(cloud, cs) => {
                s.cloud == Some(cloud) && codes.iter().any(|c| cs.contains(c))
            }
            Match::Cloud(cloud) => s.cloud == Some(cloud),
        }
    }
}

/// The first catalogued failure matching the symptom.
pub fn find(s: &Symptom) -> Option<&'static KnownFailure> {
    let mut codes: Vec<u64> = s.aadsts.to_vec();
    codes.extend(aadsts_codes_in(s.text));
    CATALOGUE
        .iter()
        .find(|k| k.matches.iter().any(|m| m.hits(s, &codes)))
}

/// The entry with this id.
pub fn by_id(id: &str) -> Option<&'static KnownFailure> {
    CATALOGUE.iter().find(|k| k.id == id)
}

/// The entry of an AADSTS code (exact code match only).
pub fn by_aadsts(code: u64) -> Option<&'static KnownFailure> {
    CATALOGUE
        .iter()
        .find(|k| k.matches.contains(&Match::Aadsts(code)))
}

/// Ids the connectivity check refers to.
pub mod ids {
    pub const DNS_FAILURE: &str = "dns-failure";
    pub const TCP_BLOCKED: &str = "tcp-blocked";
    pub const TLS_UNKNOWN_ISSUER: &str = "tls-unknown-issuer";
    pub const TLS_FAILED: &str = "tls-failed";
    pub const PROXY_407: &str = "proxy-407";
    pub const PROXY_REFUSED: &str = "proxy-refused";
    pub const CLOCK_SKEW: &str = "clock-skew";
    pub const OPENID_METADATA: &str = "openid-metadata";
    pub const GERMANY_RETIRED: &str = "germany-retired";
    pub const CHINA_MFA: &str = "china-mfa";
}

/// Codes that mean "MFA or Conditional Access needs an interactive sign-in".
pub const MFA_CODES: &[u64] = &[50072, 50074, 50076, 50079, 50158, 53003, 50155];

/// Codes Entra returns when Conditional Access refuses a sign-in (Microsoft Entra
/// authentication and authorization error codes: 53000 DeviceNotCompliant, 53001
/// DeviceNotDomainJoined, 53002 ApplicationUsedIsNotAnApprovedApp, 53003
/// BlockedByConditionalAccess — what a policy that blocks the device-code flow answers —, 530032
/// BlockedByConditionalAccessOnSecurityPolicy). Seen on a device-code sign-in they mean the
/// device-code flow is refused: the browser flow may be allowed.
pub const DEVICE_CODE_CA_CODES: &[u64] = &[53000, 53001, 53002, 53003, 530032];

/// A device-code sign-in refused by Conditional Access.
pub const DEVICE_CODE_BLOCKED: KnownFailure = KnownFailure {
    id: "device-code-blocked",
    meaning: "Conditional Access refused the device-code sign-in for this account.",
    why: "Many tenants block the device-code flow (it can be phished) or require a compliant device or location for it.",
    fix: "Use browser sign-in instead (exo-connect login NAME --method browser, or the Browser method in the sign-in dialog); if that is refused too, ask the tenant's admins which Conditional Access policy applies (the trace id identifies the sign-in).",
    matches: &[],
};

/// MFA is required but the cloud is 21Vianet (O365China).
pub const CHINA_MFA: KnownFailure = KnownFailure {
    id: ids::CHINA_MFA,
    meaning: "This account requires multi-factor authentication, which is not available for Microsoft 365 operated by 21Vianet (O365China).",
    why: "21Vianet does not offer MFA sign-in to admin clients like this one.",
    fix: "Use an account without MFA for this cloud, or an app-only (certificate) profile.",
    matches: &[Match::CloudAadsts(Cloud::O365China, MFA_CODES)],
};

const fn aad(
    id: &'static str,
    meaning: &'static str,
    why: &'static str,
    fix: &'static str,
    matches: &'static [Match],
) -> KnownFailure {
    KnownFailure {
        id,
        meaning,
        why,
        fix,
        matches,
    }
}

/// The catalogue. Keep it a table; order matters (specific before generic).
pub static CATALOGUE: &[KnownFailure] = &[
    // ---- clouds ----
    KnownFailure {
        id: ids::GERMANY_RETIRED,
        meaning: "This profile uses Office 365 Germany (Microsoft Cloud Deutschland), which is retired.",
        why: "Microsoft closed the Germany cloud; its tenants were moved to the worldwide cloud and its sign-in and service hosts (login.microsoftonline.de, outlook.office.de) no longer serve them.",
        fix: "Set the profile's cloud to O365Default (worldwide) and connect again.",
        matches: &[
            Match::Cloud(Cloud::O365GermanyCloud),
            Match::Text("login.microsoftonline.de"),
            Match::Text("outlook.office.de"),
        ],
    },
    CHINA_MFA,
    // ---- sign-in (AADSTS) ----
    aad(
        "aadsts-50076",
        "This account must use multi-factor authentication (MFA), which a password sign-in cannot do.",
        "A Conditional Access or per-user MFA policy demands a second factor, and a password-only sign-in cannot present one.",
        "Sign in with the device code or the browser method.",
        &[Match::Aadsts(50076)],
    ),
    aad(
        "aadsts-50079",
        "This account must register for and use multi-factor authentication (MFA).",
        "The tenant requires MFA and the account has not registered a method yet.",
        "Sign in with the device code or the browser method and complete the MFA registration.",
        &[Match::Aadsts(50079)],
    ),
    aad(
        "aadsts-50074",
        "Strong authentication (MFA) is required for this account.",
        "The tenant's policy asks for a second factor on this sign-in.",
        "Sign in with the device code or the browser method.",
        &[Match::Aadsts(50074)],
    ),
    aad(
        "aadsts-50072",
        "The account must enrol in multi-factor authentication (MFA) first.",
        "The tenant requires MFA enrolment before the account may sign in.",
        "Sign in with the device code or the browser method and complete the MFA enrolment.",
        &[Match::Aadsts(50072)],
    ),
    aad(
        "aadsts-50158",
        "An external security challenge (MFA or a Conditional Access control) must be completed.",
        "A Conditional Access policy requires a challenge only an interactive sign-in can answer.",
        "Sign in with the device code or the browser method.",
        &[Match::Aadsts(50158)],
    ),
    aad(
        "aadsts-53003",
        "Access was blocked by a Conditional Access policy of the tenant.",
        "A Conditional Access policy blocks this device, location, client or account.",
        "Sign in interactively (device code or browser) from a compliant device or location, or ask the tenant's admins which policy applies (the trace id identifies the sign-in).",
        &[Match::Aadsts(53003)],
    ),
    aad(
        "aadsts-50126",
        "The user name or password is wrong.",
        "Entra could not verify the credentials (a typo, an old password, or a federated account).",
        "Check the password (and the profile's UPN) and try again.",
        &[Match::Aadsts(50126)],
    ),
    aad(
        "aadsts-50034",
        "The user account does not exist in this tenant.",
        "The UPN is not found in the directory the authority points to.",
        "Check the profile's UPN for typos, and that the tenant (or DelegatedOrganization) is the right one.",
        &[Match::Aadsts(50034)],
    ),
    aad(
        "aadsts-700016",
        "The application is not found in this tenant (wrong app id, or it was never consented here).",
        "The app id is not registered in, or not consented to by, the tenant of the authority.",
        "Check the app id and the Organization of the profile; an admin of the tenant must consent to the app.",
        &[Match::Aadsts(700016)],
    ),
    aad(
        "aadsts-65001",
        "Nobody has consented to this application for the requested permissions.",
        "The tenant has not granted the permissions the app asks for.",
        "Ask a tenant administrator to grant admin consent to the application, then sign in again.",
        &[Match::Aadsts(65001)],
    ),
    aad(
        "aadsts-70008",
        "The cached sign-in has expired (the refresh token is too old or was not used for too long).",
        "Refresh tokens expire after a period of inactivity or by policy.",
        "Sign in again.",
        &[Match::Aadsts(70008)],
    ),
    aad(
        "aadsts-700082",
        "The cached sign-in has expired because it was not used for too long.",
        "Refresh tokens expire after a period of inactivity.",
        "Sign in again.",
        &[Match::Aadsts(700082)],
    ),
    aad(
        "aadsts-50173",
        "The cached sign-in was revoked (for example the password changed or an admin revoked sessions).",
        "Entra invalidates refresh tokens when credentials change or sessions are revoked.",
        "Sign in again.",
        &[Match::Aadsts(50173)],
    ),
    aad(
        "aadsts-50133",
        "The cached sign-in is no longer valid because the password changed.",
        "A password change invalidates the refresh tokens issued before it.",
        "Sign in again with the new password.",
        &[Match::Aadsts(50133)],
    ),
    aad(
        "aadsts-90002",
        "The tenant was not found (no such tenant domain or id, or it has no active subscription).",
        "The authority names a tenant Entra does not know in this cloud.",
        "Check the profile's tenant / DelegatedOrganization / Organization spelling, and the cloud: a tenant of another cloud is not found here.",
        &[Match::Aadsts(90002)],
    ),
    aad(
        "aadsts-50011",
        "The redirect URI sent does not match any the application allows.",
        "The app registration lists other reply URLs than the one this sign-in used.",
        "This is a client configuration problem: use the browser method's default loopback redirect, or report it.",
        &[Match::Aadsts(50011)],
    ),
    aad(
        "aadsts-50020",
        "The account is not a member of this tenant (nor a guest in it).",
        "The authority points to a tenant the account does not belong to.",
        "Sign in with an account of this tenant, or set the right tenant / DelegatedOrganization in the profile.",
        &[Match::Aadsts(50020)],
    ),
    aad(
        "aadsts-500011",
        "The resource (service) was not found in this tenant.",
        "The token was asked for a service the tenant does not have, often because of a wrong cloud or ConnectionUri.",
        "Check the profile's cloud and ConnectionUri; the service may not be licensed in this tenant.",
        &[Match::Aadsts(500011)],
    ),
    aad(
        "aadsts-50057",
        "The user account is disabled.",
        "An administrator blocked sign-in for this account.",
        "Ask an administrator to enable the account.",
        &[Match::Aadsts(50057)],
    ),
    aad(
        "aadsts-50053",
        "The account is locked after too many failed sign-ins.",
        "Smart lockout protects the account after repeated wrong passwords.",
        "Wait a few minutes or ask an administrator to unlock it.",
        &[Match::Aadsts(50053)],
    ),
    aad(
        "aadsts-7000215",
        "The application's client secret is invalid.",
        "The secret is wrong, expired or was deleted from the app registration.",
        "Check or renew the secret of the app registration.",
        &[Match::Aadsts(7000215)],
    ),
    aad(
        "aadsts-700027",
        "The client assertion (certificate) was not accepted: the certificate is not registered on the application, or its signature or dates are invalid.",
        "Entra verifies the assertion against the certificates uploaded to the app registration.",
        "Upload this certificate to the app registration, or pick the certificate that is registered there.",
        &[Match::Aadsts(700027)],
    ),
    aad(
        "aadsts-70011",
        "The requested scope is invalid.",
        "The scope is derived from the service URL; a wrong cloud or ConnectionUri gives a scope Entra does not know.",
        "Check the profile's cloud and ConnectionUri (the scope is derived from them).",
        &[Match::Aadsts(70011)],
    ),
    // ---- admin API ----
    KnownFailure {
        id: "tenant-concurrency",
        meaning: "The service refused the request: the tenant has too many requests running at once.",
        why: "Exchange Online limits concurrent admin requests per tenant; other admins, scripts or apps of the tenant share that budget.",
        fix: "Wait a moment and run it again (exo-connect retries this automatically); close idle sessions and spread scheduled scripts of the tenant apart.",
        matches: &[
            Match::Text("maximum number of concurrent requests per tenant"),
            Match::Exception("ConcurrencyThrottlingException"),
        ],
    },
    KnownFailure {
        id: "remote-powershell-disabled",
        meaning: "This account is not allowed to use the Exchange admin API (remote PowerShell access is disabled for it).",
        why: "The user's RemotePowerShellEnabled setting is False; Exchange refuses every admin call of that account, whatever its roles.",
        fix: "Ask an Exchange administrator to run `Set-User -Identity <your UPN> -RemotePowerShellEnabled $true`, wait a few minutes, then connect again.",
        matches: &[
            Match::Text("RemotePowerShellEnabled is False"),
            Match::Text("not allowed to access Exchange Online PowerShell"),
            Match::Text("not enabled for remote PowerShell"),
        ],
    },
    KnownFailure {
        id: "eop-not-mail-user",
        meaning: "Exchange Online Protection could not find a session for this account (\"the shell was not found\").",
        why: "In standalone EOP the admin account must be a mail user (a mail-enabled account); an account without a mail address gets this error.",
        fix: "Make the admin account a mail user in the EOP organization (or use an account that is one), then connect again.",
        matches: &[
            Match::ServiceText(Service::Protection, "shell was not found"),
            Match::Text("is not a mail user"),
        ],
    },
    KnownFailure {
        id: "shell-not-found",
        meaning: "The service lost the session (\"the shell was not found on the server\").",
        why: "The client's public IP address changed during the connection, typically behind a NAT/SNAT pool or load balancer with several outbound addresses; the service ties a session to one address.",
        fix: "Ask the network team to pin this machine's traffic to Microsoft 365 to one outbound address (or exempt it from the SNAT pool), then connect again.",
        matches: &[Match::Text("shell was not found")],
    },
    KnownFailure {
        id: "connection-limit",
        meaning: "The service refused a new connection: this account has reached the maximum number of connections allowed.",
        why: "Exchange limits open connections per account and service (3 for Exchange Online, 5 for EOP and Security & Compliance); sessions left open elsewhere count until they expire.",
        fix: "Disconnect sessions you no longer use (Sessions > Disconnect stale), close other PowerShell windows of this account, or wait about 15 minutes for old ones to expire.",
        matches: &[
            Match::Text("maximum number of connections allowed"),
            Match::Text("exceeded the maximum number of connections"),
        ],
    },
    KnownFailure {
        id: "missing-role",
        meaning: "Access denied: the cmdlet is not available to this account.",
        why: "Exchange shows only the cmdlets of the management roles assigned to the account (RBAC); a missing role looks like an unknown cmdlet.",
        fix: "Ask an administrator to assign a role group that contains the cmdlet (e.g. View-Only Organization Management to read, Organization Management to change), or check the cmdlet's spelling and the service (EXO vs Security & Compliance).",
        matches: &[
            Match::StatusText(403, "is not recognized as a name of a cmdlet"),
            Match::StatusText(403, "not in any management role"),
            Match::Exception("CommandNotFoundException"),
            Match::Status(403),
        ],
    },
    KnownFailure {
        id: "throttled",
        meaning: "The service is throttling requests (HTTP 429 Too Many Requests).",
        why: "Exchange Online limits how many requests a user and tenant may send in a time window.",
        fix: "Wait the time the service asks (exo-connect retries with backoff), send fewer or smaller requests (-ResultSize, fewer properties), and avoid running many sessions in parallel.",
        matches: &[Match::Status(429), Match::Text("Too Many Requests")],
    },
    // ---- network ----
    KnownFailure {
        id: ids::PROXY_407,
        meaning: "The proxy asked for credentials (HTTP 407 Proxy Authentication Required).",
        why: "The network's proxy only lets authenticated users through, and no valid proxy credential was sent (none saved, a wrong password, or a scheme the proxy does not accept).",
        fix: "Set the proxy user and authentication (Basic/Negotiate) in the profile and save the proxy password to the keychain in the editor; check it with the network team if it keeps failing.",
        matches: &[
            Match::Status(407),
            Match::Text("Proxy Authentication Required"),
        ],
    },
    KnownFailure {
        id: ids::PROXY_REFUSED,
        meaning: "The proxy refused to connect to the service.",
        why: "The proxy's rules do not allow this host or port, or it could not reach the service itself.",
        fix: "Ask the network team to allow HTTPS (CONNECT to port 443) to the Microsoft 365 hosts shown, or choose another proxy access type in the profile.",
        matches: &[Match::Text("proxy refused")],
    },
    KnownFailure {
        id: ids::TLS_UNKNOWN_ISSUER,
        meaning: "The service's certificate is not trusted: it was issued by a certificate authority this computer does not trust.",
        why: "Usually a corporate proxy or firewall inspects TLS and re-signs traffic with its own root certificate, which is not in the system's trust store (or someone is intercepting the connection).",
        fix: "If the issuer shown is your organisation's inspection CA, install its root certificate in the system store: Windows — certlm.msc > Trusted Root Certification Authorities > Import (or Group Policy); macOS — Keychain Access > System > import and set to Always Trust (or `sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain root.crt`); Linux — copy it to /usr/local/share/ca-certificates/ and run `sudo update-ca-certificates` (Fedora: /etc/pki/ca-trust/source/anchors + `update-ca-trust`). Otherwise ask the network team to exempt Microsoft 365 from TLS inspection.",
        matches: &[
            Match::Text("UnknownIssuer"),
            Match::Text("unknown issuer"),
            Match::Text("self-signed certificate"),
            Match::Text("self signed certificate"),
        ],
    },
    KnownFailure {
        id: ids::TLS_FAILED,
        meaning: "The secure (TLS) connection could not be set up.",
        why: "The certificate does not match the host, is expired, or something between this computer and the service breaks TLS.",
        fix: "Check the host name in the profile and the computer's date; ask the network team whether a proxy or firewall interferes with TLS to Microsoft 365.",
        matches: &[
            Match::Text("invalid peer certificate"),
            Match::Text("NotValidForName"),
            Match::Text("certificate expired"),
            Match::Text("HandshakeFailure"),
        ],
    },
    KnownFailure {
        id: ids::CLOCK_SKEW,
        meaning: "This computer's clock is off from the service's by more than 5 minutes.",
        why: "Tokens and certificates are valid for a time window; with a wrong clock the service refuses new tokens (not yet valid / already expired) and sign-in or app-only assertions fail.",
        fix: "Turn on automatic time synchronisation (Windows: Settings > Time & language > Set time automatically / `w32tm /resync`; macOS: Date & Time > Set automatically; Linux: `timedatectl set-ntp true`).",
        matches: &[
            Match::Aadsts(700024),
            Match::Text("clock skew"),
            Match::Text("token is not yet valid"),
            Match::Text("not within its valid time range"),
        ],
    },
    KnownFailure {
        id: ids::OPENID_METADATA,
        meaning: "The sign-in host did not return valid OpenID metadata.",
        why: "The authority URL is wrong (a typo, another cloud, a custom URL that is not an Entra authority) or something in between answered instead of Entra (a captive portal or proxy error page).",
        fix: "Check the profile's cloud and AzureADAuthorizationEndpointUri; open <authority>/v2.0/.well-known/openid-configuration in a browser to see what answers.",
        matches: &[Match::Text("openid-configuration")],
    },
    KnownFailure {
        id: ids::TCP_BLOCKED,
        meaning: "The connection to the service was refused or timed out.",
        why: "Nothing listens on that host and port, or a firewall blocks the traffic: TCP 443 (and 80) must be open from this computer to Microsoft 365.",
        fix: "Check the host and port in the profile; ask the network team to open TCP 443 to the Microsoft 365 endpoints (or route it through the proxy).",
        matches: &[
            Match::Text("connection refused"),
            Match::Text("actively refused"),
            Match::Text("tcp connect error"),
            Match::Text("connect timed out"),
        ],
    },
    KnownFailure {
        id: ids::DNS_FAILURE,
        meaning: "The host name could not be resolved (DNS).",
        why: "The name is misspelled, the computer has no working DNS server, or the network only resolves external names through a proxy.",
        fix: "Check the host name in the profile (and its cloud); check the network connection and DNS settings; behind a proxy that resolves names for you, choose the proxy access type that uses it.",
        matches: &[
            Match::Text("dns error"),
            Match::Text("failed to lookup address"),
            Match::Text("Name or service not known"),
            Match::Text("No such host is known"),
            Match::Text("nodename nor servname"),
        ],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_rows_complete() {
        for (i, k) in CATALOGUE.iter().enumerate() {
            assert!(
                !k.meaning.is_empty() && !k.why.is_empty() && !k.fix.is_empty(),
                "{}",
                k.id
            );
            assert!(!k.matches.is_empty(), "{} has no matcher", k.id);
            assert!(
                CATALOGUE[i + 1..].iter().all(|o| o.id != k.id),
                "duplicate id {}",
                k.id
            );
        }
        for id in [
            ids::DNS_FAILURE,
            ids::TCP_BLOCKED,
            ids::TLS_UNKNOWN_ISSUER,
            ids::TLS_FAILED,
            ids::PROXY_407,
            ids::PROXY_REFUSED,
            ids::CLOCK_SKEW,
            ids::OPENID_METADATA,
            ids::GERMANY_RETIRED,
            ids::CHINA_MFA,
        ] {
            assert!(by_id(id).is_some(), "{id} missing");
        }
    }

    /// Each entry matched by a realistic input (and only by the entry it belongs to first).
    #[test]
    fn each_entry_matched_by_a_realistic_input() {
        let wc = Cloud::O365Default;
        let cases: Vec<(&str, Symptom)> = vec![
            (
                "germany-retired",
                Symptom {
                    cloud: Some(Cloud::O365GermanyCloud),
                    text: "error sending request for url (https://login.microsoftonline.de/organizations/oauth2/v2.0/devicecode): dns error",
                    ..Default::default()
                },
            ),
            (
                "china-mfa",
                Symptom {
                    cloud: Some(Cloud::O365China),
                    aadsts: &[50076],
                    text: "AADSTS50076: Due to a configuration change made by your administrator, you must use multi-factor authentication.",
                    ..Default::default()
                },
            ),
            (
                "aadsts-50076",
                Symptom {
                    cloud: Some(wc),
                    text: "invalid_grant: AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '00000002-0000-0ff1-ce00-000000000000'.",
                    ..Default::default()
                },
            ),
            (
                "aadsts-700082",
                Symptom::text("AADSTS700082: The refresh token has expired due to inactivity."),
            ),
            (
                "aadsts-53003",
                Symptom {
                    aadsts: &[53003],
                    ..Default::default()
                },
            ),
            (
                "tenant-concurrency",
                Symptom {
                    status: Some(429),
                    text: "You have reached the maximum number of concurrent requests per tenant. Please wait and try again",
                    exception_type: Some(
                        "Microsoft.Exchange.Admin.OData.Core.ConcurrencyThrottlingException",
                    ),
                    ..Default::default()
                },
            ),
            (
                "remote-powershell-disabled",
                Symptom {
                    status: Some(403),
                    text: "AuthZ: User 'helpdesk@contoso.com' is not allowed to access Exchange Online PowerShell: RemotePowerShellEnabled is False for this account. An administrator can enable it with Set-User -Identity helpdesk@contoso.com -RemotePowerShellEnabled $true.",
                    exception_type: Some(
                        "Microsoft.Exchange.Management.PSDirectInvoke.DirectInvokeCmdletExecutionException",
                    ),
                    ..Default::default()
                },
            ),
            (
                "eop-not-mail-user",
                Symptom {
                    service: Some(Service::Protection),
                    text: "The request for the Windows Remote Shell with ShellId 4C9B2F1E-1234-4A6B-9F00-1A2B3C4D5E6F failed because the shell was not found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer exists on the server.",
                    ..Default::default()
                },
            ),
            (
                "shell-not-found",
                Symptom {
                    service: Some(Service::ExchangeOnline),
                    text: "Processing data from remote server outlook.office365.com failed with the following error message: The request for the Windows Remote Shell with ShellId 4C9B2F1E failed because the shell was not found on the server.",
                    ..Default::default()
                },
            ),
            (
                "connection-limit",
                Symptom {
                    status: Some(400),
                    text: "Fail to create a runspace because you have exceeded the maximum number of connections allowed : 3 for the policy party : MaxConcurrency. Please close existing runspace and try again.",
                    exception_type: Some(
                        "System.Management.Automation.Remoting.PSRemotingTransportException",
                    ),
                    ..Default::default()
                },
            ),
            (
                "missing-role",
                Symptom {
                    status: Some(403),
                    text: "The term 'Get-RetentionCompliancePolicy' is not recognized as a name of a cmdlet, function, script file, or executable program. The cmdlet is not in any management role assigned to 'helpdesk@contoso.com'.",
                    exception_type: Some("System.Management.Automation.CommandNotFoundException"),
                    ..Default::default()
                },
            ),
            (
                "missing-role",
                Symptom {
                    status: Some(403),
                    text: "access denied (403): the cmdlet does not exist or your account lacks the role for it",
                    ..Default::default()
                },
            ),
            (
                "throttled",
                Symptom {
                    status: Some(429),
                    text: "the service is throttling requests (429 Too Many Requests)",
                    ..Default::default()
                },
            ),
            (
                "proxy-407",
                Symptom {
                    status: Some(407),
                    text: "HTTP/1.1 407 Proxy Authentication Required",
                    ..Default::default()
                },
            ),
            (
                "proxy-407",
                Symptom::text(
                    "error sending request: client error (Connect): unsuccessful tunnel: 407 Proxy Authentication Required",
                ),
            ),
            (
                "proxy-refused",
                Symptom::text("proxy refused CONNECT to outlook.office365.com:443 (403 Forbidden)"),
            ),
            (
                "tls-unknown-issuer",
                Symptom::text(
                    "error sending request: client error (Connect): invalid peer certificate: UnknownIssuer",
                ),
            ),
            (
                "tls-failed",
                Symptom::text("invalid peer certificate: NotValidForName"),
            ),
            (
                "clock-skew",
                Symptom::text(
                    "AADSTS700024: Client assertion is not within its valid time range. Current time: 2026-11-22T01:00:00Z, assertion valid from 2026-11-22T04:00:00Z",
                ),
            ),
            (
                "openid-metadata",
                Symptom::text(
                    "https://login.contoso.example/organizations/v2.0/.well-known/openid-configuration answered 404",
                ),
            ),
            (
                "tcp-blocked",
                Symptom::text(
                    "error sending request for url (https://outlook.office365.com/adminapi/beta/x/InvokeCommand): client error (Connect): tcp connect error: Connection refused (os error 111)",
                ),
            ),
            (
                "dns-failure",
                Symptom::text(
                    "error sending request: client error (Connect): dns error: failed to lookup address information: Name or service not known",
                ),
            ),
        ];
        for (want, s) in &cases {
            let got = find(s).map(|k| k.id);
            assert_eq!(got, Some(*want), "{s:?}");
        }
        // Every entry is reachable by some case above, except the AADSTS rows covered below.
        for k in CATALOGUE.iter().filter(|k| k.aadsts().is_none()) {
            assert!(
                cases.iter().any(|(id, _)| *id == k.id),
                "no realistic input for {}",
                k.id
            );
        }
        for k in CATALOGUE.iter().filter_map(|k| k.aadsts().map(|c| (k, c))) {
            let text = format!("AADSTS{}: something", k.1);
            assert_eq!(find(&Symptom::text(&text)).map(|f| f.id), Some(k.0.id));
            assert_eq!(by_aadsts(k.1).map(|f| f.id), Some(k.0.id));
        }
        assert!(find(&Symptom::text("all good")).is_none());
        assert!(
            find(&Symptom {
                status: Some(404),
                text: "The object 'x' couldn't be found.",
                ..Default::default()
            })
            .is_none()
        );
    }

    #[test]
    fn plain_reads_what_why_fix() {
        let k = by_id(ids::TCP_BLOCKED).unwrap();
        let p = k.plain();
        assert!(p.starts_with(k.meaning) && p.contains("Why: ") && p.contains("What to do: "));
    }

    #[test]
    fn codes_in_text() {
        assert_eq!(
            aadsts_codes_in("AADSTS50076: x; inner AADSTS50079"),
            vec![50076, 50079]
        );
        assert!(aadsts_codes_in("AADSTSxyz").is_empty());
    }
}
