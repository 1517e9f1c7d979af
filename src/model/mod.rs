//! Pure domain: profiles, services, clouds and their endpoints, validation, PowerShell preview.
//! No tokio, no egui, no HTTP here.

pub mod cloud;
pub mod cmdline;
pub mod profile;

pub use cloud::{Cloud, Endpoints, Service};
pub use profile::{AuthMethod, Profile, ProxyAccessType, ProxyAuthentication, ProxySettings};
