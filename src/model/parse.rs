//! Parsing of user-typed values: case-insensitive, the PowerShell spellings and short forms
//! accepted (`exo`, `ExchangeOnline`, `o365usgovgcchigh`, `GCCHigh`, ...). The CLI, the UI and
//! the CSV import all use these `FromStr` impls.

use std::fmt;
use std::str::FromStr;

use super::cloud::{Cloud, Service};
use super::profile::{ProxyAccessType, ProxyAuthentication, SignInMethod};

/// A value that is not one of the accepted spellings. Display names the field and the choices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseValueError {
    /// The field, e.g. `service`.
    pub field: &'static str,
    /// What was given.
    pub value: String,
    /// The accepted values, for the message.
    pub expected: &'static str,
}

impl fmt::Display for ParseValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: '{}' is not a valid value; use one of {}",
            self.field, self.value, self.expected
        )
    }
}

impl std::error::Error for ParseValueError {}

/// Lower-case and drop separators so `Exchange-Online`, `exchange_online`, `ExchangeOnline` match.
fn norm(s: &str) -> String {
    s.trim()
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | ' ' | '&' | '.'))
        .flat_map(|c| c.to_lowercase())
        .collect()
}

const SERVICE_EXPECTED: &str = "exo, eop, scc (or ExchangeOnline, Protection, SecurityCompliance)";

impl FromStr for Service {
    type Err = ParseValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match norm(s).as_str() {
            "exo" | "exchangeonline" | "exchange" => Ok(Service::ExchangeOnline),
            "eop" | "protection" | "exchangeonlineprotection" | "onlineprotection" => {
                Ok(Service::Protection)
            }
            "scc"
            | "securitycompliance"
            | "securityandcompliance"
            | "compliance"
            | "ippssession" => Ok(Service::SecurityCompliance),
            _ => Err(ParseValueError {
                field: "service",
                value: s.to_string(),
                expected: SERVICE_EXPECTED,
            }),
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::ExchangeOnline => "ExchangeOnline",
            Service::Protection => "Protection",
            Service::SecurityCompliance => "SecurityCompliance",
        })
    }
}

const CLOUD_EXPECTED: &str =
    "O365Default, O365USGovGCCHigh, O365USGovDoD, O365China, O365GermanyCloud, Custom";

impl FromStr for Cloud {
    type Err = ParseValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match norm(s).as_str() {
            "o365default" | "default" | "worldwide" | "commercial" | "global" | "gcc" => {
                Ok(Cloud::O365Default)
            }
            "o365usgovgcchigh" | "gcchigh" | "usgovgcchigh" => Ok(Cloud::O365USGovGCCHigh),
            "o365usgovdod" | "dod" | "usgovdod" => Ok(Cloud::O365USGovDoD),
            "o365china" | "china" | "21vianet" => Ok(Cloud::O365China),
            "o365germanycloud" | "germany" | "germanycloud" | "o365germany" => {
                Ok(Cloud::O365GermanyCloud)
            }
            "custom" => Ok(Cloud::Custom),
            _ => Err(ParseValueError {
                field: "cloud",
                value: s.to_string(),
                expected: CLOUD_EXPECTED,
            }),
        }
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const PROXY_EXPECTED: &str = "None, IEConfig, WinHttpConfig, AutoDetect, NoProxyServer";

impl FromStr for ProxyAccessType {
    type Err = ParseValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match norm(s).as_str() {
            "none" => Ok(ProxyAccessType::None),
            "ieconfig" | "ie" | "system" => Ok(ProxyAccessType::IEConfig),
            "winhttpconfig" | "winhttp" => Ok(ProxyAccessType::WinHttpConfig),
            "autodetect" | "auto" | "wpad" => Ok(ProxyAccessType::AutoDetect),
            "noproxyserver" | "noproxy" | "direct" => Ok(ProxyAccessType::NoProxyServer),
            _ => Err(ParseValueError {
                field: "proxy",
                value: s.to_string(),
                expected: PROXY_EXPECTED,
            }),
        }
    }
}

impl fmt::Display for ProxyAccessType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProxyAuthentication {
    type Err = ParseValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match norm(s).as_str() {
            "basic" => Ok(ProxyAuthentication::Basic),
            "digest" => Ok(ProxyAuthentication::Digest),
            "negotiate" => Ok(ProxyAuthentication::Negotiate),
            _ => Err(ParseValueError {
                field: "proxy authentication",
                value: s.to_string(),
                expected: "Basic, Digest, Negotiate",
            }),
        }
    }
}

impl fmt::Display for ProxyAuthentication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What `--auth` / `--method` name (the model's one sign-in method enum).
impl FromStr for SignInMethod {
    type Err = ParseValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match norm(s).as_str() {
            "browser" | "interactive" => Ok(SignInMethod::Browser),
            "devicecode" | "device" => Ok(SignInMethod::DeviceCode),
            "password" | "credential" => Ok(SignInMethod::Password),
            "certificate" | "cert" | "apponly" => Ok(SignInMethod::Certificate),
            _ => Err(ParseValueError {
                field: "auth",
                value: s.to_string(),
                expected: "browser, device-code, password, certificate",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_spellings() {
        for (s, want) in [
            ("exo", Service::ExchangeOnline),
            ("EXO", Service::ExchangeOnline),
            ("ExchangeOnline", Service::ExchangeOnline),
            ("exchange-online", Service::ExchangeOnline),
            ("eop", Service::Protection),
            ("Protection", Service::Protection),
            ("scc", Service::SecurityCompliance),
            ("SecurityCompliance", Service::SecurityCompliance),
            ("Security & Compliance", Service::SecurityCompliance),
        ] {
            assert_eq!(s.parse::<Service>().unwrap(), want, "{s}");
        }
        let e = "exchange2010".parse::<Service>().unwrap_err();
        assert!(e.to_string().starts_with("service: 'exchange2010'"), "{e}");
    }

    #[test]
    fn cloud_spellings_round_trip() {
        for c in Cloud::ALL {
            assert_eq!(c.as_str().parse::<Cloud>().unwrap(), c);
            assert_eq!(c.as_str().to_lowercase().parse::<Cloud>().unwrap(), c);
            assert_eq!(c.as_str().to_uppercase().parse::<Cloud>().unwrap(), c);
        }
        assert_eq!(
            "GCC-High".parse::<Cloud>().unwrap(),
            Cloud::O365USGovGCCHigh
        );
        assert!(
            "mars"
                .parse::<Cloud>()
                .unwrap_err()
                .to_string()
                .contains("cloud")
        );
    }

    #[test]
    fn proxy_spellings_round_trip() {
        for p in ProxyAccessType::ALL {
            assert_eq!(p.as_str().parse::<ProxyAccessType>().unwrap(), p);
            assert_eq!(
                p.as_str()
                    .to_lowercase()
                    .parse::<ProxyAccessType>()
                    .unwrap(),
                p
            );
        }
        assert_eq!(
            "digest".parse::<ProxyAuthentication>().unwrap(),
            ProxyAuthentication::Digest
        );
        assert!("ntlm".parse::<ProxyAuthentication>().is_err());
        assert_eq!(
            "device-code".parse::<SignInMethod>().unwrap(),
            SignInMethod::DeviceCode
        );
        assert!("sms".parse::<SignInMethod>().is_err());
    }
}
