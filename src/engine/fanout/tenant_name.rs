//! The tenant's display name of a fan-out profile (the merged result's `Tenant`), learnt once:
//! after the profile's run, when its profile does not know it yet
//! ([`Profile::tenant_name_due`](crate::model::Profile::tenant_name_due)), one
//! `Get-OrganizationConfig` on the same session, in the same run slot (none when the line was
//! that cmdlet and its rows have the name). The caller keeps it in the profile file on
//! [`FanoutEvent::TenantNamed`](super::FanoutEvent::TenantNamed), so later fan-outs cost no
//! request for it. A single run of that cmdlet (the window's, `exo-connect run`) learns it from
//! its rows with [`named_by`].

use std::time::Duration;

use uuid::Uuid;

use super::Shared;
use crate::engine::rest::{CmdletRequest, RestError, RunEvent};
use crate::engine::sessions::SessionRegistry;
use crate::model::KnownTenant;
use crate::model::results::ResultStore;

/// The cmdlet that names the tenant (`DisplayName`).
const ORG_CMDLET: &str = "Get-OrganizationConfig";
/// A name is not worth waiting longer for (throttling, a slow tenant): asked again next time.
const ASK_TIMEOUT: Duration = Duration::from_secs(20);

/// Learns the tenant name of profile `index` if it is due, from `rows` (the line's own rows)
/// or by asking on `session`; tells the run (and its listener) what it learnt.
pub(super) async fn learn(
    shared: &Shared,
    index: usize,
    registry: &SessionRegistry,
    session: Uuid,
    rows: &ResultStore,
) {
    let target = &shared.targets[index];
    if target.tenant_name.is_some() || !target.profile.tenant_name_due(chrono::Utc::now()) {
        return;
    }
    let key = target.profile.tenant_key();
    let own = named_by(&shared.request.cmdlet, rows);
    let known = match own {
        Some(name) => Some(KnownTenant::learnt(&key, Some(&name))),
        None => ask(registry, session, &key).await,
    };
    if let Some(k) = known {
        shared.learnt(index, k);
    }
}

/// One `Get-OrganizationConfig`: Some(the name, or none when the service refused the cmdlet);
/// None when nothing was learnt (a transient failure, a timeout): asked again next run.
async fn ask(registry: &SessionRegistry, session: Uuid, key: &str) -> Option<KnownTenant> {
    let run = async {
        let mut handle = registry
            .run(session, CmdletRequest::new(ORG_CMDLET))
            .await
            .ok()?;
        let mut rows = ResultStore::new();
        while let Some(ev) = handle.events.recv().await {
            match ev {
                RunEvent::Page { rows: page, .. } if rows.is_empty() => rows = page,
                RunEvent::Done { .. } => {
                    return Some(KnownTenant::learnt(key, display_name(&rows).as_deref()));
                }
                RunEvent::Failed(e) => return refused(&e).then(|| KnownTenant::learnt(key, None)),
                RunEvent::Confirmation(_) => return None,
                _ => {}
            }
        }
        None
    };
    tokio::time::timeout(ASK_TIMEOUT, run).await.ok().flatten()
}

/// The service said no for good (the role may not run it, the cmdlet is unknown), not "later".
fn refused(e: &RestError) -> bool {
    matches!(e.status, Some(s) if (400..500).contains(&s) && s != 408 && s != 429)
}

/// The tenant's display name from a run's own rows, when the run was `Get-OrganizationConfig`
/// (a single run learns it this way too, at no extra request): its first row's `DisplayName`.
pub fn named_by(cmdlet: &str, rows: &ResultStore) -> Option<String> {
    names_tenant(cmdlet).then(|| display_name(rows)).flatten()
}

/// Whether a run of `cmdlet` gives the tenant's display name in its rows.
pub fn names_tenant(cmdlet: &str) -> bool {
    cmdlet.eq_ignore_ascii_case(ORG_CMDLET)
}

/// The first row's `DisplayName`, if the rows have one.
fn display_name(rows: &ResultStore) -> Option<String> {
    let c = rows.column_index("DisplayName")?;
    (!rows.is_empty())
        .then(|| rows.cell_string(0, c))
        .filter(|n| !n.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rest::RestErrorKind;

    #[test]
    fn the_first_rows_display_name() {
        let mut rows = ResultStore::new();
        assert_eq!(display_name(&rows), None);
        rows.push_value(
            &serde_json::json!({"Name": "x.onmicrosoft.com", "DisplayName": "Fabrikam"}),
        );
        assert_eq!(display_name(&rows).as_deref(), Some("Fabrikam"));
        let mut blank = ResultStore::new();
        blank.push_value(&serde_json::json!({"DisplayName": " "}));
        assert_eq!(display_name(&blank), None);
    }

    #[test]
    fn only_a_lasting_refusal_is_remembered() {
        let at = |status| {
            let mut e = RestError::new(RestErrorKind::Service, ORG_CMDLET, "no");
            e.status = status;
            refused(&e)
        };
        assert!(at(Some(403)) && at(Some(400)) && at(Some(404)));
        assert!(!at(Some(429)) && !at(Some(500)) && !at(None));
    }
}
