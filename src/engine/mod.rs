//! Async core on tokio: Connect (`connect`, the use-case the window and the command line share),
//! sign-in and the token cache (`auth`), secrets in the keychain (`secrets`), the profiles' proxy
//! routes and HTTP clients (`proxy`), the REST client (`rest`), the session registry
//! (`sessions`), the connectivity check (`doctor`), the diagnostic log without secrets (`diag`).
//! The UI and CLI talk to it only through
//! commands in and events out. See ARCHITECTURE.md for the order its modules depend in.

pub mod auth;
pub mod connect;
pub mod diag;
pub mod doctor;
pub mod fanout;
pub mod http;
pub mod proxy;
pub mod rest;
pub mod secrets;
pub mod sessions;
pub mod token;
