//! Import / export: JSON with duplicates and invalid entries, CSV tenant lists, no half-written store.

use std::fs;

use exo_connect::model::store::{FILE_NAME, ProfileStore, StoreError};
use exo_connect::model::{Cloud, Profile, Service};
use serde_json::json;

fn store() -> (tempfile::TempDir, ProfileStore) {
    let dir = tempfile::tempdir().unwrap();
    let (s, n) = ProfileStore::open(dir.path()).unwrap();
    assert!(n.is_none());
    (dir, s)
}

fn saved_names(dir: &tempfile::TempDir) -> Vec<String> {
    let (s, _) = ProfileStore::open(dir.path()).unwrap();
    s.profiles().iter().map(|p| p.name.clone()).collect()
}

#[test]
fn export_then_import_round_trip_renames_duplicates_and_new_ids() {
    let (dir, mut s) = store();
    let mut a = Profile::new("Contoso", "admin@contoso.com", Service::ExchangeOnline);
    a.cloud = Cloud::O365USGovGCCHigh;
    a.proxy.user = Some("proxyuser".into());
    s.upsert(a.clone()).unwrap();
    s.upsert(Profile::new(
        "Fabrikam",
        "admin@fabrikam.com",
        Service::SecurityCompliance,
    ))
    .unwrap();
    s.save().unwrap();

    let out = dir.path().join("export.json");
    assert_eq!(s.export_file(&out, &["contoso".to_string()]).unwrap(), 1);
    let text = fs::read_to_string(&out).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["profiles"].as_array().unwrap().len(), 1);
    assert!(!text.to_lowercase().contains("password"));

    // Importing the same export again: the name is taken and the id collides.
    let r = s.import_file(&out).unwrap();
    assert_eq!(r.imported, vec!["Contoso (2)"]);
    assert_eq!(
        r.renamed,
        vec![("Contoso".to_string(), "Contoso (2)".to_string())]
    );
    assert_eq!(r.new_ids, 1);
    assert!(r.rejected.is_empty());
    let r = s.import_file(&out).unwrap();
    assert_eq!(r.imported, vec!["Contoso (3)"]);
    let names = saved_names(&dir);
    assert_eq!(names, ["Contoso", "Fabrikam", "Contoso (2)", "Contoso (3)"]);
    let (s2, _) = ProfileStore::open(dir.path()).unwrap();
    let copy = s2.get_by_name("Contoso (2)").unwrap();
    assert_ne!(copy.id, a.id);
    assert_eq!(copy.cloud, Cloud::O365USGovGCCHigh);

    let both = dir.path().join("both.json");
    let n = s
        .export_file(
            &both,
            &["Fabrikam".into(), "fabrikam".into(), "Contoso (3)".into()],
        )
        .unwrap();
    assert_eq!(n, 2, "a name given twice is exported once");
    assert!(matches!(
        s.export_json(&["nobody".to_string()]),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn import_reports_each_rejected_entry_and_keeps_the_good_ones() {
    let (dir, mut s) = store();
    let text = json!({
        "version": 1,
        "profiles": [
            {"name": "Good", "upn": "a@contoso.com", "service": "ExchangeOnline", "cloud": "O365Default"},
            {"name": "BadUpn", "upn": "not-a-upn", "service": "ExchangeOnline", "cloud": "O365Default"},
            {"name": "BadService", "upn": "a@contoso.com", "service": "Lync", "cloud": "O365Default"},
            "just a string",
            {"name": "BadPage", "upn": "a@contoso.com", "service": "Protection", "cloud": "O365Default", "page_size": 0},
            {"name": "good", "upn": "b@contoso.com", "service": "SecurityCompliance", "cloud": "O365China"}
        ]
    })
    .to_string();
    let r = s.import_json(&text).unwrap();
    assert_eq!(r.imported, vec!["Good", "good (2)"]);
    let rej: Vec<String> = r.rejected.iter().map(ToString::to_string).collect();
    assert_eq!(rej.len(), 4, "{rej:?}");
    assert!(rej[0].starts_with("entry 2 ('BadUpn'): upn:"), "{rej:?}");
    assert!(
        rej[1].starts_with("entry 3") && rej[1].contains("Lync"),
        "{rej:?}"
    );
    assert!(rej[2].starts_with("entry 4"), "{rej:?}");
    assert!(
        rej[3].starts_with("entry 5 ('BadPage'): page_size:"),
        "{rej:?}"
    );
    assert_eq!(saved_names(&dir), ["Good", "good (2)"]);
}

#[test]
fn import_of_an_unparsable_file_changes_nothing() {
    let (dir, mut s) = store();
    s.upsert(Profile::new(
        "Keep",
        "a@contoso.com",
        Service::ExchangeOnline,
    ))
    .unwrap();
    s.save().unwrap();
    let before = fs::read(dir.path().join(FILE_NAME)).unwrap();
    for bad in [
        "{not json",
        "42",
        "{\"version\":1}",
        "{\"version\":7,\"profiles\":[]}",
    ] {
        let err = s.import_json(bad).unwrap_err();
        assert!(matches!(err, StoreError::Format(_)), "{bad}: {err}");
    }
    // Nothing valid: nothing written either.
    let r = s.import_json("[{\"name\":\"\"}]").unwrap();
    assert!(r.imported.is_empty());
    assert_eq!(r.rejected.len(), 1);
    assert_eq!(fs::read(dir.path().join(FILE_NAME)).unwrap(), before);
    assert_eq!(s.profiles().len(), 1);
}

#[test]
fn failed_import_save_restores_memory() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("home");
    let (mut s, _) = ProfileStore::open(&root).unwrap();
    // The folder cannot be created: a file sits where it should be.
    fs::write(&root, "x").unwrap();
    let text = json!([{"name": "A", "upn": "a@contoso.com", "service": "ExchangeOnline", "cloud": "O365Default"}]).to_string();
    let err = s.import_json(&text).unwrap_err();
    assert!(matches!(err, StoreError::Io { .. }), "{err}");
    assert!(s.profiles().is_empty());
    assert_eq!(fs::read_to_string(&root).unwrap(), "x");
}

#[test]
fn csv_import_with_line_numbers_and_folders() {
    let (dir, mut s) = store();
    let csv = "\
name,upn,service,cloud,delegated_org
Fabrikam EXO,partner@contoso.com,exo,O365Default,fabrikam.onmicrosoft.com
Fabrikam SCC,partner@contoso.com,SecurityCompliance,o365default,fabrikam.onmicrosoft.com
Gov,admin@agency.us,EOP,o365usgovgcchigh,
Bad service,admin@contoso.com,teams,O365Default,
,admin@contoso.com,exo,,
Bad upn,admin,exo,,
Bad deleg,admin@contoso.com,scc,gcchigh,not a domain
Bad cloud,admin@contoso.com,scc,mars,
Defaults,admin@tailspin.com,,,
";
    let r = s.import_csv(csv).unwrap();
    assert_eq!(
        r.imported,
        ["Fabrikam EXO", "Fabrikam SCC", "Gov", "Defaults"]
    );
    let rej: Vec<(String, String)> = r
        .rejected
        .iter()
        .map(|x| (x.location.clone(), x.reason.clone()))
        .collect();
    let lines: Vec<&str> = rej.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        lines,
        ["line 5", "line 6", "line 7", "line 8", "line 9"],
        "{rej:?}"
    );
    assert!(rej[0].1.starts_with("service:"), "{rej:?}");
    assert!(rej[1].1.starts_with("name:"), "{rej:?}");
    assert!(rej[2].1.starts_with("upn:"), "{rej:?}");
    assert!(rej[3].1.starts_with("delegated_organization:"), "{rej:?}");
    assert!(rej[4].1.starts_with("cloud:"), "{rej:?}");

    let (s2, _) = ProfileStore::open(dir.path()).unwrap();
    let f = s2.get_by_name("Fabrikam SCC").unwrap();
    assert_eq!(f.service, Service::SecurityCompliance);
    assert_eq!(f.folder, "fabrikam.onmicrosoft.com");
    assert_eq!(
        f.delegated_organization.as_deref(),
        Some("fabrikam.onmicrosoft.com")
    );
    let g = s2.get_by_name("Gov").unwrap();
    assert_eq!(
        (g.service, g.cloud),
        (Service::Protection, Cloud::O365USGovGCCHigh)
    );
    assert_eq!(g.folder, "agency.us");
    assert_eq!(g.delegated_organization, None);
    let d = s2.get_by_name("Defaults").unwrap();
    assert_eq!(
        (d.service, d.cloud),
        (Service::ExchangeOnline, Cloud::O365Default)
    );
}

#[test]
fn csv_needs_a_header_with_name_and_upn() {
    let (_dir, mut s) = store();
    let err = s.import_csv("tenant,user\nx,y\n").unwrap_err();
    assert!(err.to_string().contains("name,upn"), "{err}");
}

#[test]
fn csv_columns_in_any_order_and_duplicates_renamed() {
    let (_dir, mut s) = store();
    let csv = "UPN,Name\nadmin@a.com,Tenant\nadmin@b.com,tenant\n";
    let r = s.import_csv(csv).unwrap();
    assert_eq!(r.imported, ["Tenant", "tenant (2)"]);
}

#[test]
fn csv_from_excel_with_bom_and_semicolons() {
    let (_dir, mut s) = store();
    let csv = "\u{feff}Name;UPN;Service;Cloud;Delegated_Org\r\nFab;partner@contoso.com;SCC;;fabrikam.onmicrosoft.com\r\n";
    let r = s.import_csv(csv).unwrap();
    assert_eq!(r.imported, ["Fab"], "{:?}", r.rejected);
    let p = s.get_by_name("Fab").unwrap();
    assert_eq!(p.service, Service::SecurityCompliance);
    assert_eq!(p.folder, "fabrikam.onmicrosoft.com");
}
