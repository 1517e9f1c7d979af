//! `exo-connect run NAME [--format table|json|csv] [--page-size N] -- <cmdlet line>`.
//!
//! Loads the profile, connects through the engine's `Connector` (the cached sign-in, else an
//! interactive one with its progress on stderr; the session registry proves access) and runs the
//! cmdlet, printing its results on stdout (`results.rs`): JSON = an array of the result objects
//! without their `@` annotations (streamed page by page), CSV = a header row from the union of
//! the properties (arrays joined with `;`), table = the properties that fit the terminal width.
//! Warnings, retries and progress go to stderr. Exit 0 ok, 1 sign-in/cmdlet/service failure, 2
//! usage.

use std::time::Duration;

use clap::Args;

pub use super::results::OutputFormat;
use super::signin::{connect_error, session_error};
use super::{CliError, CliResult};
use crate::engine::connect::ConnectOptions;
use crate::engine::rest::CmdletRequest;
use crate::model::cmdline::parse_cmdlet_line;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Profile name.
    pub name: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    /// Page size (`Prefer: odata.maxpagesize`, 1..=1000); default: the profile's.
    #[arg(long)]
    pub page_size: Option<u32>,
    /// Password method: read the password from the first line of stdin.
    #[arg(long)]
    pub password_stdin: bool,
    /// Give up waiting for an interactive sign-in after this many seconds.
    #[arg(long, default_value_t = 900)]
    pub signin_timeout: u64,
    /// The cmdlet line, after `--`: one cmdlet with parameters, e.g. `-- Get-Mailbox -ResultSize 10`.
    /// Give it as one quoted argument to keep PowerShell quoting, or as separate words.
    #[arg(last = true, required = true, num_args = 1..)]
    pub line: Vec<String>,
}

/// Re-assembles the words after `--` into one cmdlet line. One word = the line as typed; several
/// words (the shell removed the quotes) = each word with blanks is single-quoted again.
pub fn join_line(words: &[String]) -> String {
    if words.len() == 1 {
        return words[0].clone();
    }
    words
        .iter()
        .map(|w| {
            let needs = w.chars().any(char::is_whitespace) || w.is_empty();
            if needs && !w.starts_with(['@', '\'', '"']) {
                format!("'{}'", w.replace('\'', "''"))
            } else {
                w.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn run(args: RunArgs) -> CliResult {
    let line = join_line(&args.line);
    let parsed = parse_cmdlet_line(&line).map_err(|e| CliError::Usage(e.message))?;
    if let Some(p) = args.page_size
        && !(1..=1000).contains(&p)
    {
        return Err(CliError::Usage(format!(
            "--page-size {p} is out of range: give a number from 1 to 1000"
        )));
    }
    let request = CmdletRequest::from_line(parsed);
    request
        .row_cap()
        .map_err(|e| CliError::Usage(e.message.clone()))?;
    let mut profile = super::find_profile(&args.name)?;
    if let Some(p) = args.page_size {
        profile.page_size = p;
    }
    let password = if args.password_stdin {
        Some(super::read_secret_line("--password-stdin")?)
    } else {
        None
    };
    let rt = super::runtime()?;
    rt.block_on(async move {
        let connector =
            super::signin::connector(Duration::from_secs(args.signin_timeout.max(1))).await?;
        let prompt = super::signin::TerminalPrompt::new(password);
        let opts = ConnectOptions {
            cancel: super::signin::cancel_on_ctrl_c(),
            ..Default::default()
        };
        let base = profile
            .effective_endpoints()
            .map(|e| e.rest_base.trim_end_matches('/').to_string());
        let session = connector
            .connect(&profile, &prompt, &opts)
            .await
            .map_err(connect_error)?
            .session;
        if base.is_some_and(|b| session.endpoint != b) {
            eprintln!(
                "redirected to {} (pinned for this session)",
                session.endpoint
            );
        }
        let registry = connector.registry();
        let handle = registry
            .run(session.connection_id, request)
            .await
            .map_err(session_error)?;
        let result = super::results::print_results(handle, args.format).await;
        let _ = registry.disconnect(session.connection_id, false).await;
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_requoted() {
        let w = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            join_line(&w(&["Get-Mailbox -Identity 'Ann Lee'"])),
            "Get-Mailbox -Identity 'Ann Lee'"
        );
        assert_eq!(
            join_line(&w(&[
                "Get-Mailbox",
                "-Identity",
                "Ann O'Neil",
                "-ResultSize",
                "5"
            ])),
            "Get-Mailbox -Identity 'Ann O''Neil' -ResultSize 5"
        );
        assert_eq!(
            join_line(&w(&["Set-X", "-E", "@{Add='a b'}"])),
            "Set-X -E @{Add='a b'}"
        );
    }
}
