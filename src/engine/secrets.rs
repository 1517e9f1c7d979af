//! Secrets (refresh tokens, certificate and proxy passwords) in the OS keychain through
//! keyring-core, or in memory for this run when there is no usable keychain. Never a file.
//!
//! Sign-in (`auth`) and the proxy side (`proxy`) both read it; it depends on nothing else of
//! the engine but `http`'s URL helper. The key names of every kind of secret live here:
//! [`refresh_key`], [`proxy_password_key`], [`cert_password_key`]; [`describe_key`] says in
//! plain words what a key holds (for "removed from the keychain: …" lines).
//!
//! Entries: service [`SERVICE`], user = a key such as `rt|login.microsoftonline.com|contoso.com|admin@contoso.com`.
//!
//! ## The index: what we stored, and for which profile
//! Keychains cannot list entries by prefix portably, so one more entry, user [`INDEX_KEY`], lists
//! every key this app wrote, one per line, each with the profiles that own it:
//! `key<TAB>profile-uuid,profile-uuid` (a line without a tab, as older versions wrote, is a key
//! with no known owner). No secret is in it. [`SecretStore::set_owned`] adds the key and its
//! owner, [`SecretStore::delete`] removes the key, [`SecretStore::disown`] drops one owner.
//! A profile owns its proxy password, its certificate password and the refresh token of every
//! account it signed in as — also another account than its UPN, when single sign-on picked one.
//! Logging a profile out or removing it therefore deletes the keys the index says it owns plus
//! the keys derivable from the profile now (`auth::TokenCache::forget_profile`); `logout --all`
//! deletes every key in the index, every key derivable from the saved profiles, and the index.
//! The index is read-modify-written on each change; two processes writing at the same instant
//! can lose one line, which the derived keys cover for everything but a second account.
//!
//! Deletes always go to the keychain when there is one, even after an earlier keychain error in
//! this process (which makes reads and writes fall back to memory), and report a refusal.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use keyring_core::CredentialStore;
use uuid::Uuid;

/// Keychain service name of every entry.
pub const SERVICE: &str = "exo-connect";
/// Entry listing the keys written and their owners (no secret in it).
pub const INDEX_KEY: &str = "index";

/// Prefix of every refresh-token key.
pub const REFRESH_PREFIX: &str = "rt|";
/// Prefix of every proxy-password key.
pub const PROXY_PREFIX: &str = "proxy|";
/// Prefix of every certificate-password key.
pub const CERT_PREFIX: &str = "cert|";

/// Keychain key of a refresh token: authority host, tenant (last authority segment), account.
pub fn refresh_key(authority: &str, account: &str) -> String {
    let tenant = authority
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    format!(
        "{REFRESH_PREFIX}{}|{}|{}",
        crate::engine::http::host_of(authority).to_ascii_lowercase(),
        tenant,
        account.trim().to_ascii_lowercase()
    )
}

/// Keychain key of a certificate file's password.
pub fn cert_password_key(path: &str) -> String {
    format!("{CERT_PREFIX}{path}")
}

/// Keychain key of a profile's proxy password.
pub fn proxy_password_key(profile_id: &uuid::Uuid) -> String {
    format!("{PROXY_PREFIX}{profile_id}")
}

/// The account of a refresh-token key (None for other keys).
pub fn refresh_key_account(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(REFRESH_PREFIX)?;
    rest.rsplit('|').next()
}

/// What a key holds, in plain words: "the sign-in of admin@contoso.com (login.microsoftonline.com,
/// contoso.com)", "the proxy password", "the certificate password of /path/app.pfx".
pub fn describe_key(key: &str) -> String {
    if let Some(rest) = key.strip_prefix(REFRESH_PREFIX) {
        let parts: Vec<&str> = rest.splitn(3, '|').collect();
        if let [host, tenant, account] = parts[..] {
            return format!("the sign-in of {account} ({host}, {tenant})");
        }
    }
    if key.starts_with(PROXY_PREFIX) {
        return "the proxy password".into();
    }
    if let Some(path) = key.strip_prefix(CERT_PREFIX) {
        return format!("the certificate password of {path}");
    }
    format!("the entry {key}")
}

/// The index: key → the profiles that own it.
type Index = BTreeMap<String, BTreeSet<Uuid>>;

/// What a logout (or a profile's removal) did in the keychain, in plain words.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Forgotten {
    /// What was removed ("the sign-in of …", "the proxy password").
    pub removed: Vec<String>,
    /// What was kept because another profile still uses it.
    pub kept: Vec<String>,
    /// What could not be removed, with why.
    pub failed: Vec<String>,
}

impl Forgotten {
    /// Nothing failed.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty()
    }
}

/// Where secrets live.
#[derive(Clone)]
pub struct SecretStore {
    store: Option<Arc<CredentialStore>>,
    /// In-memory copies (memory mode, or after the keychain failed).
    memory: Arc<Mutex<HashMap<String, String>>>,
    /// The owners of this run's keys (memory mode keeps its index here).
    owners: Arc<Mutex<Index>>,
    /// Why the platform keychain could not be opened (deletes report it: nothing there could be
    /// removed). None in explicit memory mode and with a keychain.
    unreachable: Option<String>,
    /// Set once when the keychain turned out unusable; read (and cleared) by whoever tells the user.
    notice: Arc<Mutex<Option<String>>>,
    degraded: Arc<Mutex<bool>>,
}

impl std::fmt::Debug for SecretStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretStore")
            .field("keychain", &self.store.as_ref().map(|s| s.vendor()))
            .field("degraded", &self.is_memory_only())
            .finish_non_exhaustive()
    }
}

fn describe(e: &keyring_core::Error) -> String {
    match e {
        keyring_core::Error::NoStorageAccess(p) | keyring_core::Error::PlatformFailure(p) => {
            p.to_string()
        }
        other => other.to_string(),
    }
}

impl SecretStore {
    /// Memory only, for this run.
    pub fn memory() -> Self {
        SecretStore {
            store: None,
            memory: Default::default(),
            owners: Default::default(),
            unreachable: None,
            notice: Default::default(),
            degraded: Arc::new(Mutex::new(true)),
        }
    }

    /// A given keyring-core store (tests use `keyring_core::mock::Store`).
    pub fn with_store(store: Arc<CredentialStore>) -> Self {
        SecretStore {
            store: Some(store),
            memory: Default::default(),
            owners: Default::default(),
            unreachable: None,
            notice: Default::default(),
            degraded: Arc::new(Mutex::new(false)),
        }
    }

    /// The platform keychain (Secret Service on Linux, Keychain on macOS, Credential Manager on
    /// Windows); memory only when `EXO_CONNECT_SECRETS=memory` or no keychain is usable (then
    /// [`SecretStore::take_notice`] says so). Opening a store can block: runs in `spawn_blocking`.
    pub async fn platform() -> Self {
        if std::env::var("EXO_CONNECT_SECRETS").is_ok_and(|v| v.eq_ignore_ascii_case("memory")) {
            return Self::memory();
        }
        let opened = off_runtime(|| PLATFORM.get_or_init(open_platform_store).clone())
            .await
            .unwrap_or_else(Err);
        match opened {
            Ok(store) => Self::with_store(store),
            Err(why) => {
                let mut s = Self::memory();
                *s.notice.lock().unwrap() = Some(no_keychain_notice(&why));
                s.unreachable = Some(why);
                s
            }
        }
    }

    /// True when nothing reaches a keychain (memory mode or degraded).
    pub fn is_memory_only(&self) -> bool {
        *self.degraded.lock().unwrap()
    }

    /// Why the platform keychain could not be opened at all (None: it was, or memory mode was
    /// asked for).
    pub fn unreachable(&self) -> Option<&str> {
        self.unreachable.as_deref()
    }

    /// The "no usable keychain" notice, once.
    pub fn take_notice(&self) -> Option<String> {
        self.notice.lock().unwrap().take()
    }

    fn degrade(&self, why: &str) {
        let mut d = self.degraded.lock().unwrap();
        if !*d {
            *d = true;
            *self.notice.lock().unwrap() = Some(no_keychain_notice(why));
        }
    }

    fn keychain(&self) -> Option<Arc<CredentialStore>> {
        if self.is_memory_only() {
            None
        } else {
            self.store.clone()
        }
    }

    /// Stores a secret under `key` (its owners in the index are kept).
    pub async fn set(&self, key: &str, secret: &str) {
        self.set_owned(key, secret, None).await
    }

    /// Stores a secret under `key`, recording `owner` (a profile id) in the index.
    pub async fn set_owned(&self, key: &str, secret: &str, owner: Option<Uuid>) {
        self.memory
            .lock()
            .unwrap()
            .insert(key.to_string(), secret.to_string());
        {
            let mut owners = self.owners.lock().unwrap();
            let entry = owners.entry(key.to_string()).or_default();
            entry.extend(owner);
        }
        let Some(store) = self.keychain() else { return };
        let (k, v) = (key.to_string(), secret.to_string());
        let r = off_runtime(move || -> Result<(), keyring_core::Error> {
            store.build(SERVICE, &k, None)?.set_password(&v)?;
            let idx = store.build(SERVICE, INDEX_KEY, None)?;
            let mut index = read_index(&idx)?;
            let before = index.get(&k).cloned();
            let entry = index.entry(k).or_default();
            entry.extend(owner);
            if before.as_ref() != Some(entry) {
                write_index(&idx, &index)?;
            }
            Ok(())
        })
        .await;
        match r {
            Ok(Ok(())) => {}
            Ok(Err(e)) => self.degrade(&describe(&e)),
            Err(e) => self.degrade(&e.to_string()),
        }
    }

    /// Reads a secret: this run's copy first, then the keychain.
    pub async fn get(&self, key: &str) -> Option<String> {
        if let Some(v) = self.memory.lock().unwrap().get(key) {
            return Some(v.clone());
        }
        let store = self.keychain()?;
        let k = key.to_string();
        let r = off_runtime(move || store.build(SERVICE, &k, None)?.get_password()).await;
        match r {
            Ok(Ok(v)) => {
                self.memory
                    .lock()
                    .unwrap()
                    .insert(key.to_string(), v.clone());
                Some(v)
            }
            Ok(Err(keyring_core::Error::NoEntry)) => None,
            Ok(Err(e)) => {
                self.degrade(&describe(&e));
                None
            }
            Err(e) => {
                self.degrade(&e.to_string());
                None
            }
        }
    }

    /// Forgets a secret (memory, keychain and index). Ok(true) when there was one, Ok(false)
    /// when there was none. The keychain is asked even after an earlier keychain error in this
    /// process; its refusal (or a keychain that could not be opened at all) is an Err saying so.
    pub async fn delete(&self, key: &str) -> Result<bool, String> {
        let mut had = self.memory.lock().unwrap().remove(key).is_some();
        self.owners.lock().unwrap().remove(key);
        let Some(store) = self.store.clone() else {
            return match &self.unreachable {
                Some(why) => Err(format!(
                    "the OS keychain could not be opened ({why}), so nothing stored there was removed"
                )),
                None => Ok(had),
            };
        };
        let k = key.to_string();
        let in_keychain = off_runtime(move || -> Result<bool, keyring_core::Error> {
            let existed = match store.build(SERVICE, &k, None)?.delete_credential() {
                Ok(()) => true,
                Err(keyring_core::Error::NoEntry) => false,
                Err(e) => return Err(e),
            };
            let idx = store.build(SERVICE, INDEX_KEY, None)?;
            let mut index = read_index(&idx)?;
            if index.remove(&k).is_some() {
                write_index(&idx, &index)?;
            }
            Ok(existed)
        })
        .await
        .map_err(|e| format!("the keychain did not delete the entry: {e}"))?
        .map_err(|e| format!("the keychain refused to delete the entry: {}", describe(&e)))?;
        had |= in_keychain;
        Ok(had)
    }

    /// Drops `owner` from the owners of `key` in the index (the secret stays: another profile
    /// still uses it).
    pub async fn disown(&self, key: &str, owner: Uuid) -> Result<(), String> {
        if let Some(o) = self.owners.lock().unwrap().get_mut(key) {
            o.remove(&owner);
        }
        let Some(store) = self.store.clone() else {
            return Ok(());
        };
        let k = key.to_string();
        off_runtime(move || -> Result<(), keyring_core::Error> {
            let idx = store.build(SERVICE, INDEX_KEY, None)?;
            let mut index = read_index(&idx)?;
            if let Some(o) = index.get_mut(&k)
                && o.remove(&owner)
            {
                write_index(&idx, &index)?;
            }
            Ok(())
        })
        .await?
        .map_err(|e| format!("the keychain refused to update its index: {}", describe(&e)))
    }

    /// Every key known (this run's and the keychain's index) with its owners. Err when the
    /// keychain's index cannot be read (a logout must then say it could not see everything).
    pub async fn index(&self) -> Result<BTreeMap<String, BTreeSet<Uuid>>, String> {
        let mut all: Index = self.owners.lock().unwrap().clone();
        for k in self.memory.lock().unwrap().keys() {
            all.entry(k.clone()).or_default();
        }
        let Some(store) = self.store.clone() else {
            return match &self.unreachable {
                Some(why) => Err(format!("the OS keychain could not be opened ({why})")),
                None => Ok(all),
            };
        };
        let stored = off_runtime(move || read_index(&store.build(SERVICE, INDEX_KEY, None)?))
            .await?
            .map_err(|e| format!("the keychain's index could not be read: {}", describe(&e)))?;
        for (k, o) in stored {
            all.entry(k).or_default().extend(o);
        }
        Ok(all)
    }

    /// The keys `owner` owns according to the index.
    pub async fn owned_by(&self, owner: Uuid) -> Result<Vec<String>, String> {
        Ok(self
            .index()
            .await?
            .into_iter()
            .filter(|(_, o)| o.contains(&owner))
            .map(|(k, _)| k)
            .collect())
    }

    /// Removes the index entry itself (after `logout --all` deleted every key it listed).
    pub async fn delete_index(&self) -> Result<(), String> {
        let Some(store) = self.store.clone() else {
            return Ok(());
        };
        off_runtime(
            move || match store.build(SERVICE, INDEX_KEY, None)?.delete_credential() {
                Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
                Err(e) => Err(e),
            },
        )
        .await?
        .map_err(|e| format!("the keychain refused to delete its index: {}", describe(&e)))
    }

    /// Keys known (this run's and the keychain index), optionally filtered by prefix.
    pub async fn keys(&self, prefix: &str) -> Vec<String> {
        let mut all: BTreeSet<String> = self.memory.lock().unwrap().keys().cloned().collect();
        if let Some(store) = self.keychain() {
            let r = off_runtime(move || read_index(&store.build(SERVICE, INDEX_KEY, None)?)).await;
            if let Ok(Ok(k)) = r {
                all.extend(k.into_keys());
            }
        }
        all.into_iter().filter(|k| k.starts_with(prefix)).collect()
    }
}

/// The platform store, opened once per process and never dropped (its destructor talks to the
/// keychain and must not run on an async thread).
static PLATFORM: std::sync::OnceLock<Result<Arc<CredentialStore>, String>> =
    std::sync::OnceLock::new();

/// Runs a blocking keychain call on a plain thread (not tokio's blocking pool: some stores, such
/// as zbus Secret Service, run their own runtime and refuse to start inside tokio's context).
async fn off_runtime<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("exo-keychain".into())
        .spawn(move || {
            let _ = tx.send(f());
        })
        .map_err(|e| format!("cannot start the keychain thread: {e}"))?;
    tokio::time::timeout(std::time::Duration::from_secs(30), rx)
        .await
        .map_err(|_| "the keychain did not answer within 30 s".to_string())?
        .map_err(|_| "the keychain thread failed".to_string())
}

/// The index entry's lines: `key<TAB>owner,owner` (owners optional).
fn read_index(idx: &keyring_core::Entry) -> Result<Index, keyring_core::Error> {
    match idx.get_password() {
        Ok(s) => Ok(parse_index(&s)),
        Err(keyring_core::Error::NoEntry) => Ok(Index::new()),
        Err(e) => Err(e),
    }
}

fn parse_index(text: &str) -> Index {
    let mut index = Index::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (key, owners) = line.split_once('\t').unwrap_or((line, ""));
        let entry = index.entry(key.to_string()).or_default();
        entry.extend(
            owners
                .split(',')
                .filter_map(|o| o.trim().parse::<Uuid>().ok()),
        );
    }
    index
}

fn index_text(index: &Index) -> String {
    index
        .iter()
        .map(|(k, o)| {
            let owners: Vec<String> = o.iter().map(Uuid::to_string).collect();
            format!("{k}\t{}", owners.join(","))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Writes the index (deletes the entry when it lists nothing).
fn write_index(idx: &keyring_core::Entry, index: &Index) -> Result<(), keyring_core::Error> {
    if index.is_empty() {
        return match idx.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(e),
        };
    }
    idx.set_password(&index_text(index))
}

fn no_keychain_notice(why: &str) -> String {
    format!(
        "No usable OS keychain ({why}). Sign-ins are kept in memory for this run only and must be repeated next time; nothing is written to disk."
    )
}

#[cfg(target_os = "linux")]
fn open_platform_store() -> Result<Arc<CredentialStore>, String> {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        return Err("no D-Bus session bus, so no Secret Service".into());
    }
    let s = zbus_secret_service_keyring_store::Store::new()
        .map_err(|e| format!("Secret Service not available: {}", describe(&e)))?;
    Ok(s)
}

#[cfg(target_os = "macos")]
fn open_platform_store() -> Result<Arc<CredentialStore>, String> {
    let s = apple_native_keyring_store::keychain::Store::new()
        .map_err(|e| format!("macOS keychain not available: {}", describe(&e)))?;
    Ok(s)
}

#[cfg(windows)]
fn open_platform_store() -> Result<Arc<CredentialStore>, String> {
    let s = windows_native_keyring_store::Store::new()
        .map_err(|e| format!("Windows Credential Manager not available: {}", describe(&e)))?;
    Ok(s)
}

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
fn open_platform_store() -> Result<Arc<CredentialStore>, String> {
    Err("this platform has no supported keychain".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyring_core::api::CredentialStoreApi;

    #[test]
    fn keys_are_host_tenant_account() {
        assert_eq!(
            refresh_key(
                "https://login.microsoftonline.com/organizations",
                "Admin@Contoso.com"
            ),
            "rt|login.microsoftonline.com|organizations|admin@contoso.com"
        );
        assert_eq!(
            refresh_key("http://127.0.0.1:5000/contoso.com/", "a@b.c"),
            "rt|127.0.0.1:5000|contoso.com|a@b.c"
        );
    }

    #[tokio::test]
    async fn mock_keychain_round_trip_and_index() {
        let mock = keyring_core::mock::Store::new().unwrap();
        let s = SecretStore::with_store(mock.clone());
        s.set("rt|h|t|a@b.c", "secret-1").await;
        s.set("rt|h|t|x@y.z", "secret-2").await;
        // A second store over the same keychain (a restart) sees them.
        let s2 = SecretStore::with_store(mock.clone());
        assert_eq!(s2.get("rt|h|t|a@b.c").await.as_deref(), Some("secret-1"));
        assert_eq!(s2.keys("rt|").await.len(), 2);
        s2.delete("rt|h|t|a@b.c").await.unwrap();
        let s3 = SecretStore::with_store(mock);
        assert_eq!(s3.get("rt|h|t|a@b.c").await, None);
        assert_eq!(s3.keys("rt|").await, vec!["rt|h|t|x@y.z".to_string()]);
        assert!(s3.take_notice().is_none());
    }

    #[tokio::test]
    async fn failing_keychain_degrades_to_memory_with_one_notice() {
        let mock = keyring_core::mock::Store::new().unwrap();
        let s = SecretStore::with_store(mock.clone());
        // The mock fails the next operation on an entry whose error is set.
        let e = mock.build(SERVICE, "rt|k", None).unwrap();
        let cred: &keyring_core::mock::Cred = e.as_any().downcast_ref().unwrap();
        cred.set_error(keyring_core::Error::NoStorageAccess("locked".into()));
        s.set("rt|k", "v").await;
        assert!(s.is_memory_only());
        let n = s.take_notice().expect("a notice");
        assert!(
            n.contains("No usable OS keychain") && n.contains("memory"),
            "{n}"
        );
        assert!(!n.contains('v') || !n.contains("\"v\""));
        assert!(s.take_notice().is_none(), "said once");
        assert_eq!(s.get("rt|k").await.as_deref(), Some("v"), "kept in memory");
    }

    #[test]
    fn the_index_keeps_owners_and_reads_the_old_format() {
        let a = Uuid::new_v4();
        let b = Uuid::new_v4();
        let mut index = Index::new();
        index.insert("rt|h|t|x@y.z".into(), [a, b].into_iter().collect());
        index.insert("proxy|p".into(), BTreeSet::new());
        let text = index_text(&index);
        assert!(!text.contains("secret"));
        assert_eq!(parse_index(&text), index);
        // A line without owners (older versions) is a key nobody is known to own.
        let old = parse_index("rt|h|t|a@b.c\ncert|/x.pfx\n");
        assert_eq!(old.len(), 2);
        assert!(old.values().all(BTreeSet::is_empty));
    }

    #[test]
    fn keys_say_what_they_hold() {
        assert_eq!(
            describe_key("rt|login.microsoftonline.com|contoso.com|admin@contoso.com"),
            "the sign-in of admin@contoso.com (login.microsoftonline.com, contoso.com)"
        );
        assert_eq!(
            describe_key(&proxy_password_key(&Uuid::nil())),
            "the proxy password"
        );
        assert_eq!(
            describe_key(&cert_password_key("/k/app.pfx")),
            "the certificate password of /k/app.pfx"
        );
        assert_eq!(refresh_key_account("rt|h|t|a@b.c"), Some("a@b.c"));
        assert_eq!(refresh_key_account("proxy|x"), None);
    }

    #[tokio::test]
    async fn owners_are_recorded_and_dropped_and_deletes_go_to_the_keychain_after_an_error() {
        let mock = keyring_core::mock::Store::new().unwrap();
        let s = SecretStore::with_store(mock.clone());
        let (p1, p2) = (Uuid::new_v4(), Uuid::new_v4());
        s.set_owned("rt|h|t|a@b.c", "1", Some(p1)).await;
        s.set_owned("rt|h|t|a@b.c", "2", Some(p2)).await;
        s.set_owned("proxy|x", "3", Some(p1)).await;
        let again = SecretStore::with_store(mock.clone());
        assert_eq!(
            again.owned_by(p1).await.unwrap(),
            vec!["proxy|x".to_string(), "rt|h|t|a@b.c".to_string()]
        );
        again.disown("rt|h|t|a@b.c", p1).await.unwrap();
        assert_eq!(
            again.owned_by(p1).await.unwrap(),
            vec!["proxy|x".to_string()]
        );
        assert_eq!(
            again.owned_by(p2).await.unwrap(),
            vec!["rt|h|t|a@b.c".to_string()]
        );
        // An error on another entry degrades reads and writes to memory; a delete still
        // reaches the keychain.
        let e = mock.build(SERVICE, "other", None).unwrap();
        let cred: &keyring_core::mock::Cred = e.as_any().downcast_ref().unwrap();
        cred.set_error(keyring_core::Error::NoStorageAccess("locked".into()));
        again.set("other", "x").await;
        assert!(again.is_memory_only());
        assert!(again.delete("proxy|x").await.unwrap());
        assert!(!again.delete("proxy|x").await.unwrap(), "gone");
        let third = SecretStore::with_store(mock);
        assert_eq!(third.get("proxy|x").await, None);
        assert!(!third.index().await.unwrap().contains_key("proxy|x"));
    }

    #[tokio::test]
    async fn an_unreachable_keychain_makes_deletes_fail_plainly() {
        let mut s = SecretStore::memory();
        s.unreachable = Some("no D-Bus session bus".into());
        let e = s.delete("rt|a").await.unwrap_err();
        assert!(
            e.contains("could not be opened") && e.contains("D-Bus"),
            "{e}"
        );
        assert!(s.index().await.is_err());
    }

    #[tokio::test]
    async fn memory_mode_never_touches_a_keychain() {
        let s = SecretStore::memory();
        s.set("rt|a", "1").await;
        assert_eq!(s.get("rt|a").await.as_deref(), Some("1"));
        assert!(s.is_memory_only());
        s.delete("rt|a").await.unwrap();
        assert_eq!(s.get("rt|a").await, None);
    }
}
