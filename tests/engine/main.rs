//! Engine and model tests: sign-in, REST, sessions, proxy, doctor against the sim over loopback; the model's rules, import and PowerShell preview; keychain and interop tests the system scripts run (ignored here).

#[path = "../common/mod.rs"]
mod common;

mod architecture;
mod connect;
mod doctor;
mod fanout;
mod interop_oidc_provider;
mod keychain_system;
mod model_import;
mod model_powershell;
mod model_rules;
mod paging;
mod proxy;
mod proxy_system;
mod rest;
mod rest_hardening;
mod sessions;
mod signin;
