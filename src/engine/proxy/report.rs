//! The editor's route lines: where a profile's sign-in and admin-API traffic go, and why.

use std::sync::Arc;

use super::{System, SystemSource, resolve_with};
use crate::model::Profile;

/// The lines the editor shows under the proxy section: the route to the sign-in authority and
/// to the admin API, with notes. Blocking (reads settings, may fetch a PAC): call it off the UI
/// thread. Works inside or outside a tokio runtime.
pub fn route_report(profile: &Profile) -> Vec<String> {
    route_report_with(profile, Arc::new(System))
}

/// Same, with the settings read from `sys`.
pub fn route_report_with(profile: &Profile, sys: Arc<dyn SystemSource>) -> Vec<String> {
    let p = profile.clone();
    let work = async move {
        let Some(ep) = p.effective_endpoints() else {
            return vec![
                "No endpoints can be derived yet (set a cloud or a ConnectionUri).".to_string(),
            ];
        };
        let mut lines = Vec::new();
        let mut seen_notes: Vec<String> = Vec::new();
        for (what, addr) in [
            ("Sign-in", ep.authority.clone()),
            ("Admin API", ep.rest_base.clone()),
        ] {
            let Ok(u) = url::Url::parse(&addr) else {
                lines.push(format!("{what}: '{addr}' is not a valid address"));
                continue;
            };
            let r = resolve_with(&p, &u, sys.clone()).await;
            lines.push(format!(
                "{what} ({}): {}",
                u.host_str().unwrap_or(""),
                r.describe()
            ));
            for n in r.notes {
                if !seen_notes.contains(&n) {
                    seen_notes.push(n);
                }
            }
        }
        lines.extend(seen_notes.into_iter().map(|n| format!("Note: {n}")));
        lines
    };
    match tokio::runtime::Handle::try_current() {
        Ok(_) => std::thread::scope(|s| {
            s.spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map(|rt| rt.block_on(work))
                    .unwrap_or_else(|e| vec![format!("could not resolve the route: {e}")])
            })
            .join()
            .unwrap_or_else(|_| vec!["could not resolve the route".to_string()])
        }),
        Err(_) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map(|rt| rt.block_on(work))
            .unwrap_or_else(|e| vec![format!("could not resolve the route: {e}")]),
    }
}
