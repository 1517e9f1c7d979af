//! `exo-connect profile ...`: add, list, show, edit, remove, import, export, ps.
//!
//! Values are case-insensitive and the PowerShell spellings are accepted (`--service
//! ExchangeOnline`, `--cloud o365usgovgcchigh`); they are parsed by the model's `FromStr` impls so
//! every message names the field. Exit 2 (CliError::Usage) for bad input, with that message.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::{CliError, CliResult};
use crate::model::store::{Notice, ProfileStore, StoreError};
use crate::model::validate::Severity;
use crate::model::{
    AuthMethod, Cloud, Profile, ProxyAccessType, ProxyAuthentication, Service, SignInMethod,
    powershell,
};

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Add a profile (one saved Connect-* line).
    Add(Box<AddArgs>),
    /// List saved profiles.
    List {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Show one profile and the endpoints it resolves to.
    Show {
        name: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Change a profile: give only the fields to change; `--clear FIELD` (or an empty value) empties an optional field.
    Edit(Box<EditArgs>),
    /// Remove a profile.
    Remove { name: String },
    /// Import profiles from a JSON export, or a CSV tenant list (name,upn,service,cloud,delegated_org) when FILE ends in .csv.
    Import { file: PathBuf },
    /// Export profiles (all, or the named ones) to a JSON file. No secrets are exported.
    Export { file: PathBuf, names: Vec<String> },
    /// Print the PowerShell lines an admin would type today for this profile.
    Ps {
        name: String,
        /// The retired remote PowerShell form (New-PSSession ... -Authentication Basic).
        #[arg(long)]
        legacy: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

/// Fields shared by `add` and `edit`.
#[derive(Debug, Args, Default)]
pub struct FieldArgs {
    /// exo | eop | scc (or ExchangeOnline, Protection, SecurityCompliance).
    #[arg(long)]
    pub service: Option<String>,
    /// O365Default | O365USGovGCCHigh | O365USGovDoD | O365China | O365GermanyCloud | Custom.
    #[arg(long)]
    pub cloud: Option<String>,
    /// -ConnectionUri override.
    #[arg(long, value_name = "URL")]
    pub connection_uri: Option<String>,
    /// -AzureADAuthorizationEndpointUri override, e.g. https://login.microsoftonline.com/organizations.
    #[arg(long, value_name = "URL")]
    pub authorization_endpoint: Option<String>,
    /// Tenant domain or GUID.
    #[arg(long)]
    pub tenant: Option<String>,
    /// -DelegatedOrganization: the customer's domain or tenant id.
    #[arg(long, value_name = "D")]
    pub delegated_org: Option<String>,
    /// None | IEConfig | WinHttpConfig | AutoDetect | NoProxyServer.
    #[arg(long)]
    pub proxy: Option<String>,
    /// Basic | Digest | Negotiate.
    #[arg(long)]
    pub proxy_auth: Option<String>,
    /// Proxy user name (its password is asked for at sign-in and kept in the OS keychain).
    #[arg(long, value_name = "U")]
    pub proxy_user: Option<String>,
    /// browser | device-code | password | certificate.
    #[arg(long)]
    pub auth: Option<String>,
    /// Certificate sign-in: the app registration's application id (GUID).
    #[arg(long, value_name = "ID")]
    pub app_id: Option<String>,
    /// Certificate sign-in: path to the certificate file.
    #[arg(long, value_name = "PATH", conflicts_with = "thumbprint")]
    pub certificate: Option<String>,
    /// Certificate sign-in: thumbprint of a certificate in the OS store.
    #[arg(long, value_name = "T")]
    pub thumbprint: Option<String>,
    /// Certificate sign-in: -Organization, e.g. contoso.onmicrosoft.com.
    #[arg(long, value_name = "O")]
    pub organization: Option<String>,
    /// Folder in the profile tree.
    #[arg(long, value_name = "F")]
    pub folder: Option<String>,
    /// A tag (repeat for more). On edit, replaces the tags.
    #[arg(long = "tag", value_name = "T")]
    pub tags: Vec<String>,
    /// Colour band, #rrggbb.
    #[arg(long, visible_alias = "colour")]
    pub color: Option<String>,
    /// Page size for cmdlet results, 1..=1000.
    #[arg(long, value_name = "N")]
    pub page_size: Option<String>,
    #[arg(long)]
    pub notes: Option<String>,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    #[arg(long)]
    pub name: String,
    /// The admin account (UserPrincipalName).
    #[arg(long, default_value = "")]
    pub upn: String,
    #[command(flatten)]
    pub fields: FieldArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClearField {
    ConnectionUri,
    AuthorizationEndpoint,
    Tenant,
    DelegatedOrg,
    Proxy,
    ProxyAuth,
    ProxyUser,
    Folder,
    Tags,
    Color,
    Notes,
}

#[derive(Debug, Args)]
pub struct EditArgs {
    /// The profile to change.
    pub profile: String,
    /// New name.
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long)]
    pub upn: Option<String>,
    #[command(flatten)]
    pub fields: FieldArgs,
    /// Empty an optional field (repeatable).
    #[arg(long, value_enum, value_name = "FIELD")]
    pub clear: Vec<ClearField>,
}

fn usage(msg: impl Into<String>) -> CliError {
    CliError::Usage(msg.into())
}

fn store_err(e: StoreError) -> CliError {
    match e {
        StoreError::Io { .. } | StoreError::NoConfigDir => CliError::Failed(e.to_string()),
        _ => CliError::Usage(e.to_string()),
    }
}

fn open() -> Result<ProfileStore, CliError> {
    let (store, notice) = super::open_store().map_err(store_err)?;
    if let Some(Notice { message, .. }) = notice {
        eprintln!("warning: {message}");
    }
    Ok(store)
}

fn parse<T: std::str::FromStr>(v: &str) -> Result<T, CliError>
where
    T::Err: std::fmt::Display,
{
    v.parse::<T>().map_err(|e| usage(e.to_string()))
}

/// Empty string = clear.
fn opt(v: &str) -> Option<String> {
    let t = v.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Apply the field flags to `p`: the connection and proxy here, then the rest.
fn apply(p: &mut Profile, f: &FieldArgs) -> CliResult {
    if let Some(v) = &f.service {
        p.service = parse::<Service>(v)?;
    }
    if let Some(v) = &f.cloud {
        p.cloud = parse::<Cloud>(v)?;
    }
    if let Some(v) = &f.connection_uri {
        p.connection_uri = opt(v);
    }
    if let Some(v) = &f.authorization_endpoint {
        p.authorization_endpoint = opt(v);
    }
    if let Some(v) = &f.tenant {
        p.tenant = opt(v);
    }
    if let Some(v) = &f.delegated_org {
        p.delegated_organization = opt(v);
    }
    if let Some(v) = &f.proxy {
        p.proxy.access_type = match opt(v) {
            Some(v) => parse::<ProxyAccessType>(&v)?,
            None => ProxyAccessType::None,
        };
    }
    if let Some(v) = &f.proxy_auth {
        p.proxy.authentication = match opt(v) {
            Some(v) => Some(parse::<ProxyAuthentication>(&v)?),
            None => None,
        };
    }
    if let Some(v) = &f.proxy_user {
        p.proxy.user = opt(v);
    }
    apply_presentation(p, f)
}

/// Folder, tags, colour, page size, notes; then the sign-in method.
fn apply_presentation(p: &mut Profile, f: &FieldArgs) -> CliResult {
    if let Some(v) = &f.folder {
        p.folder = v.trim().to_string();
    }
    if !f.tags.is_empty() {
        p.tags = f
            .tags
            .iter()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
    }
    if let Some(v) = &f.color {
        p.color = opt(v);
    }
    if let Some(v) = &f.page_size {
        p.page_size = v.trim().parse::<u32>().map_err(|_| {
            usage(format!(
                "page_size: '{v}' is not a number: use a number from 1 to 1000"
            ))
        })?;
    }
    if let Some(v) = &f.notes {
        p.notes = v.clone();
    }
    apply_auth(p, f)
}

/// The sign-in method and the certificate's details (which need `--auth certificate`).
fn apply_auth(p: &mut Profile, f: &FieldArgs) -> CliResult {
    let cert_flags = f.app_id.is_some()
        || f.certificate.is_some()
        || f.thumbprint.is_some()
        || f.organization.is_some();
    let kind = match &f.auth {
        Some(v) => parse::<SignInMethod>(v)?,
        None => p.auth.method(),
    };
    p.auth = match kind {
        SignInMethod::Browser | SignInMethod::DeviceCode | SignInMethod::Password if cert_flags => {
            return Err(usage(
                "auth: --app-id, --certificate, --thumbprint and --organization need --auth certificate",
            ));
        }
        SignInMethod::Browser => AuthMethod::Browser,
        SignInMethod::DeviceCode => AuthMethod::DeviceCode,
        SignInMethod::Password => AuthMethod::Password,
        SignInMethod::Certificate => {
            let (mut app, mut path, mut thumb, mut org) = match &p.auth {
                AuthMethod::Certificate {
                    app_id,
                    certificate_path,
                    thumbprint,
                    organization,
                } => (
                    app_id.clone(),
                    certificate_path.clone(),
                    thumbprint.clone(),
                    organization.clone(),
                ),
                _ => Default::default(),
            };
            if let Some(v) = &f.app_id {
                app = v.trim().to_string();
            }
            if let Some(v) = &f.certificate {
                path = opt(v);
                thumb = None;
            }
            if let Some(v) = &f.thumbprint {
                thumb = opt(v);
                path = None;
            }
            if let Some(v) = &f.organization {
                org = v.trim().to_string();
            }
            AuthMethod::Certificate {
                app_id: app,
                certificate_path: path,
                thumbprint: thumb,
                organization: org,
            }
        }
    };
    Ok(())
}

/// Validate against the store, save, print warnings.
fn save(store: &mut ProfileStore, p: Profile) -> CliResult {
    let issues = store.upsert(p).map_err(store_err)?;
    for i in issues.iter().filter(|i| i.severity == Severity::Warning) {
        eprintln!("{i}");
    }
    store.save().map_err(store_err)?;
    for n in store.take_notices() {
        eprintln!("{n}");
    }
    Ok(())
}

fn find(store: &ProfileStore, name: &str) -> Result<Profile, CliError> {
    store
        .get_by_name(name)
        .cloned()
        .ok_or_else(|| usage(StoreError::NotFound(name.to_string()).to_string()))
}

pub fn run(cmd: ProfileCommand) -> CliResult {
    match cmd {
        ProfileCommand::Add(a) => add(&a),
        ProfileCommand::Edit(e) => edit(&e),
        ProfileCommand::List { format } => list(format),
        ProfileCommand::Show { name, format } => show(&name, format),
        ProfileCommand::Remove { name } => remove(&name),
        ProfileCommand::Import { file } => import(&file),
        ProfileCommand::Export { file, names } => export(&file, &names),
        ProfileCommand::Ps { name, legacy } => ps(&name, legacy),
    }
}

fn add(a: &AddArgs) -> CliResult {
    let mut store = open()?;
    let mut p = Profile::new(a.name.trim(), a.upn.trim(), Service::ExchangeOnline);
    apply(&mut p, &a.fields)?;
    let name = p.name.clone();
    save(&mut store, p)?;
    println!("Added profile '{name}'.");
    Ok(())
}

fn edit(e: &EditArgs) -> CliResult {
    let mut store = open()?;
    let mut p = find(&store, &e.profile)?;
    if let Some(n) = &e.name {
        p.name = n.trim().to_string();
    }
    if let Some(u) = &e.upn {
        p.upn = u.trim().to_string();
    }
    for c in &e.clear {
        match c {
            ClearField::ConnectionUri => p.connection_uri = None,
            ClearField::AuthorizationEndpoint => p.authorization_endpoint = None,
            ClearField::Tenant => p.tenant = None,
            ClearField::DelegatedOrg => p.delegated_organization = None,
            ClearField::Proxy => p.proxy = Default::default(),
            ClearField::ProxyAuth => p.proxy.authentication = None,
            ClearField::ProxyUser => p.proxy.user = None,
            ClearField::Folder => p.folder.clear(),
            ClearField::Tags => p.tags.clear(),
            ClearField::Color => p.color = None,
            ClearField::Notes => p.notes.clear(),
        }
    }
    apply(&mut p, &e.fields)?;
    let name = p.name.clone();
    save(&mut store, p)?;
    println!("Updated profile '{name}'.");
    Ok(())
}

fn list(format: Format) -> CliResult {
    let store = open()?;
    let mut ps: Vec<&Profile> = store.profiles().iter().collect();
    ps.sort_by(|a, b| {
        (a.folder.to_lowercase(), a.name.to_lowercase())
            .cmp(&(b.folder.to_lowercase(), b.name.to_lowercase()))
    });
    match format {
        Format::Json => print_json(&ps)?,
        Format::Table => print_table(&ps),
    }
    Ok(())
}

fn show(name: &str, format: Format) -> CliResult {
    let store = open()?;
    let p = find(&store, name)?;
    match format {
        Format::Json => print_json(&p)?,
        Format::Table => print_show(&p, store.profiles()),
    }
    Ok(())
}

/// Removes the profile, then what it owns in the keychain (entries another profile still uses
/// stay for it).
fn remove(name: &str) -> CliResult {
    let mut store = open()?;
    let p = store.remove(name).map_err(store_err)?;
    store.save().map_err(store_err)?;
    println!("Removed profile '{}'.", p.name);
    let others = store.profiles().to_vec();
    super::runtime()?.block_on(async move {
        let (cache, _) = super::open_cache().await?;
        if let Some(why) = cache.secrets().unreachable() {
            // The removal itself is done; say what could not be checked.
            eprintln!(
                "warning: the OS keychain could not be opened ({why}): if it holds secrets of '{}', remove them with `exo-connect logout --all` once it can be opened",
                p.name
            );
            return Ok(());
        }
        let done = cache.forget_profile(&p, &others, true).await;
        if !done.removed.is_empty() {
            println!("Removed from the keychain:");
        }
        super::login::report_forgotten(&done)
    })
}

fn import(file: &std::path::Path) -> CliResult {
    let mut store = open()?;
    let report = store.import_file(file).map_err(|e| match e {
        StoreError::Format(m) => usage(format!("{}: {m}", file.display())),
        other => store_err(other),
    })?;
    for (from, to) in &report.renamed {
        println!("Renamed '{from}' to '{to}' (the name was taken).");
    }
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    println!(
        "Imported {} profile(s){}.",
        report.imported.len(),
        if report.rejected.is_empty() {
            String::new()
        } else {
            format!(", rejected {}", report.rejected.len())
        }
    );
    if report.rejected.is_empty() {
        return Ok(());
    }
    Err(usage(format!(
        "some entries were not imported (the others were saved):\n{}",
        report
            .rejected
            .iter()
            .map(|r| format!("  {r}"))
            .collect::<Vec<_>>()
            .join("\n")
    )))
}

fn export(file: &std::path::Path, names: &[String]) -> CliResult {
    let store = open()?;
    let n = store.export_file(file, names).map_err(store_err)?;
    println!("Exported {n} profile(s) to {}.", file.display());
    Ok(())
}

fn ps(name: &str, legacy: bool) -> CliResult {
    let store = open()?;
    let p = find(&store, name)?;
    println!("{}", powershell::preview(&p, legacy));
    Ok(())
}

fn print_json<T: serde::Serialize + ?Sized>(v: &T) -> CliResult {
    let s = serde_json::to_string_pretty(v).map_err(|e| CliError::Failed(e.to_string()))?;
    println!("{s}");
    Ok(())
}

fn print_table(ps: &[&Profile]) {
    if ps.is_empty() {
        println!("No profiles yet: add one with `exo-connect profile add --name N --upn U`.");
        return;
    }
    let rows: Vec<[String; 6]> = ps
        .iter()
        .map(|p| {
            [
                p.name.clone(),
                p.service.short().to_string(),
                p.cloud.as_str().to_string(),
                p.upn.clone(),
                p.delegated_organization.clone().unwrap_or_default(),
                p.folder.clone(),
            ]
        })
        .collect();
    let header = ["NAME", "SERVICE", "CLOUD", "UPN", "DELEGATED ORG", "FOLDER"];
    let mut w = header.map(|h| h.chars().count());
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<width$}", width = w[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    println!("{}", line(&header.map(String::from)));
    for r in &rows {
        println!("{}", line(r));
    }
}

fn print_show(p: &Profile, all: &[Profile]) {
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    println!("name:                   {}", p.name);
    println!("id:                     {}", p.id);
    println!("folder:                 {}", p.folder);
    println!("tags:                   {}", p.tags.join(", "));
    println!("color:                  {}", opt(&p.color));
    println!("upn:                    {}", p.upn);
    println!(
        "service:                {} ({})",
        p.service,
        p.service.short()
    );
    println!("cloud:                  {}", p.cloud.as_str());
    println!("connection uri:         {}", opt(&p.connection_uri));
    println!("authorization endpoint: {}", opt(&p.authorization_endpoint));
    println!("tenant:                 {}", opt(&p.tenant));
    println!("delegated organization: {}", opt(&p.delegated_organization));
    match &p.auth {
        AuthMethod::Certificate {
            app_id,
            certificate_path,
            thumbprint,
            organization,
        } => {
            println!("auth:                   certificate");
            println!("  app id:               {app_id}");
            println!("  certificate file:     {}", opt(certificate_path));
            println!("  thumbprint:           {}", opt(thumbprint));
            println!("  organization:         {organization}");
        }
        other => println!("auth:                   {}", other.label()),
    }
    println!("proxy:                  {}", p.proxy.access_type);
    println!(
        "proxy authentication:   {}",
        p.proxy
            .authentication
            .map(|a| a.as_str().to_string())
            .unwrap_or_else(|| "-".into())
    );
    println!("proxy user:             {}", opt(&p.proxy.user));
    println!("page size:              {}", p.page_size);
    println!("notes:                  {}", p.notes);
    println!("created:                {}", p.created.to_rfc3339());
    println!("modified:               {}", p.modified.to_rfc3339());
    if let Some(t) = p.last_connected {
        println!("last connected:         {}", t.to_rfc3339());
    }
    match p.effective_endpoints() {
        Some(e) => {
            println!("effective endpoints:");
            println!("  connection uri:       {}", e.connection_uri);
            println!("  rest base:            {}", e.rest_base);
            println!("  token scope:          {}", e.scope());
            println!("  authority:            {}", e.authority);
        }
        None => println!("effective endpoints:    none (see the errors below)"),
    }
    for i in crate::model::validate::validate(p, all) {
        println!("{i}");
    }
}
