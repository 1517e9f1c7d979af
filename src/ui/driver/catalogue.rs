//! The driver's catalogue job: once per session, right after its connect, the tenant's live
//! cmdlet catalogue (`EXOModuleFile`, reference page §7) for the cmdlet line's completion —
//! from the cache file of that tenant and service (`<store>/catalogues/`, a day) when there is
//! one, else fetched in the background through the session's own client and cached. A failed
//! fetch is said once as a notice; completion then uses the built-in list.

use std::sync::Arc;

use super::{Driver, notice};
use crate::engine::sessions::SessionInfo;
use crate::model::catalogue::{CATALOGUE_MAX_AGE, cache_path, load_cached, save_cached};
use crate::ui::bridge::{ConnId, NoticeLevel, UiEvent};

impl Driver {
    /// Loads or fetches the catalogue of a session that just connected (in the background).
    pub(super) fn fetch_catalogue(&self, session: &SessionInfo) {
        let conn = ConnId(session.connection_id);
        let tenant = session.tenant.clone().unwrap_or_default();
        let path = cache_path(
            self.store.root(),
            &format!("{:?}", session.service),
            &tenant,
        );
        let registry = self.connector.registry().clone();
        let ev = self.ev.clone();
        let name = session.profile_name.clone();
        tokio::spawn(async move {
            let p = path.clone();
            let cached = tokio::task::spawn_blocking(move || load_cached(&p, CATALOGUE_MAX_AGE))
                .await
                .ok()
                .flatten();
            let catalogue = match cached {
                Some(c) => c,
                None => {
                    let fetched = match registry.client(conn.0).await {
                        Ok(client) => client.fetch_catalogue().await.map_err(|e| e.to_string()),
                        Err(e) => Err(e.to_string()),
                    };
                    match fetched {
                        Ok(c) => {
                            let (p, copy) = (path, c.clone());
                            let _ =
                                tokio::task::spawn_blocking(move || save_cached(&p, &copy)).await;
                            c
                        }
                        Err(e) => {
                            ev.send(notice(
                                NoticeLevel::Info,
                                format!(
                                    "{name}: no cmdlet catalogue ({e}); completion uses the built-in list"
                                ),
                            ));
                            return;
                        }
                    }
                }
            };
            ev.send(UiEvent::CatalogueReady {
                conn,
                catalogue: Arc::new(catalogue),
            });
        });
    }
}
