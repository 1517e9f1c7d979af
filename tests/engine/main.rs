//! Engine and model tests: sign-in, REST, sessions, proxy, doctor against the sim over loopback; the model's rules, import and PowerShell preview; keychain and interop tests the system scripts run (ignored here).

#[path = "../common/mod.rs"]
mod common;

mod architecture;
mod bulk;
mod cae_signin;
mod catalogue;
mod connect;
mod diag;
mod doctor;
mod fanout;
mod fuzz_findings;
mod interop_oidc_provider;
mod keychain_system;
mod model_import;
mod model_powershell;
mod model_rules;
mod paging;
mod properties;
mod proxy;
mod proxy_system;
mod rate_limits;
mod rest;
mod rest_hardening;
mod scc_affinity;
mod sessions;
mod signin;
