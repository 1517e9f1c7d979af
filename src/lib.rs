//! exo-connect: a native connection manager for Exchange Online, EOP and Security & Compliance.
//! See ARCHITECTURE.md for the parts and who may import whom.

pub mod cli;
pub mod engine;
pub mod model;
pub mod sim;
pub mod ui;
