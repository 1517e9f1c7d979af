//! `exo-connect doctor NAME [--format text|json] [--timeout SECS]`: the connectivity check of a
//! saved profile. Text prints each step the moment it completes (`✓ DNS login.microsoftonline.com
//! → 20.190.x.x (12 ms)`), with what happened, why and what to do under a failed step; JSON prints
//! the whole report at the end. Exit 0 when no step failed (warnings allowed), 1 when one did,
//! 2 on usage errors.

use std::io::Write;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::{CliError, CliResult};
use crate::engine::doctor::{DoctorOptions, check};
use crate::model::diagnosis::{DiagStep, Outcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DoctorFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Profile name.
    pub name: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: DoctorFormat,
    /// Give up on any single step (DNS, connect, handshake, request) after this many seconds.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
}

/// The text of one step for a terminal: its line, and under a failure or warning the advice.
pub fn step_text(s: &DiagStep) -> String {
    let mut out = s.line();
    if let Some(a) = &s.advice
        && matches!(s.outcome, Outcome::Failed | Outcome::Warning)
    {
        out.push_str(&format!(
            "\n    What happened: {}\n    Why: {}\n    What to do: {}",
            a.what, a.why, a.fix
        ));
    }
    out
}

pub fn run(args: DoctorArgs) -> CliResult {
    if args.timeout == 0 || args.timeout > 300 {
        return Err(CliError::Usage(format!(
            "--timeout {} is not valid: give 1 to 300 seconds",
            args.timeout
        )));
    }
    let profile = super::find_profile(&args.name)?;
    let rt = super::runtime()?;
    let format = args.format;
    let report = rt.block_on(async move {
        // Only a profile with a proxy user needs the keychain (its Basic proxy password).
        let proxy_credential = match profile.proxy.user.as_deref() {
            Some(u) if !u.trim().is_empty() => {
                let cache = super::open_cache().await.ok();
                match cache {
                    Some((c, _)) => {
                        crate::engine::doctor::proxy_credential(c.secrets(), &profile).await
                    }
                    None => None,
                }
            }
            _ => None,
        };
        let opts = DoctorOptions {
            step_timeout: Duration::from_secs(args.timeout),
            proxy_credential,
            ..Default::default()
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<DiagStep>();
        let printer = tokio::spawn(async move {
            while let Some(step) = rx.recv().await {
                if format == DoctorFormat::Text {
                    let mut out = std::io::stdout().lock();
                    // Steps quote servers (TLS issuers, metadata errors, dates).
                    let text = step_text(&step);
                    let _ = writeln!(out, "{}", crate::model::text::printable(&text));
                    let _ = out.flush();
                }
            }
        });
        if format == DoctorFormat::Text {
            println!("Checking the connection of profile '{}'…", profile.name);
        }
        let r = check(&profile, &opts, Some(tx)).await;
        let _ = printer.await;
        r
    });
    let report = report.map_err(|e| CliError::Usage(format!("profile '{}': {e}", args.name)))?;
    match format {
        DoctorFormat::Text => println!("{}", crate::model::text::printable(&report.summary())),
        DoctorFormat::Json => {
            let v = serde_json::json!({
                "profile": report.profile,
                "passed": report.passed(),
                "summary": report.summary(),
                "steps": report.steps,
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&v).unwrap_or_else(|_| "{}".into())
            );
        }
    }
    if report.passed() {
        Ok(())
    } else {
        Err(CliError::Failed(report.summary()))
    }
}
