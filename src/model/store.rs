//! The profile store: one JSON file, `profiles.json`, with a schema `version`, in the OS config
//! dir (or `$EXO_CONNECT_HOME`). Saves are atomic (temp file in the same folder, write, fsync,
//! rename, fsync the folder). A file that cannot be parsed is never overwritten: it is renamed
//! aside to `profiles.json.broken-<UTC timestamp>` and the caller gets a [`Notice`] saying what was
//! wrong and where the file now is. No secret is ever part of a profile, so none reaches the file.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

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

/// Where a save may be made to fail, for tests of atomicity.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailPoint {
    None,
    /// After the temp file is written and synced, before the rename.
    BeforeRename,
}

/// Write `bytes` to `path` atomically: temp file in the same folder, write, fsync, rename, fsync dir.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, bytes, FailPoint::None)
}

#[doc(hidden)]
pub fn write_atomic_with(path: &Path, bytes: &[u8], fail: FailPoint) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    let dir = dir.unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|source| StoreError::Io {
        action: "create the folder",
        path: dir.to_path_buf(),
        source,
    })?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| FILE_NAME.to_string());
    let tmp = dir.join(format!(".{file_name}.tmp-{}", Uuid::new_v4().simple()));
    let io = |action: &'static str, p: &Path| {
        let p = p.to_path_buf();
        move |source| StoreError::Io {
            action,
            path: p,
            source,
        }
    };
    let result = (|| {
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        // The profile file holds no secret, but account names are nobody else's business.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(&tmp).map_err(io("create", &tmp))?;
        f.write_all(bytes).map_err(io("write", &tmp))?;
        f.sync_all().map_err(io("sync", &tmp))?;
        drop(f);
        if fail == FailPoint::BeforeRename {
            return Err(StoreError::Io {
                action: "rename (injected failure)",
                path: tmp.clone(),
                source: std::io::Error::other("injected failure before rename"),
            });
        }
        fs::rename(&tmp, path).map_err(io("replace", path))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    // Make the rename itself durable (not possible on Windows; harmless to skip there).
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The saved profiles, in memory, with the file they came from.
#[derive(Debug)]
pub struct ProfileStore {
    root: PathBuf,
    pub(super) profiles: Vec<Profile>,
}

impl ProfileStore {
    /// Open the store under `root` (the file need not exist). A file that cannot be parsed is
    /// renamed aside and the store starts empty; the returned [`Notice`] says what and where.
    pub fn open(root: impl Into<PathBuf>) -> Result<(ProfileStore, Option<Notice>)> {
        let root = root.into();
        let path = root.join(FILE_NAME);
        let text = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok((
                    ProfileStore {
                        root,
                        profiles: Vec::new(),
                    },
                    None,
                ));
            }
            Err(source) => {
                return Err(StoreError::Io {
                    action: "read",
                    path,
                    source,
                });
            }
        };
        // Notepad may add a byte-order mark to a hand-edited file.
        let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&text);
        // A newer schema is not "broken": refuse, and leave it alone.
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(text)
            && let Some(found) = v.get("version").and_then(|v| v.as_u64())
            && found > u64::from(SCHEMA_VERSION)
        {
            return Err(StoreError::NewerVersion { path, found });
        }
        let problem = match serde_json::from_slice::<StoreFile>(text) {
            Ok(file) => match check_loaded(&file.profiles) {
                Ok(()) => {
                    return Ok((
                        ProfileStore {
                            root,
                            profiles: file.profiles,
                        },
                        None,
                    ));
                }
                Err(msg) => msg,
            },
            Err(e) => e.to_string(),
        };
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
        let aside = root.join(format!("{FILE_NAME}.broken-{stamp}"));
        fs::rename(&path, &aside).map_err(|source| StoreError::Io {
            action: "set aside the unreadable",
            path: path.clone(),
            source,
        })?;
        let notice = Notice {
            message: format!(
                "The profile file {} could not be read ({problem}). It was kept as {} and exo-connect started with no profiles; fix that file and import it with `exo-connect profile import`.",
                path.display(),
                aside.display()
            ),
            moved_to: aside,
        };
        Ok((
            ProfileStore {
                root,
                profiles: Vec::new(),
            },
            Some(notice),
        ))
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

    /// Save atomically.
    pub fn save(&self) -> Result<()> {
        self.save_with(FailPoint::None)
    }

    #[doc(hidden)]
    pub fn save_with(&self, fail: FailPoint) -> Result<()> {
        let text = to_json(&self.profiles.iter().collect::<Vec<_>>())?;
        write_atomic_with(&self.path(), text.as_bytes(), fail)
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
mod tests {
    use super::*;
    use crate::model::{Cloud, Service};

    fn sample(name: &str) -> Profile {
        let mut p = Profile::new(
            name,
            "admin@contoso.onmicrosoft.com",
            Service::ExchangeOnline,
        );
        p.cloud = Cloud::O365USGovGCCHigh;
        p.tags = vec!["gov".into()];
        p.proxy.user = Some("CORP\\proxyuser".into());
        p
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, n) = ProfileStore::open(dir.path()).unwrap();
        assert!(n.is_none());
        assert!(s.profiles().is_empty());
        s.upsert(sample("a")).unwrap();
        s.upsert(sample("b")).unwrap();
        s.save().unwrap();
        let (s2, n2) = ProfileStore::open(dir.path()).unwrap();
        assert!(n2.is_none());
        assert_eq!(s2.profiles(), s.profiles());
        let text = fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["version"], SCHEMA_VERSION);
        // no temp files left behind
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(FILE_NAME)]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(FILE_NAME))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn interrupted_save_leaves_old_file_intact() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, _) = ProfileStore::open(dir.path()).unwrap();
        s.upsert(sample("old")).unwrap();
        s.save().unwrap();
        let before = fs::read(dir.path().join(FILE_NAME)).unwrap();
        s.upsert(sample("new")).unwrap();
        let err = s.save_with(FailPoint::BeforeRename).unwrap_err();
        assert!(err.to_string().contains("injected"), "{err}");
        assert_eq!(fs::read(dir.path().join(FILE_NAME)).unwrap(), before);
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "temp file removed"
        );
        let (s2, _) = ProfileStore::open(dir.path()).unwrap();
        assert_eq!(s2.profiles().len(), 1);
        assert_eq!(s2.profiles()[0].name, "old");
    }

    #[test]
    fn broken_file_is_set_aside_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let garbage = "{\"version\": 1, \"profiles\": [ {\"name\": oops} ]}";
        fs::write(&path, garbage).unwrap();
        let (mut s, notice) = ProfileStore::open(dir.path()).unwrap();
        let notice = notice.expect("a notice");
        assert!(s.profiles().is_empty());
        assert!(!path.exists());
        assert_eq!(fs::read_to_string(&notice.moved_to).unwrap(), garbage);
        let fname = notice
            .moved_to
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(fname.starts_with("profiles.json.broken-"), "{fname}");
        assert!(
            notice.message.contains("line 1 column"),
            "{}",
            notice.message
        );
        assert!(notice.message.contains(&fname), "{}", notice.message);
        // Saving now writes a fresh file; the broken one stays.
        s.upsert(sample("fresh")).unwrap();
        s.save().unwrap();
        assert_eq!(fs::read_to_string(&notice.moved_to).unwrap(), garbage);
        assert!(path.exists());
    }

    #[test]
    fn duplicate_names_in_file_count_as_broken() {
        let dir = tempfile::tempdir().unwrap();
        let a = sample("same");
        let b = sample("Same");
        fs::write(dir.path().join(FILE_NAME), to_json(&[&a, &b]).unwrap()).unwrap();
        let (_, notice) = ProfileStore::open(dir.path()).unwrap();
        assert!(notice.unwrap().message.contains("share the name"));
    }

    #[test]
    fn byte_order_mark_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let a = sample("bom");
        let text = format!("\u{feff}{}", to_json(&[&a]).unwrap());
        fs::write(dir.path().join(FILE_NAME), text).unwrap();
        let (s, notice) = ProfileStore::open(dir.path()).unwrap();
        assert!(notice.is_none());
        assert_eq!(s.profiles(), &[a]);
    }

    #[test]
    fn newer_version_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        fs::write(&path, "{\"version\": 99, \"profiles\": []}").unwrap();
        let err = ProfileStore::open(dir.path()).unwrap_err();
        assert!(matches!(err, StoreError::NewerVersion { found: 99, .. }));
        assert!(path.exists());
    }

    #[test]
    fn upsert_rejects_invalid_and_duplicate_names() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, _) = ProfileStore::open(dir.path()).unwrap();
        s.upsert(sample("one")).unwrap();
        let err = s.upsert(sample("ONE")).unwrap_err();
        assert!(err.to_string().contains("name"), "{err}");
        let mut bad = sample("two");
        bad.upn = "nope".into();
        let err = s.upsert(bad).unwrap_err();
        assert!(err.to_string().contains("upn"), "{err}");
        // editing the same profile keeps its name legal
        let mut p = s.get_by_name("one").unwrap().clone();
        p.notes = "edited".into();
        s.upsert(p).unwrap();
        assert_eq!(s.profiles().len(), 1);
        assert_eq!(s.remove("One").unwrap().notes, "edited");
        assert!(matches!(s.remove("one"), Err(StoreError::NotFound(_))));
    }

    #[test]
    fn saved_file_holds_no_secret_fields() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, _) = ProfileStore::open(dir.path()).unwrap();
        s.upsert(sample("p")).unwrap();
        s.save().unwrap();
        let text = fs::read_to_string(dir.path().join(FILE_NAME))
            .unwrap()
            .to_lowercase();
        assert!(text.contains("proxyuser"));
        for word in ["password", "secret", "token", "credential"] {
            assert!(!text.contains(word), "{word} in {text}");
        }
    }
}
