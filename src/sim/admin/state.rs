//! The tenants' state the change cmdlets write and the Get cmdlets read: transport rules (seeded
//! lazily per tenant, then created, changed, reordered, removed) and Set-Mailbox changes (per
//! tenant, by generated mailbox index, laid over the generated rows).

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::AdminApi;
use super::dataset;
use super::faults::DetailForm;
use super::odata::ApiError;
use crate::sim::world::Tenant;

impl AdminApi {
    pub(crate) fn rules_of(&self, tenant: &Tenant) -> Vec<Map<String, Value>> {
        let seed = self.shared.config.seed;
        self.inner()
            .rules
            .entry(tenant.id)
            .or_insert_with(|| dataset::seeded_transport_rules(seed, tenant))
            .clone()
    }

    pub(crate) fn add_rule(
        &self,
        tenant: &Tenant,
        name: &str,
        mode: &str,
        comments: Option<String>,
    ) -> Result<Map<String, Value>, ApiError> {
        let seed = self.shared.config.seed;
        let mut inner = self.inner();
        inner.rules_created += 1;
        let counter = inner.rules_created;
        let rules = inner
            .rules
            .entry(tenant.id)
            .or_insert_with(|| dataset::seeded_transport_rules(seed, tenant));
        if rules.iter().any(|r| dataset::matches_identity(r, name)) {
            return Err(ApiError::new(
                400,
                "BadRequest",
                "Microsoft.Exchange.MessagingPolicies.Rules.Tasks.RuleNameAlreadyExistsException",
                "Ex4E2C11",
                DetailForm::Pipe,
                format!(
                    "A transport rule with the name '{name}' already exists. Choose another name."
                ),
            )
            .target(name.to_string()));
        }
        let mut rng = dataset::runtime_rng(seed, tenant, counter);
        let row = dataset::transport_rule(
            &mut rng,
            name,
            rules.len(),
            mode,
            &format!("Created by New-TransportRule (mode {mode})"),
            comments,
        );
        rules.push(row.clone());
        Ok(row)
    }

    pub(crate) fn remove_rule(&self, tenant: &Tenant, identity: &str) -> bool {
        let seed = self.shared.config.seed;
        let mut inner = self.inner();
        let rules = inner
            .rules
            .entry(tenant.id)
            .or_insert_with(|| dataset::seeded_transport_rules(seed, tenant));
        let before = rules.len();
        rules.retain(|r| !dataset::matches_identity(r, identity));
        before != rules.len()
    }

    /// Changes a rule (`fields` replace its properties; `priority` moves it, the others are
    /// renumbered 0..n); Err(()) when no rule has that identity.
    pub(crate) fn update_rule(
        &self,
        tenant: &Tenant,
        identity: &str,
        fields: Map<String, Value>,
        priority: Option<usize>,
    ) -> Result<(), ()> {
        let seed = self.shared.config.seed;
        let mut inner = self.inner();
        let rules = inner
            .rules
            .entry(tenant.id)
            .or_insert_with(|| dataset::seeded_transport_rules(seed, tenant));
        let pos = rules
            .iter()
            .position(|r| dataset::matches_identity(r, identity))
            .ok_or(())?;
        let mut rule = rules.remove(pos);
        for (k, v) in fields {
            if k == "Name" {
                rule.insert("Identity".into(), v.clone());
            }
            rule.insert(k, v);
        }
        let at = priority.unwrap_or(pos).min(rules.len());
        rules.insert(at, rule);
        for (i, r) in rules.iter_mut().enumerate() {
            r.insert("Priority".into(), i.into());
        }
        Ok(())
    }

    /// The tenant's Set-Mailbox changes by mailbox index.
    pub(crate) fn mailbox_changes(&self, tenant: &Tenant) -> HashMap<usize, Map<String, Value>> {
        self.inner()
            .mailbox_changes
            .get(&tenant.id)
            .cloned()
            .unwrap_or_default()
    }

    /// Records a Set-Mailbox change of mailbox `index`.
    pub(crate) fn change_mailbox(&self, tenant: &Tenant, index: usize, change: Map<String, Value>) {
        let mut inner = self.inner();
        let row = inner
            .mailbox_changes
            .entry(tenant.id)
            .or_default()
            .entry(index)
            .or_default();
        row.extend(change);
    }
}
