//! `exo-connect sim ...` (issue: simulated tenant).

use clap::Args;

use super::{CliError, CliResult};

#[derive(Debug, Args)]
pub struct SimArgs {}

pub fn run(_args: SimArgs) -> CliResult {
    Err(CliError::Failed(
        "the simulated tenant is not built yet".into(),
    ))
}
