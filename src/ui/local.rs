//! A local driver until the engine adapter exists: a thread that owns the profile file and answers
//! the profile commands. Sign-in, sessions and runs answer with a notice that the engine is not
//! wired in yet. No file I/O happens on the UI thread.

use std::path::PathBuf;
use std::thread;

use crate::model::store::{self, ProfileStore};

use super::bridge::{self, ChannelBackend, DriverEnd, NoticeLevel, UiCommand, UiEvent};

/// The config root: the profile store's default root (`$EXO_CONNECT_HOME` or the OS config
/// dir); `demo` uses its `demo/` sub-folder so the user's real profiles are never touched.
pub fn config_root(demo: bool) -> PathBuf {
    let base = store::default_root().unwrap_or_else(|_| std::env::temp_dir().join("exo-connect"));
    if demo { base.join("demo") } else { base }
}

/// Start the local driver thread for the profile store under `root`; returns the app's end.
pub fn spawn(root: PathBuf) -> ChannelBackend {
    let (ui, driver) = bridge::channel();
    thread::Builder::new()
        .name("exo-connect-profiles".into())
        .spawn(move || run(root, driver))
        .expect("spawn the profile thread");
    ui
}

fn notice(level: NoticeLevel, text: impl Into<String>) -> UiEvent {
    UiEvent::Notice {
        level,
        text: text.into(),
    }
}

fn run(root: PathBuf, driver: DriverEnd) {
    let ev = &driver.events;
    let mut store = match ProfileStore::open(&root) {
        Ok((s, n)) => {
            if let Some(n) = n {
                ev.send(notice(NoticeLevel::Warning, n.message));
            }
            s
        }
        Err(e) => {
            ev.send(notice(
                NoticeLevel::Error,
                format!("{e} — changes will not be saved"),
            ));
            // An empty store in a scratch folder keeps the window usable without touching the file.
            let scratch =
                std::env::temp_dir().join(format!("exo-connect-scratch-{}", std::process::id()));
            match ProfileStore::open(scratch) {
                Ok((s, _)) => s,
                Err(_) => return,
            }
        }
    };
    // Route resolution may block (gsettings, a PAC fetch): one worker thread, in order.
    let routes = {
        let (tx, rx) = std::sync::mpsc::channel::<crate::model::Profile>();
        let ev = ev.clone();
        std::thread::spawn(move || {
            for p in rx.iter() {
                let lines = crate::engine::proxy::route_report(&p);
                ev.send(UiEvent::RouteResolved {
                    profile_id: p.id,
                    lines,
                });
            }
        });
        tx
    };
    for cmd in driver.commands.iter() {
        match cmd {
            UiCommand::ResolveRoute { profile } => {
                let _ = routes.send(*profile);
            }
            UiCommand::LoadProfiles => {
                ev.send(UiEvent::ProfilesLoaded(store.profiles().to_vec()));
            }
            UiCommand::SaveProfile(p) => {
                let id = p.id;
                let before = store.get(id).cloned();
                let res = store.upsert(*p).and_then(|warnings| {
                    store.save()?;
                    Ok(warnings)
                });
                match res {
                    Ok(_) => {
                        if let Some(saved) = store.get(id) {
                            ev.send(UiEvent::ProfileSaved(Box::new(saved.clone())));
                        }
                    }
                    Err(e) => {
                        // Keep memory and file in step: undo the in-memory change.
                        if let Ok((s, _)) = ProfileStore::open(store.root().to_path_buf()) {
                            store = s;
                        } else if let Some(b) = before {
                            let _ = store.upsert(b);
                        }
                        ev.send(notice(NoticeLevel::Error, format!("Not saved: {e}")));
                    }
                }
            }
            UiCommand::DeleteProfile { id } => {
                let Some(name) = store.get(id).map(|p| p.name.clone()) else {
                    ev.send(UiEvent::ProfileDeleted { id });
                    continue;
                };
                match store.remove(&name).and_then(|_| store.save()) {
                    Ok(()) => {
                        ev.send(UiEvent::ProfileDeleted { id });
                        ev.send(notice(NoticeLevel::Info, format!("Deleted profile {name}")));
                    }
                    Err(e) => {
                        ev.send(notice(NoticeLevel::Error, format!("Not deleted: {e}")));
                    }
                }
            }
            UiCommand::ImportProfiles { path } => match store.import_file(&path) {
                Ok(report) => {
                    ev.send(UiEvent::ProfilesLoaded(store.profiles().to_vec()));
                    let mut text = format!("Imported {} profiles", report.imported.len());
                    if !report.rejected.is_empty() {
                        text.push_str(&format!(
                            "; {} rejected: {}",
                            report.rejected.len(),
                            report
                                .rejected
                                .iter()
                                .map(|r| r.to_string())
                                .collect::<Vec<_>>()
                                .join("; ")
                        ));
                    }
                    let level = if report.rejected.is_empty() {
                        NoticeLevel::Info
                    } else {
                        NoticeLevel::Warning
                    };
                    ev.send(notice(level, text));
                }
                Err(e) => {
                    ev.send(notice(NoticeLevel::Error, format!("Import failed: {e}")));
                }
            },
            UiCommand::ExportProfiles { path, ids } => {
                let names: Vec<String> = store
                    .profiles()
                    .iter()
                    .filter(|p| ids.contains(&p.id))
                    .map(|p| p.name.clone())
                    .collect();
                match store.export_file(&path, &names) {
                    Ok(n) => ev.send(notice(
                        NoticeLevel::Info,
                        format!("Exported {n} profiles to {}", path.display()),
                    )),
                    Err(e) => ev.send(notice(NoticeLevel::Error, format!("Export failed: {e}"))),
                };
            }
            UiCommand::CancelSignIn => {}
            UiCommand::TestConnection { profile } => {
                super::doctor::spawn_test_connection(*profile, ev.clone());
            }
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
    use crate::model::{Profile, Service};
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
