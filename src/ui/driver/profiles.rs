//! The driver's profile jobs: the profile store (open, load, save, delete, import, export, the
//! time a profile last connected) and the proxy password in the keychain.

use std::path::Path;

use uuid::Uuid;

use super::{Driver, notice};
use crate::engine::secrets::proxy_password_key;
use crate::model::Profile;
use crate::model::store::ProfileStore;
use crate::ui::bridge::{EventSender, NoticeLevel, Secret, UiEvent};

/// The store at `root` (a file that cannot be read is set aside with a warning; a folder that
/// cannot be used gives a scratch store, with an error saying changes will not be saved). Demo
/// mode points the demo profiles at the sim's current URLs.
pub(super) fn open_store(
    root: &Path,
    ev: &EventSender,
    sim: Option<&crate::sim::SimHandle>,
) -> ProfileStore {
    let mut store = match ProfileStore::open(root) {
        Ok((s, n)) => {
            if let Some(n) = n {
                ev.send(notice(NoticeLevel::Warning, n.message));
            }
            s
        }
        Err(e) => {
            ev.send(notice(
                NoticeLevel::Error,
                format!("{e} — changes will not be saved"),
            ));
            scratch_store()
        }
    };
    if let Some(h) = sim {
        match crate::ui::demo::seed_profiles(&mut store, h.urls()) {
            Ok(n) => ev.send(notice(
                NoticeLevel::Info,
                format!(
                    "Demo mode: {} point at the simulated tenant",
                    crate::model::text::count(n, "demo profile")
                ),
            )),
            Err(e) => ev.send(notice(
                NoticeLevel::Error,
                format!("Demo profiles not saved: {e}"),
            )),
        };
    }
    store
}

/// The notice after a profile's deletion: what left the keychain with it, what could not.
fn deleted_notice(name: &str, done: &crate::engine::secrets::Forgotten) -> (NoticeLevel, String) {
    let mut text = format!("Deleted profile {name}");
    if !done.removed.is_empty() {
        text.push_str(&format!(
            "; removed from the keychain: {}",
            done.removed.join(", ")
        ));
    }
    if !done.kept.is_empty() {
        text.push_str(&format!("; kept {}", done.kept.join(", ")));
    }
    if done.is_complete() {
        return (NoticeLevel::Info, text);
    }
    text.push_str(&format!(
        ". Not removed from the keychain: {}",
        done.failed.join("; ")
    ));
    (NoticeLevel::Warning, text)
}

fn scratch_store() -> ProfileStore {
    let scratch = std::env::temp_dir().join(format!("exo-connect-scratch-{}", std::process::id()));
    ProfileStore::open(scratch)
        .or_else(|_| ProfileStore::open(std::env::temp_dir().join("exo-connect-fallback")))
        .map(|(s, _)| s)
        .expect("a scratch profile store")
}

impl Driver {
    pub(super) fn load_profiles(&self) {
        self.send(UiEvent::ProfilesLoaded(self.store.profiles().to_vec()));
    }

    /// Another exo-connect (the command line, a second window) may have changed the store: when
    /// the file changed, read it again (merged with this store's state) and send the list; the
    /// window keeps its editor's unsaved edits. A failure is said once until it changes.
    pub(super) fn reload_if_changed(&mut self) {
        match self.store.reload_if_changed() {
            Ok(changed) => {
                self.reload_error = None;
                if changed {
                    self.load_profiles();
                }
            }
            Err(e) => {
                let text = format!("The profile list could not be reloaded: {e}");
                if self.reload_error.as_deref() != Some(text.as_str()) {
                    self.send(notice(NoticeLevel::Warning, text.clone()));
                    self.reload_error = Some(text);
                }
            }
        }
        self.store_notices();
    }

    /// What the store has to tell after a save or a reload (a profile renamed by the merge, a
    /// file set aside).
    fn store_notices(&mut self) {
        for n in self.store.take_notices() {
            self.send(notice(NoticeLevel::Warning, n.message));
        }
    }

    pub(super) fn save_profile(&mut self, p: Profile) {
        let id = p.id;
        let before = self.store.get(id).cloned();
        let res = self.store.upsert(p).and_then(|w| {
            self.store.save()?;
            Ok(w)
        });
        match res {
            Ok(_) => {
                if let Some(saved) = self.store.get(id) {
                    self.send(UiEvent::ProfileSaved(Box::new(saved.clone())));
                }
                // The save merged others' changes: show them (and what the merge renamed).
                self.load_profiles();
                self.store_notices();
            }
            Err(e) => {
                if let Ok((s, _)) = ProfileStore::open(self.store.root().to_path_buf()) {
                    self.store = s;
                } else if let Some(b) = before {
                    let _ = self.store.upsert(b);
                }
                self.send(notice(NoticeLevel::Error, format!("Not saved: {e}")));
            }
        }
    }

    /// Removes the profile from the store, then (off the loop) what it owns in the keychain;
    /// the notice says what was removed.
    pub(super) fn delete_profile(&mut self, id: Uuid) {
        let Some(profile) = self.store.get(id).cloned() else {
            self.send(UiEvent::ProfileDeleted { id });
            return;
        };
        let name = profile.name.clone();
        match self.store.remove(&name).and_then(|_| self.store.save()) {
            Ok(()) => {
                self.send(UiEvent::ProfileDeleted { id });
                let others = self.store.profiles().to_vec();
                let cache = self.connector.cache().clone();
                let ev = self.ev.clone();
                tokio::spawn(async move {
                    if cache.secrets().unreachable().is_some() {
                        // No keychain (the start-up notice said so): nothing to clean there.
                        ev.send(notice(NoticeLevel::Info, format!("Deleted profile {name}")));
                        return;
                    }
                    let done = cache.forget_profile(&profile, &others, true).await;
                    let (level, text) = deleted_notice(&name, &done);
                    ev.send(notice(level, text));
                });
            }
            Err(e) => self.send(notice(NoticeLevel::Error, format!("Not deleted: {e}"))),
        }
    }

    pub(super) fn import_profiles(&mut self, path: &Path) {
        let report = match self.store.import_file(path) {
            Ok(r) => r,
            Err(e) => {
                self.send(notice(NoticeLevel::Error, format!("Import failed: {e}")));
                return;
            }
        };
        self.load_profiles();
        let mut text = format!(
            "Imported {}",
            crate::model::text::count(report.imported.len(), "profile")
        );
        let level = if report.rejected.is_empty() {
            NoticeLevel::Info
        } else {
            let why: Vec<String> = report.rejected.iter().map(|r| r.to_string()).collect();
            text.push_str(&format!("; {} rejected: {}", why.len(), why.join("; ")));
            NoticeLevel::Warning
        };
        self.send(notice(level, text));
    }

    /// These profiles (all when `ids` is empty) to a file.
    pub(super) fn export_profiles(&self, path: &Path, ids: &[Uuid]) {
        let names: Vec<String> = self
            .store
            .profiles()
            .iter()
            .filter(|p| ids.is_empty() || ids.contains(&p.id))
            .map(|p| p.name.clone())
            .collect();
        match self.store.export_file(path, &names) {
            Ok(n) => self.send(notice(
                NoticeLevel::Info,
                format!(
                    "Exported {} to {}",
                    crate::model::text::count(n, "profile"),
                    path.display()
                ),
            )),
            Err(e) => self.send(notice(NoticeLevel::Error, format!("Export failed: {e}"))),
        }
    }

    /// Into the keychain, off the loop (a keychain call can block).
    pub(super) fn save_proxy_password(&self, profile_id: Uuid, password: Secret) {
        let secrets = self.secrets().clone();
        let ev = self.ev.clone();
        tokio::spawn(async move {
            secrets
                .set_owned(
                    &proxy_password_key(&profile_id),
                    password.expose(),
                    Some(profile_id),
                )
                .await;
            ev.send(notice(
                NoticeLevel::Info,
                "Proxy password saved to the keychain",
            ));
        });
    }

    /// Keeps the tenant name a fan-out learnt in the profile (best effort) and sends the list,
    /// so the window's copy has it too.
    pub(super) fn remember_tenant(&mut self, profile_id: Uuid, tenant: crate::model::KnownTenant) {
        if let Some(mut p) = self.store.get(profile_id).cloned() {
            p.known_tenant = Some(tenant);
            if self.store.upsert(p).is_ok() && self.store.save().is_ok() {
                self.load_profiles();
            }
        }
    }

    /// Remembers when the profile last connected (best effort).
    pub(super) fn remember_connected(&mut self, profile_id: Uuid) {
        if let Some(mut p) = self.store.get(profile_id).cloned() {
            p.last_connected = Some(chrono::Utc::now());
            if self.store.upsert(p).is_ok() {
                let _ = self.store.save();
            }
        }
    }
}
