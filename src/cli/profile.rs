//! `exo-connect profile ...` (issue: foundation).

use clap::Subcommand;

use super::CliResult;

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// List saved profiles.
    List,
}

pub fn run(cmd: ProfileCommand) -> CliResult {
    match cmd {
        ProfileCommand::List => Ok(()),
    }
}
