//! The window's workspace file, `workspace.json` beside the profile store (so demo mode, whose
//! store is its own folder, keeps its own): the sessions open when the window closed and each
//! one's output view (cmdlet line, columns, filter — never rows), the cmdlet-line history per
//! profile, and the saved lines ("favourites") per profile or folder.
//!
//! No secret is ever stored: a line the cmdlet-line parser refuses (`-Password`, `-Credential`
//! and the other secret-carrying parameters, or anything it cannot parse) is left out, and the
//! value of any parameter `params::secret_parameter` names is blanked before a line is kept.
//! Saves are atomic (`store::file::write_atomic`); a file that cannot be read, cannot be parsed
//! or was written by a newer version is set aside (renamed) with one notice and the window starts
//! with an empty workspace: it never blocks the start.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::cmdline::parse_cmdlet_line;
use super::store::file::{read_regular, write_atomic};

/// The file's name in the config root.
pub const FILE_NAME: &str = "workspace.json";
/// The format this version writes (a newer one is set aside, not misread).
pub const VERSION: u32 = 1;
/// History lines kept per profile (the oldest go first).
pub const HISTORY_MAX: usize = 100;
/// Favourites kept in all.
pub const FAVOURITES_MAX: usize = 500;
/// The largest workspace file read.
const MAX_BYTES: u64 = 4 * 1024 * 1024;

/// Everything the window keeps between runs besides profiles and eframe's own UI state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Workspace {
    pub version: u32,
    /// The sessions open when the window closed, in the order they were opened.
    pub open: Vec<OpenSession>,
    /// The cmdlet-line history per profile, oldest first.
    pub history: BTreeMap<Uuid, Vec<String>>,
    pub favourites: Vec<Favourite>,
}

impl Default for Workspace {
    fn default() -> Self {
        Workspace {
            version: VERSION,
            open: Vec::new(),
            history: BTreeMap::new(),
            favourites: Vec::new(),
        }
    }
}

/// One session to bring back, and its output view.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct OpenSession {
    pub profile_id: Uuid,
    pub view: OutputView,
}

/// An output pane's view without its rows.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct OutputView {
    /// The cmdlet line as typed (kept only when [`safe_line`] accepts it).
    pub line: String,
    /// The cmdlet whose columns `columns`/`hidden` are (the grid's last result).
    pub cmdlet: String,
    /// Some: only these columns, in this order; None: all but `hidden`.
    pub columns: Option<Vec<String>>,
    pub hidden: Vec<String>,
    pub filter: String,
}

/// Where a favourite shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Profile(Uuid),
    /// Every profile of this folder of the tree.
    Folder(String),
}

/// A saved cmdlet line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Favourite {
    pub scope: Scope,
    pub line: String,
}

/// `line` as it may be stored, or None: trimmed, accepted by the cmdlet-line parser (which
/// refuses secret-carrying parameters), the value of any secret-named parameter blanked.
pub fn safe_line(line: &str) -> Option<String> {
    let line = line.trim();
    if line.is_empty() || line.len() > 4096 {
        return None;
    }
    let parsed = parse_cmdlet_line(line).ok()?;
    let secret = parsed
        .parameters
        .keys()
        .any(|k| super::params::secret_parameter(k).is_some());
    // The parser refuses these today; should it ever accept one, the line is not kept.
    (!secret).then(|| line.to_string())
}

impl Workspace {
    /// Remember `line` as the newest of `profile`'s history (once; bounded), when it is safe.
    pub fn push_history(&mut self, profile: Uuid, line: &str) {
        let Some(line) = safe_line(line) else {
            return;
        };
        let h = self.history.entry(profile).or_default();
        h.retain(|l| *l != line);
        h.push(line);
        let over = h.len().saturating_sub(HISTORY_MAX);
        h.drain(..over);
    }

    /// Replace `profile`'s history with the safe ones of `lines` (the newest kept).
    pub fn set_history(&mut self, profile: Uuid, lines: &[String]) {
        let mut kept: Vec<String> = Vec::new();
        for l in lines.iter().filter_map(|l| safe_line(l)) {
            kept.retain(|k| *k != l);
            kept.push(l);
        }
        let over = kept.len().saturating_sub(HISTORY_MAX);
        kept.drain(..over);
        if kept.is_empty() {
            self.history.remove(&profile);
        } else {
            self.history.insert(profile, kept);
        }
    }

    /// Save `line` as a favourite of `scope`; Err says why not (a secret, nothing to save…).
    pub fn add_favourite(&mut self, scope: Scope, line: &str) -> Result<(), String> {
        let Some(line) = safe_line(line) else {
            return Err(match parse_cmdlet_line(line.trim()) {
                Err(e) => format!("Not saved: {}", e.message),
                Ok(_) => "Not saved: the line is empty or too long.".to_string(),
            });
        };
        let f = Favourite { scope, line };
        if self.favourites.contains(&f) {
            return Err("That line is already a favourite there.".into());
        }
        if self.favourites.len() >= FAVOURITES_MAX {
            return Err(format!(
                "At most {FAVOURITES_MAX} favourites: remove some first."
            ));
        }
        self.favourites.push(f);
        Ok(())
    }

    /// The favourites a profile in `folder` sees: its own first, then its folder's.
    pub fn favourites_for(&self, profile: Uuid, folder: &str) -> Vec<&Favourite> {
        let own = self
            .favourites
            .iter()
            .filter(|f| f.scope == Scope::Profile(profile));
        let shared = self
            .favourites
            .iter()
            .filter(|f| !folder.is_empty() && f.scope == Scope::Folder(folder.to_string()));
        own.chain(shared).collect()
    }

    /// The workspace with every line checked again (a hand-edited file is not trusted).
    fn sanitized(mut self) -> Workspace {
        for h in self.history.values_mut() {
            let lines = std::mem::take(h);
            h.extend(lines.iter().filter_map(|l| safe_line(l)));
            let over = h.len().saturating_sub(HISTORY_MAX);
            h.drain(..over);
        }
        self.history.retain(|_, h| !h.is_empty());
        self.favourites
            .retain(|f| safe_line(&f.line).as_ref() == Some(&f.line));
        self.favourites.truncate(FAVOURITES_MAX);
        for o in &mut self.open {
            o.view.line = safe_line(&o.view.line).unwrap_or_default();
        }
        self
    }
}

/// The workspace file under `root`.
pub fn path(root: &Path) -> PathBuf {
    root.join(FILE_NAME)
}

/// The workspace under `root`, and what the user must be told (a file set aside). Never fails:
/// an unreadable, broken or newer file is renamed `workspace.json.<why>-<time>` and an empty
/// workspace is returned.
pub fn load(root: &Path) -> (Workspace, Option<String>) {
    let file = path(root);
    let why = match read_regular(&file, MAX_BYTES) {
        Ok(None) => return (Workspace::default(), None),
        Ok(Some(bytes)) => match serde_json::from_slice::<Workspace>(&bytes) {
            Ok(ws) if ws.version <= VERSION => return (ws.sanitized(), None),
            Ok(ws) => (
                "newer",
                format!(
                    "it was written by a newer exo-connect (format {})",
                    ws.version
                ),
            ),
            Err(e) => ("broken", format!("it cannot be read ({e})")),
        },
        Err(e) => ("broken", e.to_string()),
    };
    let aside = root.join(format!(
        "{FILE_NAME}.{}-{}",
        why.0,
        chrono::Utc::now().format("%Y%m%d-%H%M%S")
    ));
    let moved = std::fs::rename(&file, &aside).is_ok();
    let text = match moved {
        true => format!(
            "The saved workspace (open sessions, history, favourites) was set aside as {}: {}. Starting with an empty one.",
            aside.display(),
            why.1
        ),
        false => format!(
            "The saved workspace {} was ignored: {}. Starting with an empty one.",
            file.display(),
            why.1
        ),
    };
    (Workspace::default(), Some(text))
}

/// Write the workspace under `root` atomically (the folder is created when missing).
pub fn save(root: &Path, ws: &Workspace) -> Result<(), String> {
    std::fs::create_dir_all(root).map_err(|e| format!("{}: {e}", root.display()))?;
    let ws = ws.clone().sanitized();
    let bytes = serde_json::to_vec_pretty(&ws).map_err(|e| e.to_string())?;
    write_atomic(&path(root), &bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_lines_are_never_kept_and_history_is_bounded_and_deduplicated() {
        let mut ws = Workspace::default();
        let p = Uuid::new_v4();
        ws.push_history(p, "New-Thing -Password 'hunter2'");
        ws.push_history(p, "Set-X -Credential $c");
        ws.push_history(p, "Get-Mailbox | Remove-Mailbox");
        assert!(ws.history.is_empty(), "{:?}", ws.history);
        for i in 0..(HISTORY_MAX + 10) {
            ws.push_history(p, &format!("Get-Mailbox -ResultSize {i}"));
        }
        ws.push_history(p, "Get-Mailbox -ResultSize 50");
        let h = &ws.history[&p];
        assert_eq!(h.len(), HISTORY_MAX);
        assert_eq!(h.last().unwrap(), "Get-Mailbox -ResultSize 50");
        assert_eq!(
            h.iter()
                .filter(|l| *l == "Get-Mailbox -ResultSize 50")
                .count(),
            1
        );
        assert!(
            ws.add_favourite(Scope::Profile(p), "New-X -Password p")
                .is_err()
        );
    }

    #[test]
    fn a_broken_or_newer_file_is_set_aside_once_and_a_saved_one_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(path(dir.path()), b"{not json").unwrap();
        let (ws, notice) = load(dir.path());
        assert_eq!(ws, Workspace::default());
        assert!(notice.unwrap().contains("set aside"));
        assert!(!path(dir.path()).exists());
        assert_eq!(load(dir.path()).1, None, "said once");

        std::fs::write(path(dir.path()), br#"{"version": 99}"#).unwrap();
        assert!(load(dir.path()).1.unwrap().contains("newer"));

        let mut ws = Workspace::default();
        let p = Uuid::new_v4();
        ws.push_history(p, "Get-Mailbox -ResultSize 10");
        ws.add_favourite(Scope::Folder("Contoso".into()), "Get-TransportRule")
            .unwrap();
        ws.open.push(OpenSession {
            profile_id: p,
            view: OutputView {
                line: "Get-Mailbox".into(),
                filter: "Department:Sales".into(),
                ..Default::default()
            },
        });
        save(dir.path(), &ws).unwrap();
        assert_eq!(load(dir.path()), (ws.clone(), None));
        assert_eq!(ws.favourites_for(p, "Contoso").len(), 1);
        assert_eq!(ws.favourites_for(p, "Other").len(), 0);
    }

    #[test]
    fn a_hand_edited_secret_is_dropped_on_load() {
        let dir = tempfile::tempdir().unwrap();
        let p = Uuid::new_v4();
        let text = format!(
            r#"{{"version":1,"history":{{"{p}":["New-X -Password s3cret","Get-User"]}},
            "favourites":[{{"scope":{{"folder":"A"}},"line":"Set-Y -Credential s3cret"}}],
            "open":[{{"profile_id":"{p}","view":{{"line":"New-X -Password s3cret"}}}}]}}"#
        );
        std::fs::write(path(dir.path()), text).unwrap();
        let (ws, notice) = load(dir.path());
        assert_eq!(notice, None);
        assert_eq!(ws.history[&p], ["Get-User"]);
        assert!(ws.favourites.is_empty());
        assert_eq!(ws.open[0].view.line, "");
        save(dir.path(), &ws).unwrap();
        assert!(
            !std::fs::read_to_string(path(dir.path()))
                .unwrap()
                .contains("s3cret")
        );
    }
}
