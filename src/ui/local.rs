//! A local driver until the engine adapter exists: a thread that owns the profile file and answers
//! the profile commands. Sign-in, sessions and runs answer with a notice that the engine is not
//! wired in yet. No file I/O happens on the UI thread.

use std::path::{Path, PathBuf};
use std::thread;

use crate::model::Profile;

use super::bridge::{self, ChannelBackend, DriverEnd, NoticeLevel, UiCommand, UiEvent};

/// The config root: `$EXO_CONNECT_HOME`, else the platform data dir; `demo` uses its `demo/`
/// sub-folder so the user's real profiles are never touched.
pub fn config_root(demo: bool) -> PathBuf {
    let base = std::env::var_os("EXO_CONNECT_HOME")
        .map(PathBuf::from)
        .or_else(|| {
            directories::ProjectDirs::from("", "", "exo-connect")
                .map(|d| d.data_dir().to_path_buf())
        })
        .unwrap_or_else(|| std::env::temp_dir().join("exo-connect"));
    if demo { base.join("demo") } else { base }
}

/// Start the local driver thread for profiles under `root`; returns the app's end.
pub fn spawn(root: PathBuf) -> ChannelBackend {
    let (ui, driver) = bridge::channel();
    thread::Builder::new()
        .name("exo-connect-profiles".into())
        .spawn(move || run(root, driver))
        .expect("spawn the profile thread");
    ui
}

struct Store {
    file: PathBuf,
    profiles: Vec<Profile>,
}

impl Store {
    fn open(root: &Path) -> Result<Store, String> {
        let file = root.join("profiles.json");
        let profiles = match std::fs::read_to_string(&file) {
            Ok(s) => serde_json::from_str(&s)
                .map_err(|e| format!("{} is not a valid profile file: {e}", file.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(format!("cannot read {}: {e}", file.display())),
        };
        Ok(Store { file, profiles })
    }

    fn save(&self) -> Result<(), String> {
        write_json_atomic(&self.file, &self.profiles)
    }
}

fn write_json_atomic<T: serde::Serialize>(file: &Path, value: &T) -> Result<(), String> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let tmp = file.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, file).map_err(|e| format!("cannot write {}: {e}", file.display()))
}

fn run(root: PathBuf, driver: DriverEnd) {
    let notice = |level, text: String| UiEvent::Notice { level, text };
    let mut store = match Store::open(&root) {
        Ok(s) => s,
        Err(e) => {
            driver.events.send(notice(NoticeLevel::Error, e));
            Store {
                file: root.join("profiles.json"),
                profiles: Vec::new(),
            }
        }
    };
    for cmd in driver.commands.iter() {
        let ev = &driver.events;
        match cmd {
            UiCommand::LoadProfiles => {
                ev.send(UiEvent::ProfilesLoaded(store.profiles.clone()));
            }
            UiCommand::SaveProfile(p) => {
                let mut p = *p;
                p.modified = chrono::Utc::now();
                match store.profiles.iter_mut().find(|x| x.id == p.id) {
                    Some(slot) => *slot = p.clone(),
                    None => store.profiles.push(p.clone()),
                }
                match store.save() {
                    Ok(()) => ev.send(UiEvent::ProfileSaved(Box::new(p))),
                    Err(e) => ev.send(notice(NoticeLevel::Error, e)),
                };
            }
            UiCommand::DeleteProfile { id } => {
                store.profiles.retain(|p| p.id != id);
                match store.save() {
                    Ok(()) => ev.send(UiEvent::ProfileDeleted { id }),
                    Err(e) => ev.send(notice(NoticeLevel::Error, e)),
                };
            }
            UiCommand::ImportProfiles { path } => {
                let read = std::fs::read_to_string(&path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))
                    .and_then(|s| {
                        serde_json::from_str::<Vec<Profile>>(&s)
                            .map_err(|e| format!("{} is not a profile export: {e}", path.display()))
                    });
                match read {
                    Ok(list) => {
                        let n = list.len();
                        for p in list {
                            match store.profiles.iter_mut().find(|x| x.id == p.id) {
                                Some(slot) => *slot = p,
                                None => store.profiles.push(p),
                            }
                        }
                        match store.save() {
                            Ok(()) => {
                                ev.send(UiEvent::ProfilesLoaded(store.profiles.clone()));
                                ev.send(notice(
                                    NoticeLevel::Info,
                                    format!("Imported {n} profiles"),
                                ));
                            }
                            Err(e) => {
                                ev.send(notice(NoticeLevel::Error, e));
                            }
                        }
                    }
                    Err(e) => {
                        ev.send(notice(NoticeLevel::Error, e));
                    }
                }
            }
            UiCommand::ExportProfiles { path, ids } => {
                let list: Vec<&Profile> = store
                    .profiles
                    .iter()
                    .filter(|p| ids.is_empty() || ids.contains(&p.id))
                    .collect();
                let text = match write_json_atomic(&path, &list) {
                    Ok(()) => notice(
                        NoticeLevel::Info,
                        format!("Exported {} profiles to {}", list.len(), path.display()),
                    ),
                    Err(e) => notice(NoticeLevel::Error, e),
                };
                ev.send(text);
            }
            UiCommand::CancelSignIn => {}
            other => {
                let what = match other {
                    UiCommand::SaveProxyPassword { .. } => "Saving the proxy password",
                    UiCommand::Connect { .. } => "Signing in",
                    UiCommand::Run { .. } => "Running cmdlets",
                    _ => "Sessions",
                };
                ev.send(notice(
                    NoticeLevel::Warning,
                    format!("{what} needs the engine, which is not wired into the window yet"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Service;
    use crate::ui::bridge::Backend;
    use std::time::{Duration, Instant};

    fn wait(ui: &mut ChannelBackend, pred: impl Fn(&UiEvent) -> bool) -> UiEvent {
        let start = Instant::now();
        loop {
            if let Some(e) = ui.poll().into_iter().find(|e| pred(e)) {
                return e;
            }
            assert!(start.elapsed() < Duration::from_secs(5), "no answer");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn saves_and_reloads_profiles() {
        let dir = tempfile::tempdir().unwrap();
        let mut ui = spawn(dir.path().to_path_buf());
        let p = Profile::new("Contoso", "admin@contoso.com", Service::ExchangeOnline);
        ui.send(UiCommand::SaveProfile(Box::new(p.clone())));
        wait(&mut ui, |e| matches!(e, UiEvent::ProfileSaved(_)));
        let mut ui2 = spawn(dir.path().to_path_buf());
        ui2.send(UiCommand::LoadProfiles);
        match wait(&mut ui2, |e| matches!(e, UiEvent::ProfilesLoaded(_))) {
            UiEvent::ProfilesLoaded(list) => {
                assert_eq!(list.len(), 1);
                assert_eq!(list[0].id, p.id);
            }
            _ => unreachable!(),
        }
    }

    #[test]
    fn demo_root_is_separate() {
        assert_ne!(config_root(true), config_root(false));
        assert!(config_root(true).ends_with("demo"));
    }
}
