//! Logging out: what a profile owns in the keychain (refresh tokens of every account it signed
//! in as, its proxy and certificate passwords) deleted, and its access tokens dropped from memory.

use super::*;

impl TokenCache {
    /// Forgets the cached sign-in of a profile's account (its refresh token and access tokens),
    /// nothing else (a UPN-mismatch retry). `Ok(true)` when there was one; Err when the keychain
    /// refused. [`TokenCache::forget_profile`] is the logout.
    pub async fn forget(&self, profile: &Profile) -> Result<bool, String> {
        let authority = authority_for(profile).map_err(|e| e.to_string())?;
        let account = profile.sign_in_account().to_string();
        self.forget_in_memory(&account);
        self.apps
            .lock()
            .unwrap()
            .remove(&app_key(&authority, &account));
        self.secrets
            .delete(&refresh_key(&authority, &account))
            .await
    }

    /// Logs a profile out, or cleans up after its removal: deletes everything it owns in the
    /// keychain — the refresh token of every account it signed in as (the index's record, and
    /// its UPN's now), its proxy password, its certificate password — and its access tokens in
    /// memory. `others` are the other saved profiles: with `keep_shared` (a removal) an entry
    /// one of them also uses is kept for it; without (a logout) it goes too, and the line says
    /// who else used it.
    pub async fn forget_profile(
        &self,
        profile: &Profile,
        others: &[Profile],
        keep_shared: bool,
    ) -> Forgotten {
        let mut out = Forgotten::default();
        let others: Vec<&Profile> = others.iter().filter(|o| o.id != profile.id).collect();
        let index = match self.secrets.index().await {
            Ok(i) => i,
            Err(e) => {
                out.failed
                    .push(format!("the list of stored entries could not be read: {e}"));
                Default::default()
            }
        };
        let mut keys: std::collections::BTreeSet<String> = index
            .iter()
            .filter(|(_, o)| o.contains(&profile.id))
            .map(|(k, _)| k.clone())
            .collect();
        keys.extend(profile_keys(profile));
        for key in keys {
            let users: Vec<&str> = others
                .iter()
                .filter(|o| {
                    profile_keys(o).contains(&key)
                        || index.get(&key).is_some_and(|ids| ids.contains(&o.id))
                })
                .map(|o| o.name.as_str())
                .collect();
            let what = describe_key(&key);
            if keep_shared && !users.is_empty() {
                if let Err(e) = self.secrets.disown(&key, profile.id).await {
                    out.failed.push(format!("{what}: {e}"));
                }
                out.kept
                    .push(format!("{what} (still used by {})", quoted(&users)));
                continue;
            }
            match self.secrets.delete(&key).await {
                Ok(true) if users.is_empty() => out.removed.push(what),
                Ok(true) => out
                    .removed
                    .push(format!("{what} (also used by {})", quoted(&users))),
                Ok(false) => {}
                Err(e) => out.failed.push(format!("{what}: {e}")),
            }
            if let Some(account) = refresh_key_account(&key) {
                self.forget_in_memory(account);
            }
        }
        self.forget_in_memory(profile.sign_in_account());
        if let Ok(authority) = authority_for(profile) {
            self.apps
                .lock()
                .unwrap()
                .remove(&app_key(&authority, profile.sign_in_account()));
        }
        out
    }

    /// `logout --all`: deletes every entry of ours in the keychain — every key its index lists
    /// and every key derivable from `profiles` (the saved ones) — then the index itself; forgets
    /// every access token in memory.
    pub async fn forget_all(&self, profiles: &[Profile]) -> Forgotten {
        let mut out = Forgotten::default();
        self.access.lock().unwrap().clear();
        self.apps.lock().unwrap().clear();
        let mut keys: std::collections::BTreeSet<String> = match self.secrets.index().await {
            Ok(i) => i.into_keys().collect(),
            Err(e) => {
                out.failed
                    .push(format!("the list of stored entries could not be read: {e}"));
                Default::default()
            }
        };
        keys.extend(profiles.iter().flat_map(profile_keys));
        for key in keys {
            match self.secrets.delete(&key).await {
                Ok(true) => out.removed.push(describe_key(&key)),
                Ok(false) => {}
                Err(e) => out.failed.push(format!("{}: {e}", describe_key(&key))),
            }
        }
        if out.failed.is_empty()
            && let Err(e) = self.secrets.delete_index().await
        {
            out.failed.push(e);
        }
        out
    }

    /// Drops this process's access tokens of `account` (any authority and resource).
    fn forget_in_memory(&self, account: &str) {
        let account = account.trim().to_ascii_lowercase();
        self.access.lock().unwrap().retain(|k, _| {
            let mut parts = k.split('|');
            parts.next();
            parts.next() != Some(account.as_str())
        });
    }
}

/// The keys a profile's secrets have now: its account's refresh token (at its authority), its
/// proxy password, its certificate password.
fn profile_keys(profile: &Profile) -> Vec<String> {
    let mut keys = vec![proxy_password_key(&profile.id)];
    let account = profile.sign_in_account();
    if let Ok(authority) = authority_for(profile)
        && !account.trim().is_empty()
    {
        keys.push(refresh_key(&authority, account));
    }
    if let AuthMethod::Certificate {
        certificate_path: Some(path),
        ..
    } = &profile.auth
        && !path.is_empty()
    {
        keys.push(cert_password_key(path));
    }
    keys
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(", ")
}
