//! Pure domain: profiles, services, clouds and their endpoints, validation, PowerShell preview.
//! No tokio, no egui, no HTTP here.

pub mod bulk;
pub mod catalogue;
pub mod cloud;
pub mod cmdline;
pub mod diagnosis;
pub mod failures;
pub mod fanout;
pub mod params;
pub mod parse;
pub mod powershell;
pub mod profile;
pub mod pwsh;
pub mod results;
pub mod service_hint;
pub mod session;
pub mod store;
pub mod text;
pub mod transfer;
pub mod validate;
pub mod views;
pub mod workspace;

pub use cloud::{Cloud, Endpoints, Service};
pub use profile::{
    AuthMethod, KnownTenant, Profile, ProxyAccessType, ProxyAuthentication, ProxySettings,
    SignInMethod,
};
pub use session::SessionState;
