//! Secrets (refresh tokens, certificate and proxy passwords) in the OS keychain through
//! keyring-core, or in memory for this run when there is no usable keychain. Never a file.
//!
//! Sign-in (`auth`) and the proxy side (`proxy`) both read it; it depends on nothing else of
//! the engine but `http`'s URL helper. The key names of every kind of secret live here:
//! [`refresh_key`], [`proxy_password_key`], [`cert_password_key`].
//!
//! Entries: service [`SERVICE`], user = a key such as `rt|login.microsoftonline.com|contoso.com|admin@contoso.com`.
//! An index entry (user [`INDEX_KEY`]) lists the keys this app wrote, so `logout --all` can
//! forget them on every platform.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use keyring_core::CredentialStore;

/// Keychain service name of every entry.
pub const SERVICE: &str = "exo-connect";
/// Entry listing the keys written (no secret in it).
pub const INDEX_KEY: &str = "index";

/// Prefix of every refresh-token key (`logout --all` forgets the keys that start with it).
pub const REFRESH_PREFIX: &str = "rt|";

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
    format!("cert|{path}")
}

/// Keychain key of a profile's proxy password.
pub fn proxy_password_key(profile_id: &uuid::Uuid) -> String {
    format!("proxy|{profile_id}")
}

/// Where secrets live.
#[derive(Clone)]
pub struct SecretStore {
    store: Option<Arc<CredentialStore>>,
    /// In-memory copies (memory mode, or after the keychain failed).
    memory: Arc<Mutex<HashMap<String, String>>>,
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
            notice: Default::default(),
            degraded: Arc::new(Mutex::new(true)),
        }
    }

    /// A given keyring-core store (tests use `keyring_core::mock::Store`).
    pub fn with_store(store: Arc<CredentialStore>) -> Self {
        SecretStore {
            store: Some(store),
            memory: Default::default(),
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
                let s = Self::memory();
                *s.notice.lock().unwrap() = Some(no_keychain_notice(&why));
                s
            }
        }
    }

    /// True when nothing reaches a keychain (memory mode or degraded).
    pub fn is_memory_only(&self) -> bool {
        *self.degraded.lock().unwrap()
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

    /// Stores a secret under `key`.
    pub async fn set(&self, key: &str, secret: &str) {
        self.memory
            .lock()
            .unwrap()
            .insert(key.to_string(), secret.to_string());
        let Some(store) = self.keychain() else { return };
        let (k, v) = (key.to_string(), secret.to_string());
        let r = off_runtime(move || -> Result<(), keyring_core::Error> {
            store.build(SERVICE, &k, None)?.set_password(&v)?;
            let idx = store.build(SERVICE, INDEX_KEY, None)?;
            let mut keys = read_index(&idx)?;
            if keys.insert(k) {
                idx.set_password(&keys.into_iter().collect::<Vec<_>>().join("\n"))?;
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

    /// Forgets a secret (memory and keychain). Ok when there was none.
    pub async fn delete(&self, key: &str) -> Result<(), String> {
        self.memory.lock().unwrap().remove(key);
        let Some(store) = self.keychain() else {
            return Ok(());
        };
        let k = key.to_string();
        off_runtime(move || -> Result<(), keyring_core::Error> {
            match store.build(SERVICE, &k, None)?.delete_credential() {
                Ok(()) | Err(keyring_core::Error::NoEntry) => {}
                Err(e) => return Err(e),
            }
            let idx = store.build(SERVICE, INDEX_KEY, None)?;
            let mut keys = read_index(&idx)?;
            if keys.remove(&k) {
                if keys.is_empty() {
                    let _ = idx.delete_credential();
                } else {
                    idx.set_password(&keys.into_iter().collect::<Vec<_>>().join("\n"))?;
                }
            }
            Ok(())
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("the keychain refused to delete the entry: {}", describe(&e)))
    }

    /// Keys known (this run's and the keychain index), optionally filtered by prefix.
    pub async fn keys(&self, prefix: &str) -> Vec<String> {
        let mut all: BTreeSet<String> = self.memory.lock().unwrap().keys().cloned().collect();
        if let Some(store) = self.keychain() {
            let r = off_runtime(move || read_index(&store.build(SERVICE, INDEX_KEY, None)?)).await;
            if let Ok(Ok(k)) = r {
                all.extend(k);
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

fn read_index(idx: &keyring_core::Entry) -> Result<BTreeSet<String>, keyring_core::Error> {
    match idx.get_password() {
        Ok(s) => Ok(s
            .lines()
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect()),
        Err(keyring_core::Error::NoEntry) => Ok(BTreeSet::new()),
        Err(e) => Err(e),
    }
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
