//! `exo-connect catalogue NAME [--refresh] [--prefix P] [--cmdlet C]`: the tenant's live cmdlet
//! catalogue (`EXOModuleFile`, reference page §7) for a profile, cached per tenant and service
//! with its module version (`model::catalogue::cache_path`, a day). Lists the cmdlets (those
//! starting with `--prefix`: completion) or one cmdlet's parameters and types. `run` checks its
//! line against the cached catalogue when there is one (unknown cmdlet or parameter, secret-typed
//! parameter: exit 2 before anything is sent).

use std::time::Duration;

use clap::Args;

use super::signin::{connect_error, rest_message, session_error};
use super::{CliError, CliResult};
use crate::engine::connect::ConnectOptions;
use crate::model::Profile;
use crate::model::catalogue::{
    CATALOGUE_MAX_AGE, CmdletCatalogue, cache_path, load_cached, save_cached,
};

#[derive(Debug, Args)]
pub struct CatalogueArgs {
    /// Profile name.
    pub name: String,
    /// Fetch it again even when the cached one is recent.
    #[arg(long)]
    pub refresh: bool,
    /// Only the cmdlets whose name starts with this (case-insensitive).
    #[arg(long)]
    pub prefix: Option<String>,
    /// Show this cmdlet's parameters and their types.
    #[arg(long)]
    pub cmdlet: Option<String>,
    /// Password method: read the password from the first line of stdin.
    #[arg(long)]
    pub password_stdin: bool,
}

/// The cache file of a profile's service and a tenant.
pub fn cache_file(profile: &Profile, tenant: &str) -> Option<std::path::PathBuf> {
    let root = crate::model::store::default_root().ok()?;
    Some(cache_path(&root, &format!("{:?}", profile.service), tenant))
}

/// The cached catalogue of a profile's service and tenant, when recent.
pub fn cached(profile: &Profile, tenant: &str) -> Option<CmdletCatalogue> {
    load_cached(&cache_file(profile, tenant)?, CATALOGUE_MAX_AGE)
}

pub fn run(args: CatalogueArgs) -> CliResult {
    let profile = super::find_profile(&args.name)?;
    let password = if args.password_stdin {
        Some(super::read_secret_line("--password-stdin")?)
    } else {
        None
    };
    let rt = super::runtime()?;
    let (cat, from_cache) = rt.block_on(async {
        let connector = super::signin::connector(Duration::from_secs(900)).await?;
        let prompt = super::signin::TerminalPrompt::new(password);
        let opts = ConnectOptions {
            cancel: super::signin::cancel_on_ctrl_c(),
            ..Default::default()
        };
        let session = connector
            .connect(&profile, &prompt, &opts)
            .await
            .map_err(connect_error)?
            .session;
        let tenant = session.tenant.clone().unwrap_or_default();
        let registry = connector.registry();
        let result = match cached(&profile, &tenant).filter(|_| !args.refresh) {
            Some(c) => Ok((c, true)),
            None => {
                let client = registry
                    .client(session.connection_id)
                    .await
                    .map_err(session_error)?;
                let fetched = client
                    .fetch_catalogue()
                    .await
                    .map_err(|e| CliError::Failed(rest_message(&e)));
                if let Ok(c) = &fetched
                    && let Some(path) = cache_file(&profile, &tenant)
                    && let Err(e) = save_cached(&path, c)
                {
                    eprintln!(
                        "warning: the catalogue could not be cached in {}: {e}",
                        path.display()
                    );
                }
                fetched.map(|c| (c, false))
            }
        };
        let _ = registry.disconnect(session.connection_id, false).await;
        result
    })?;
    eprintln!(
        "{} cmdlets, module {}{}",
        cat.cmdlets.len(),
        cat.module_version,
        if from_cache { " (cached)" } else { "" }
    );
    if let Some(name) = &args.cmdlet {
        let c = cat.cmdlet(name).ok_or_else(|| {
            CliError::Usage(format!("{name} is not in this tenant's cmdlet catalogue"))
        })?;
        for p in &c.params {
            let sets = if p.sets.is_empty() {
                String::new()
            } else {
                format!(" (set {})", p.sets.join(", "))
            };
            println!("-{} [{}]{sets}", p.name, p.ps_type);
        }
        return Ok(());
    }
    for name in cat.complete(args.prefix.as_deref().unwrap_or("")) {
        println!("{name}");
    }
    Ok(())
}
