//! Tests of the profile store: round trips, atomic saves, broken files, merges, locking.
use std::path::Path;

use super::*;
use crate::model::{Cloud, Service};

/// The folder's files but the store's lock file, sorted.
fn files_in(dir: &Path) -> Vec<String> {
    let lock = file::lock_path(dir);
    let mut names: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| *p != lock)
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

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
    // no temp files left behind (the lock file stays: removing it would race)
    assert_eq!(files_in(dir.path()), vec![FILE_NAME.to_string()]);
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
        files_in(dir.path()),
        vec![FILE_NAME.to_string()],
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

fn add_and_save(root: &Path, name: &str) {
    let (mut s, _) = ProfileStore::open(root).unwrap();
    s.upsert(sample(name)).unwrap();
    s.save().unwrap();
}

#[test]
fn two_stores_saving_at_once_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let threads: Vec<_> = ["p", "q"]
        .into_iter()
        .map(|prefix| {
            let root = root.clone();
            std::thread::spawn(move || {
                for i in 0..30 {
                    add_and_save(&root, &format!("{prefix}{i}"));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let (s, n) = ProfileStore::open(&root).unwrap();
    assert!(n.is_none());
    assert_eq!(s.profiles().len(), 60);
}

#[test]
fn a_long_lived_store_keeps_what_others_saved() {
    let dir = tempfile::tempdir().unwrap();
    let (mut window, _) = ProfileStore::open(dir.path()).unwrap();
    window.upsert(sample("mine")).unwrap();
    window.save().unwrap();
    add_and_save(dir.path(), "from-cli");
    // The window saves an edit without having reloaded: the CLI's profile survives.
    let mut mine = window.get_by_name("mine").unwrap().clone();
    mine.notes = "edited".into();
    window.upsert(mine).unwrap();
    window.save().unwrap();
    let names: Vec<_> = window.profiles().iter().map(|p| p.name.clone()).collect();
    assert_eq!(names, ["mine", "from-cli"]);
    let (fresh, _) = ProfileStore::open(dir.path()).unwrap();
    assert_eq!(fresh.profiles(), window.profiles());
    // Removing in the window removes only that one.
    window.remove("mine").unwrap();
    window.save().unwrap();
    let (fresh, _) = ProfileStore::open(dir.path()).unwrap();
    assert_eq!(fresh.profiles().len(), 1);
    assert_eq!(fresh.profiles()[0].name, "from-cli");
}

#[test]
fn reload_sees_outside_changes_and_keeps_unsaved_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (mut window, _) = ProfileStore::open(dir.path()).unwrap();
    assert!(!window.reload_if_changed().unwrap());
    add_and_save(dir.path(), "from-cli");
    window.upsert(sample("unsaved")).unwrap();
    assert!(window.reload_if_changed().unwrap());
    let names: Vec<_> = window.profiles().iter().map(|p| p.name.clone()).collect();
    assert_eq!(names, ["from-cli", "unsaved"]);
    assert!(!window.reload_if_changed().unwrap());
}

#[test]
fn the_same_new_name_from_two_processes_is_renamed_and_told() {
    let dir = tempfile::tempdir().unwrap();
    let (mut window, _) = ProfileStore::open(dir.path()).unwrap();
    add_and_save(dir.path(), "contoso");
    window.upsert(sample("Contoso")).unwrap();
    window.save().unwrap();
    let names: Vec<_> = window.profiles().iter().map(|p| p.name.clone()).collect();
    assert_eq!(names, ["contoso", "Contoso (2)"]);
    let notices = window.take_notices();
    assert_eq!(notices.len(), 1);
    assert!(notices[0].message.contains("'Contoso (2)'"), "{notices:?}");
    let (fresh, n) = ProfileStore::open(dir.path()).unwrap();
    assert!(n.is_none(), "the merged file is valid");
    assert_eq!(fresh.profiles().len(), 2);
}

#[test]
fn stale_temp_files_are_removed_on_open() {
    let dir = tempfile::tempdir().unwrap();
    add_and_save(dir.path(), "a");
    for i in 0..3 {
        fs::write(dir.path().join(format!(".profiles.json.tmp-{i}")), "{").unwrap();
    }
    let (s, _) = ProfileStore::open(dir.path()).unwrap();
    assert_eq!(s.profiles().len(), 1);
    let left: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_held_lock_makes_a_save_wait_then_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let _held = file::lock(dir.path()).unwrap();
    let err = file::lock_within(dir.path(), std::time::Duration::from_millis(100)).unwrap_err();
    assert!(matches!(err, StoreError::Busy { .. }), "{err}");
    assert!(err.to_string().contains("try again"), "{err}");
}

#[test]
fn only_regular_files_of_bounded_size_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    // a folder where the file should be
    fs::create_dir(&path).unwrap();
    let err = ProfileStore::open(dir.path()).unwrap_err();
    assert!(err.to_string().contains("a folder"), "{err}");
    fs::remove_dir(&path).unwrap();
    // too large (sparse: no disk used)
    let f = fs::File::create(&path).unwrap();
    f.set_len(MAX_FILE_BYTES + 1).unwrap();
    let err = ProfileStore::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::TooLarge { .. }), "{err}");
    fs::remove_file(&path).unwrap();
    #[cfg(unix)]
    {
        // a symlink to an endless device, and a FIFO nobody writes to: refused, not read
        std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
        let err = ProfileStore::open(dir.path()).unwrap_err();
        assert!(err.to_string().contains("a device"), "{err}");
        fs::remove_file(&path).unwrap();
        let made = std::process::Command::new("mkfifo").arg(&path).status();
        if made.is_ok_and(|s| s.success()) {
            let err = ProfileStore::open(dir.path()).unwrap_err();
            assert!(err.to_string().contains("FIFO"), "{err}");
        }
    }
}

#[test]
fn a_file_another_process_set_aside_first_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let n = set_aside(dir.path(), "broken").unwrap();
    assert!(n.message.contains("another exo-connect"), "{}", n.message);
}
