//! Command-line tests: the real `exo-connect` binary with an isolated `EXO_CONNECT_HOME`, against the sim.

#[path = "../common/mod.rs"]
mod common;

mod doctor;
mod fanout;
mod login;
mod profile;
mod proxy;
mod run;
mod store_output;
