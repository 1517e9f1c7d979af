//! `exo-connect login NAME` and `exo-connect logout` (issue: sign-in engine).

use clap::Args;

use super::{CliError, CliResult};

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Profile name.
    pub name: String,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// Profile name.
    pub name: Option<String>,
}

pub fn run_login(_args: LoginArgs) -> CliResult {
    Err(CliError::Failed("sign-in is not built yet".into()))
}

pub fn run_logout(_args: LogoutArgs) -> CliResult {
    Err(CliError::Failed("sign-in is not built yet".into()))
}
