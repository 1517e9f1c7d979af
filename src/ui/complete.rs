//! Completion of the cmdlet line: cmdlet names while the first word is typed, then the
//! parameters of that cmdlet after a `-`. From the session's live catalogue (`EXOModuleFile`,
//! `model::catalogue`, sent by the driver after the connect) when it came, else from the
//! built-in list below. A popup under the input: Up/Down choose, Tab or Enter accepts, Esc
//! closes (until the line changes), a click accepts too.

use std::sync::Arc;

use egui::{Key, Modifiers, RichText, Ui};

use crate::model::catalogue::CmdletCatalogue;

/// The built-in list when there is no catalogue: common cmdlets of the three services and the
/// parameters admins type most.
const BUILTIN: &[(&str, &[&str])] = &[
    (
        "Get-Mailbox",
        &[
            "Identity",
            "ResultSize",
            "RecipientTypeDetails",
            "Filter",
            "Anr",
        ],
    ),
    (
        "Set-Mailbox",
        &[
            "Identity",
            "CustomAttribute1",
            "ForwardingSmtpAddress",
            "HiddenFromAddressListsEnabled",
            "WhatIf",
            "Confirm",
        ],
    ),
    ("Get-MailboxStatistics", &["Identity"]),
    ("Get-MailboxFolderStatistics", &["Identity", "FolderScope"]),
    ("Get-MailboxPermission", &["Identity", "User"]),
    (
        "Add-MailboxPermission",
        &["Identity", "User", "AccessRights", "WhatIf", "Confirm"],
    ),
    (
        "Remove-MailboxPermission",
        &["Identity", "User", "AccessRights", "WhatIf", "Confirm"],
    ),
    (
        "Get-Recipient",
        &["Identity", "ResultSize", "RecipientTypeDetails", "Filter"],
    ),
    ("Get-User", &["Identity", "ResultSize", "Filter"]),
    (
        "Get-DistributionGroup",
        &["Identity", "ResultSize", "Filter"],
    ),
    ("Get-DistributionGroupMember", &["Identity", "ResultSize"]),
    ("Get-UnifiedGroup", &["Identity", "ResultSize", "Filter"]),
    ("Get-AcceptedDomain", &["Identity"]),
    ("Get-OrganizationConfig", &[]),
    ("Get-TransportRule", &["Identity", "State"]),
    (
        "New-TransportRule",
        &["Name", "Enabled", "WhatIf", "Confirm"],
    ),
    (
        "Set-TransportRule",
        &["Identity", "Name", "WhatIf", "Confirm"],
    ),
    ("Remove-TransportRule", &["Identity", "WhatIf", "Confirm"]),
    ("Enable-TransportRule", &["Identity", "WhatIf", "Confirm"]),
    ("Disable-TransportRule", &["Identity", "WhatIf", "Confirm"]),
    ("Get-InboundConnector", &["Identity"]),
    ("Get-OutboundConnector", &["Identity"]),
    ("Get-HostedContentFilterPolicy", &["Identity"]),
    ("Get-MalwareFilterPolicy", &["Identity"]),
    (
        "Get-QuarantineMessage",
        &["StartReceivedDate", "EndReceivedDate", "PageSize"],
    ),
    (
        "Get-MessageTrace",
        &[
            "SenderAddress",
            "RecipientAddress",
            "StartDate",
            "EndDate",
            "PageSize",
        ],
    ),
    (
        "Get-MessageTraceV2",
        &[
            "SenderAddress",
            "RecipientAddress",
            "StartDate",
            "EndDate",
            "ResultSize",
        ],
    ),
    ("Get-MobileDevice", &["Mailbox", "ResultSize"]),
    ("Get-CASMailbox", &["Identity", "ResultSize"]),
    (
        "Get-RetentionCompliancePolicy",
        &["Identity", "DistributionDetail"],
    ),
    ("Get-RetentionComplianceRule", &["Identity", "Policy"]),
    ("Get-DlpCompliancePolicy", &["Identity"]),
    ("Get-ComplianceSearch", &["Identity"]),
    ("Get-Label", &["Identity"]),
    ("Get-LabelPolicy", &["Identity"]),
];

/// The live catalogues known per service (the driver's list), shared by every output pane.
pub type Known = super::bridge::KnownCatalogues;

/// At most this many suggestions show.
const MAX_SHOWN: usize = 12;

/// What the popup offers for a line: the byte offset where the word being completed starts,
/// and the words that may replace it (a cmdlet name, or `-Parameter`).
pub fn suggestions(line: &str, catalogue: Option<&CmdletCatalogue>) -> (usize, Vec<String>) {
    let start = line
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_whitespace())
        .map(|(i, c)| i + c.len_utf8())
        .unwrap_or(0);
    let word = &line[start..];
    let first = line.split_whitespace().next().unwrap_or_default();
    let lower = |s: &str| s.to_ascii_lowercase();
    let mut out: Vec<String> = if line[..start].trim().is_empty() {
        if word.is_empty() {
            return (start, Vec::new());
        }
        let w = lower(word);
        match catalogue {
            Some(c) => c.complete(word).into_iter().map(String::from).collect(),
            None => BUILTIN
                .iter()
                .filter(|(n, _)| lower(n).starts_with(&w))
                .map(|(n, _)| n.to_string())
                .collect(),
        }
    } else if let Some(p) = word.strip_prefix('-') {
        let p = lower(p);
        let given: Vec<String> = line[..start]
            .split_whitespace()
            .filter_map(|t| t.strip_prefix('-'))
            .map(|t| lower(t.split(':').next().unwrap_or(t)))
            .collect();
        params(first, catalogue)
            .into_iter()
            .filter(|n| lower(n).starts_with(&p) && !given.contains(&lower(n)))
            .map(|n| format!("-{n}"))
            .collect()
    } else {
        Vec::new()
    };
    // Typed in full already: nothing to offer.
    if out.len() == 1 && out[0].eq_ignore_ascii_case(word) {
        out.clear();
    }
    out.truncate(MAX_SHOWN);
    (start, out)
}

/// The parameters of `cmdlet` (catalogue, else built-in; none when unknown).
fn params(cmdlet: &str, catalogue: Option<&CmdletCatalogue>) -> Vec<String> {
    match catalogue {
        Some(c) => c
            .cmdlet(cmdlet)
            .map(|c| c.params.iter().map(|p| p.name.clone()).collect())
            .unwrap_or_default(),
        None => BUILTIN
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(cmdlet))
            .map(|(_, ps)| ps.iter().map(|p| p.to_string()).collect())
            .unwrap_or_default(),
    }
}

/// The completion state of one session's cmdlet line.
#[derive(Debug, Clone, Default)]
pub struct Completion {
    /// The session's live catalogue, once the driver sent it.
    pub catalogue: Option<Arc<CmdletCatalogue>>,
    /// The catalogues the window knows per service (from any session): a cmdlet another
    /// service's catalogue knows is flagged as that service's.
    pub known: Known,
    /// The highlighted suggestion.
    selected: usize,
    /// Esc closed the popup for this text of the line.
    closed_for: Option<String>,
}

impl Completion {
    /// Before the input draws (it has the focus): the popup's keys. Returns whether the popup
    /// is open; a Tab or Enter that accepted has changed `line` already.
    pub fn keys(&mut self, ui: &mut Ui, line: &mut String) -> bool {
        let (start, list) = self.open_list(line);
        if list.is_empty() {
            return false;
        }
        let (tab, enter, esc, up, down) = ui.input_mut(|i| {
            (
                i.consume_key(Modifiers::NONE, Key::Tab),
                i.consume_key(Modifiers::NONE, Key::Enter),
                i.consume_key(Modifiers::NONE, Key::Escape),
                i.consume_key(Modifiers::NONE, Key::ArrowUp),
                i.consume_key(Modifiers::NONE, Key::ArrowDown),
            )
        });
        self.selected = self.selected.min(list.len() - 1);
        if down {
            self.selected = (self.selected + 1) % list.len();
        }
        if up {
            self.selected = (self.selected + list.len() - 1) % list.len();
        }
        if esc {
            self.closed_for = Some(line.clone());
            return false;
        }
        if tab || enter {
            self.accept(line, start, &list[self.selected]);
        }
        true
    }

    /// Whether the popup shows for this line.
    pub fn is_open(&self, line: &str) -> bool {
        !self.open_list(line).1.is_empty()
    }

    /// The input's event filter: while the popup shows, Tab, Esc and the arrows stay with the
    /// input (egui would move or drop the focus on them before the popup sees them).
    pub fn event_filter(&self, line: &str) -> egui::EventFilter {
        let open = self.is_open(line);
        egui::EventFilter {
            horizontal_arrows: true,
            vertical_arrows: true,
            tab: open,
            escape: open,
        }
    }

    /// The suggestions unless Esc closed them for this line.
    fn open_list(&self, line: &str) -> (usize, Vec<String>) {
        if self.closed_for.as_deref() == Some(line) {
            return (0, Vec::new());
        }
        suggestions(line, self.catalogue.as_deref())
    }

    fn accept(&mut self, line: &mut String, start: usize, choice: &str) {
        line.truncate(start);
        line.push_str(choice);
        line.push(' ');
        self.selected = 0;
    }

    /// After the input drew (`input` its response, `id` its id): the popup under it while the
    /// input has the focus; a click accepts. Returns whether the line changed (the caller puts
    /// the cursor at its end).
    pub fn popup(&mut self, ui: &mut Ui, input: &egui::Response, line: &mut String) -> bool {
        if !input.has_focus() {
            return false;
        }
        let (start, list) = self.open_list(line);
        if list.is_empty() {
            return false;
        }
        let source = if self.catalogue.is_some() {
            "from the tenant's catalogue"
        } else {
            "built-in list"
        };
        let mut clicked = None;
        egui::Area::new(input.id.with("completion"))
            .order(egui::Order::Foreground)
            .fixed_pos(input.rect.left_bottom())
            .show(ui.ctx(), |ui| {
                egui::Frame::popup(ui.style()).show(ui, |ui| {
                    ui.set_min_width(240.0);
                    for (i, s) in list.iter().enumerate() {
                        let r =
                            ui.selectable_label(i == self.selected, RichText::new(s).monospace());
                        if r.clicked() {
                            clicked = Some(i);
                        }
                    }
                    ui.label(RichText::new(format!("Tab accepts · Esc closes · {source}")).weak());
                });
            });
        let Some(i) = clicked else { return false };
        self.accept(line, start, &list[i]);
        input.request_focus();
        true
    }
}

/// Puts the cursor of the text field `id` at the end of `text`.
pub fn cursor_to_end(ui: &Ui, id: egui::Id, text: &str) {
    if let Some(mut state) = egui::TextEdit::load_state(ui.ctx(), id) {
        let end = egui::text::CCursor::new(text.chars().count());
        state
            .cursor
            .set_char_range(Some(egui::text::CCursorRange::one(end)));
        state.store(ui.ctx(), id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::catalogue::{CatalogueCmdlet, CatalogueParam};

    fn catalogue() -> CmdletCatalogue {
        let mut c = CmdletCatalogue::default();
        let p = |n: &str| CatalogueParam {
            name: n.into(),
            ps_type: "string".into(),
            sets: Vec::new(),
        };
        for (n, ps) in [
            ("Get-Mailbox", vec![p("Identity"), p("ResultSize")]),
            ("Get-MailboxPlan", vec![p("Identity")]),
        ] {
            c.cmdlets.insert(
                n.to_ascii_lowercase(),
                CatalogueCmdlet {
                    name: n.into(),
                    params: ps,
                },
            );
        }
        c
    }

    #[test]
    fn cmdlets_then_parameters_from_the_catalogue_or_the_built_in_list() {
        let c = catalogue();
        assert_eq!(
            suggestions("Get-Mai", Some(&c)),
            (0, vec!["Get-Mailbox".into(), "Get-MailboxPlan".into()])
        );
        let (_, builtin) = suggestions("get-mai", None);
        assert!(builtin.contains(&"Get-Mailbox".to_string()));
        assert!(!builtin.contains(&"Get-MailboxPlan".to_string()));
        assert_eq!(
            suggestions("Get-Mailbox -", Some(&c)),
            (12, vec!["-Identity".into(), "-ResultSize".into()])
        );
        assert_eq!(
            suggestions("Get-Mailbox -Identity x -r", Some(&c)).1,
            ["-ResultSize"],
            "given parameters are not offered again"
        );
        assert!(
            suggestions("Get-Mailbox -Identity x", Some(&c))
                .1
                .is_empty()
        );
        assert!(suggestions("", Some(&c)).1.is_empty());
        assert!(
            suggestions("Get-MailboxPlan", Some(&c)).1.is_empty(),
            "typed in full"
        );
        assert!(suggestions("Get-Nothing -", Some(&c)).1.is_empty());
    }
}
