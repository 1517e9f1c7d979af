//! Command-line tests: the real `exo-connect` binary with an isolated `EXO_CONNECT_HOME`, against the sim.

#[path = "../common/mod.rs"]
mod common;

mod bulk;
mod cae;
mod catalogue;
mod confirm;
mod diag;
mod doctor;
mod fanout;
mod legacy_output;
mod login;
mod params;
mod profile;
mod proxy;
mod rate;
mod run;
mod store_output;
mod support;
