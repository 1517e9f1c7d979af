//! The profile store: one JSON file, `profiles.json`, with a schema `version`, in the OS config
//! dir (or `$EXO_CONNECT_HOME`). Saves are atomic (temp file in the same folder, write, fsync,
//! rename, fsync the folder). A file that cannot be parsed is never overwritten: it is renamed
//! aside to `profiles.json.broken-<UTC timestamp>` and the caller gets a [`Notice`] saying what was
//! wrong and where the file now is. No secret is ever part of a profile, so none reaches the file.
//!
//! Several processes may use the store at once (the window, scripts running the CLI): a save takes
//! the lock file beside the store, re-reads the file and merges this process's changes into it by
//! profile id ([`merge`]), so nobody's additions are lost; the window calls
//! [`ProfileStore::reload_if_changed`] to see changes others made. See [`file`] for the safe reads.

pub mod file;
pub mod merge;

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use file::{FailPoint, MAX_FILE_BYTES, write_atomic, write_atomic_with};

use super::profile::Profile;
use super::validate::{self, Issue};

pub const FILE_NAME: &str = "profiles.json";
/// Schema version written into the file.
pub const SCHEMA_VERSION: u32 = 1;
/// Environment variable that overrides the store's root folder.
pub const HOME_ENV: &str = "EXO_CONNECT_HOME";

/// The file's shape (also the export format).
#[derive(Debug, Serialize, Deserialize)]
pub struct StoreFile {
    pub version: u32,
    #[serde(default)]
    pub profiles: Vec<Profile>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} was written by a newer exo-connect (schema version {found}, this one reads up to {SCHEMA_VERSION}): update exo-connect; the file was left untouched"
    )]
    NewerVersion { path: PathBuf, found: u64 },
    #[error("profile '{name}' is not valid:\n{}", issues_text(.issues))]
    Invalid { name: String, issues: Vec<Issue> },
    #[error("no profile named '{0}': `exo-connect profile list` shows the saved names")]
    NotFound(String),
    #[error("no configuration folder: set {HOME_ENV} to a folder for exo-connect's profiles")]
    NoConfigDir,
    #[error("{0}")]
    Format(String),
    #[error("cannot read {path}: it is {kind}, not a regular file; give the path of a normal file")]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error(
        "cannot read {path}: it is {size} bytes, more than the {cap} a profile file may have; is it the right file?"
    )]
    TooLarge { path: PathBuf, size: u64, cap: u64 },
    #[error(
        "another exo-connect has held the profile store's lock ({path}) for {secs} s; nothing was saved: try again"
    )]
    Busy { path: PathBuf, secs: u64 },
}

fn issues_text(issues: &[Issue]) -> String {
    issues
        .iter()
        .map(|i| format!("  {i}"))
        .collect::<Vec<_>>()
        .join("\n")
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Something the user must be told when opening the store (a broken file set aside).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub message: String,
    /// Where the unreadable file now is.
    pub moved_to: PathBuf,
}

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The default root: `$EXO_CONNECT_HOME` when set and non-empty, else the OS config dir
/// (`~/.config/exo-connect` on Linux, `%APPDATA%\exo-connect\config` on Windows, ...).
pub fn default_root() -> Result<PathBuf> {
    if let Some(h) = std::env::var_os(HOME_ENV).filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(h));
    }
    directories::ProjectDirs::from("", "", "exo-connect")
        .map(|d| d.config_dir().to_path_buf())
        .ok_or(StoreError::NoConfigDir)
}

/// The demo config folder's name under the root (`exo-connect --demo`).
pub const DEMO_FOLDER: &str = "demo";

/// The root of the window and the command line: [`default_root`], or its [`DEMO_FOLDER`]
/// sub-folder in demo mode (so demo profiles never mix with the real ones).
pub fn root_for(demo: bool) -> Result<PathBuf> {
    let base = default_root()?;
    Ok(if demo { base.join(DEMO_FOLDER) } else { base })
}

/// The saved profiles, in memory, with the file they came from.
#[derive(Debug)]
pub struct ProfileStore {
    root: PathBuf,
    pub(super) profiles: Vec<Profile>,
    /// The profiles as last read from or written to the file (what our changes are relative to).
    baseline: Vec<Profile>,
    /// The file's size and time when last read or written.
    stamp: file::Stamp,
    /// What the user must be told about the last save or reload (renames, files set aside).
    notices: Vec<Notice>,
}

/// What was on disk: the profiles, or a notice that the file was unreadable and set aside.
struct Loaded {
    profiles: Vec<Profile>,
    notice: Option<Notice>,
}

impl ProfileStore {
    /// Open the store under `root` (the file need not exist). A file that cannot be parsed is
    /// renamed aside and the store starts empty; the returned [`Notice`] says what and where.
    /// Temp files of interrupted saves are removed.
    pub fn open(root: impl Into<PathBuf>) -> Result<(ProfileStore, Option<Notice>)> {
        let root = root.into();
        // Best effort: a read-only folder still lets `profile list` read the file.
        let _lock = root.is_dir().then(|| file::lock(&root).ok()).flatten();
        if _lock.is_some() {
            file::remove_stale_temp_files(&root);
        }
        let stamp = file::stamp(&root.join(FILE_NAME));
        let loaded = load(&root)?;
        let store = ProfileStore {
            root,
            baseline: loaded.profiles.clone(),
            profiles: loaded.profiles,
            stamp,
            notices: Vec::new(),
        };
        Ok((store, loaded.notice))
    }

    /// When another process changed the file since this store last read or wrote it, read it
    /// again and merge this store's unsaved changes into it. Returns whether anything changed.
    pub fn reload_if_changed(&mut self) -> Result<bool> {
        if file::stamp(&self.path()) == self.stamp {
            return Ok(false);
        }
        let _lock = file::lock(&self.root)?;
        self.stamp = file::stamp(&self.path());
        let loaded = load(&self.root)?;
        self.notices.extend(loaded.notice);
        let merged = merge::merge(&loaded.profiles, &self.baseline, &self.profiles);
        let changed = merged.profiles != self.profiles;
        self.note_renames(&merged.renamed);
        self.baseline = loaded.profiles;
        self.profiles = merged.profiles;
        Ok(changed)
    }

    /// What the last save or reload has to tell the user (renamed profiles, a file set aside).
    pub fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.notices)
    }

    fn note_renames(&mut self, renamed: &[(String, String)]) {
        for (old, new) in renamed {
            self.notices.push(Notice {
                message: format!(
                    "Another exo-connect saved a profile named '{old}' at the same time: this one is now '{new}'"
                ),
                moved_to: self.path(),
            });
        }
    }

    /// Open the store at [`default_root`].
    pub fn open_default() -> Result<(ProfileStore, Option<Notice>)> {
        Self::open(default_root()?)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn path(&self) -> PathBuf {
        self.root.join(FILE_NAME)
    }

    pub fn profiles(&self) -> &[Profile] {
        &self.profiles
    }

    /// Case-insensitive lookup by name.
    pub fn get_by_name(&self, name: &str) -> Option<&Profile> {
        let name = name.trim();
        self.profiles.iter().find(|p| p.name == name).or_else(|| {
            self.profiles
                .iter()
                .find(|p| p.name.trim().eq_ignore_ascii_case(name))
        })
    }

    pub fn get(&self, id: Uuid) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.id == id)
    }

    /// Validate and insert (or replace the profile with the same id). Returns the warnings.
    /// Sets `modified`. Does not save: call [`save`](Self::save).
    pub fn upsert(&mut self, mut profile: Profile) -> Result<Vec<Issue>> {
        let issues = validate::validate(&profile, &self.profiles);
        if validate::has_errors(&issues) {
            return Err(StoreError::Invalid {
                name: profile.name.clone(),
                issues: issues.into_iter().filter(Issue::is_error).collect(),
            });
        }
        profile.modified = chrono::Utc::now();
        match self.profiles.iter_mut().find(|p| p.id == profile.id) {
            Some(slot) => *slot = profile,
            None => self.profiles.push(profile),
        }
        Ok(issues)
    }

    /// Remove by name; returns the removed profile. Does not save.
    pub fn remove(&mut self, name: &str) -> Result<Profile> {
        let id = self
            .get_by_name(name)
            .map(|p| p.id)
            .ok_or_else(|| StoreError::NotFound(name.to_string()))?;
        let i = self.profiles.iter().position(|p| p.id == id).unwrap_or(0);
        Ok(self.profiles.remove(i))
    }

    /// Save atomically (see [`save_with`](Self::save_with)).
    pub fn save(&mut self) -> Result<()> {
        self.save_with(FailPoint::None)
    }

    /// Save: under the store's lock, re-read the file, merge this store's changes into what
    /// other processes saved meanwhile, write atomically. The store then holds the merged list.
    #[doc(hidden)]
    pub fn save_with(&mut self, fail: FailPoint) -> Result<()> {
        let _lock = file::lock(&self.root)?;
        let loaded = load(&self.root)?;
        self.notices.extend(loaded.notice);
        let merged = merge::merge(&loaded.profiles, &self.baseline, &self.profiles);
        let text = to_json(&merged.profiles.iter().collect::<Vec<_>>())?;
        write_atomic_with(&self.path(), text.as_bytes(), fail)?;
        self.note_renames(&merged.renamed);
        self.stamp = file::stamp(&self.path());
        self.baseline = merged.profiles.clone();
        self.profiles = merged.profiles;
        Ok(())
    }
}

/// Why the bytes of a store file are not a usable profile list (see [`parse_file`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreadable {
    /// Written by a newer exo-connect: refuse it, and leave the file alone.
    Newer(u64),
    /// Not a store file (bad JSON, bad fields, duplicate ids or names): set it aside.
    Broken(String),
}

/// Parses the bytes of a store file (a byte-order mark is accepted). Pure: the parser the
/// store's reads use, and what the fuzz target and the property tests drive.
pub fn parse_file(bytes: &[u8]) -> std::result::Result<Vec<Profile>, Unreadable> {
    // Notepad may add a byte-order mark to a hand-edited file.
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // A newer schema is not "broken": refuse, and leave it alone.
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(text)
        && let Some(found) = v.get("version").and_then(|v| v.as_u64())
        && found > u64::from(SCHEMA_VERSION)
    {
        return Err(Unreadable::Newer(found));
    }
    let file =
        serde_json::from_slice::<StoreFile>(text).map_err(|e| Unreadable::Broken(e.to_string()))?;
    check_loaded(&file.profiles).map_err(Unreadable::Broken)?;
    Ok(file.profiles)
}

/// Read and parse the file under `root`; an unreadable file is set aside (see [`set_aside`]).
fn load(root: &Path) -> Result<Loaded> {
    let path = root.join(FILE_NAME);
    let Some(bytes) = file::read_regular(&path, MAX_FILE_BYTES)? else {
        return Ok(Loaded {
            profiles: Vec::new(),
            notice: None,
        });
    };
    match parse_file(&bytes) {
        Ok(profiles) => Ok(Loaded {
            profiles,
            notice: None,
        }),
        Err(Unreadable::Newer(found)) => Err(StoreError::NewerVersion { path, found }),
        Err(Unreadable::Broken(problem)) => Ok(Loaded {
            profiles: Vec::new(),
            notice: Some(set_aside(root, &problem)?),
        }),
    }
}

/// Rename an unreadable file to `profiles.json.broken-<time>` (never overwritten). When another
/// process moved it first, that is done too: the notice says so.
fn set_aside(root: &Path, problem: &str) -> Result<Notice> {
    let path = root.join(FILE_NAME);
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let aside = root.join(format!("{FILE_NAME}.broken-{stamp}"));
    match fs::rename(&path, &aside) {
        Ok(()) => Ok(Notice {
            message: format!(
                "The profile file {} could not be read ({problem}). It was kept as {} and exo-connect started with no profiles; fix that file and import it with `exo-connect profile import`.",
                path.display(),
                aside.display()
            ),
            moved_to: aside,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Notice {
            message: format!(
                "The profile file {} could not be read ({problem}); another exo-connect set it aside at the same moment (look for {FILE_NAME}.broken-* in {}).",
                path.display(),
                root.display()
            ),
            moved_to: root.to_path_buf(),
        }),
        Err(source) => Err(file::io_err("set aside the unreadable", &path, source)),
    }
}

/// The file's JSON for these profiles (also the export format).
pub fn to_json(profiles: &[&Profile]) -> Result<String> {
    #[derive(Serialize)]
    struct Out<'a> {
        version: u32,
        profiles: &'a [&'a Profile],
    }
    let mut s = serde_json::to_string_pretty(&Out {
        version: SCHEMA_VERSION,
        profiles,
    })
    .map_err(|e| StoreError::Format(e.to_string()))?;
    s.push('\n');
    Ok(s)
}

/// Loaded profiles must have unique ids and names; anything else means a hand-edited file went wrong.
fn check_loaded(profiles: &[Profile]) -> std::result::Result<(), String> {
    let mut ids = std::collections::HashSet::new();
    let mut names = std::collections::HashSet::new();
    for p in profiles {
        if !ids.insert(p.id) {
            return Err(format!("two profiles share the id {}", p.id));
        }
        if !names.insert(p.name.trim().to_lowercase()) {
            return Err(format!("two profiles share the name '{}'", p.name));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
