//! The driver's catalogue job: once per session, right after its connect, the tenant's live
//! cmdlet catalogue (`EXOModuleFile`, reference page §7) for the cmdlet line's completion —
//! from the cache file of that tenant and service (`<store>/catalogues/`, a day) when there is
//! one, else fetched in the background through the session's own client and cached. A failed
//! fetch is said once as a notice; completion then uses the built-in list. Each catalogue is
//! also kept per service ([`Known`]), with the cached ones of the tenant's other services, for
//! the wrong-service hint of a failed run; the driver is that list's one owner and sends it to
//! the window ([`UiEvent::CataloguesKnown`]) whenever it changed, for flagging a line before it
//! is sent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{Driver, notice};
use crate::engine::sessions::SessionInfo;
use crate::model::Service;
use crate::model::catalogue::{
    CATALOGUE_MAX_AGE, CmdletCatalogue, cache_path, load_cached, save_cached,
};
use crate::ui::bridge::{ConnId, EventSender, NoticeLevel, UiEvent};

/// The live catalogue last known per service (from any session, or the tenant's cache files).
pub(super) type Known = Arc<Mutex<HashMap<Service, Arc<CmdletCatalogue>>>>;

/// The wrong-service hint of `cmdlet` in a `service` session, from the known catalogues.
pub(super) fn hint(known: &Known, cmdlet: &str, service: Service) -> Option<String> {
    let map = known.lock().ok()?;
    let own = map.get(&service).map(|c| &**c);
    let all: Vec<(Service, &CmdletCatalogue)> = map.iter().map(|(s, c)| (*s, &**c)).collect();
    crate::model::service_hint::wrong_service_known(cmdlet, service, own, &all)
}

/// Sends the window the catalogues known now (the driver owns the list; the window flags a
/// line of the wrong service with it before sending).
fn share(known: &Known, ev: &EventSender) {
    let list: Vec<_> = match known.lock() {
        Ok(map) => map.iter().map(|(s, c)| (*s, c.clone())).collect(),
        Err(_) => return,
    };
    ev.send(UiEvent::CataloguesKnown(Arc::new(list)));
}

/// The cached catalogues of `tenant`'s other services (read off the loop), kept when no
/// session brought a newer one.
async fn load_others(known: &Known, root: std::path::PathBuf, tenant: String, service: Service) {
    let others = [
        Service::ExchangeOnline,
        Service::Protection,
        Service::SecurityCompliance,
    ];
    let found = tokio::task::spawn_blocking(move || {
        others
            .into_iter()
            .filter(|s| *s != service)
            .filter_map(|s| {
                let path = cache_path(&root, &format!("{s:?}"), &tenant);
                load_cached(&path, CATALOGUE_MAX_AGE).map(|c| (s, Arc::new(c)))
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    if let Ok(mut map) = known.lock() {
        for (s, c) in found {
            map.entry(s).or_insert(c);
        }
    }
}

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
        let (known, service) = (self.catalogues.clone(), session.service);
        let root = self.store.root().to_path_buf();
        tokio::spawn(async move {
            load_others(&known, root, tenant, service).await;
            share(&known, &ev);
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
            let catalogue = Arc::new(catalogue);
            if let Ok(mut map) = known.lock() {
                map.insert(service, catalogue.clone());
            }
            share(&known, &ev);
            ev.send(UiEvent::CatalogueReady { conn, catalogue });
        });
    }
}
