//! Set-up shared by the four test binaries (`engine`, `cli`, `ui`, `sim`): each includes this
//! folder with `#[path = "../common/mod.rs"] mod common;` and uses what it needs.
#![allow(dead_code)]

pub mod connections_fixture;
pub mod signin_support;
pub mod tenants;
