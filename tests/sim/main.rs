//! Simulated-tenant tests: the sim's sign-in and admin API driven with plain reqwest (no client code).

#[path = "../common/mod.rs"]
mod common;

mod admin;
mod auth;
mod changes;
mod faults;
mod limits;
mod pacing;
mod signin_compat;
mod support;
mod tenants;
