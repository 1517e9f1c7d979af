//! Async core on tokio: sign-in, token cache, REST client, session registry.
//! The UI and CLI talk to it only through commands in and events out.

pub mod auth;
pub mod connect;
pub mod doctor;
pub mod http;
pub mod proxy;
pub mod rest;
pub mod secrets;
pub mod sessions;
pub mod token;
