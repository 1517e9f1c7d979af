//! Profiles from files (`model::store::parse_file`, `model::transfer::{parse_json, parse_csv}`):
//! no panic on any bytes; the store's JSON reads back equal; an export imports back equal; a
//! CSV tenant list written by a CSV writer reads back its fields.

use exo_connect::model::store::{parse_file, to_json};
use exo_connect::model::transfer::{parse_csv, parse_json};
use exo_connect::model::validate::validate;
use exo_connect::model::{Cloud, Profile, ProxyAccessType, Service};
use proptest::prelude::*;

use super::{any_text, config};

fn profile() -> impl Strategy<Value = Profile> {
    (
        (any_text(20), any_text(20), any_text(12), any_text(30)),
        (
            prop::sample::select(Service::ALL.to_vec()),
            prop::sample::select(Cloud::ALL.to_vec()),
            prop::sample::select(ProxyAccessType::ALL.to_vec()),
        ),
        (
            prop::option::of(any_text(16)),
            prop::option::of(any_text(12)),
            prop::collection::vec(any_text(8), 0..3),
            any::<u32>(),
        ),
    )
        .prop_map(
            |((name, upn, folder, notes), (service, cloud, access), (deleg, user, tags, page))| {
                let mut p = Profile::new(name, upn, service);
                p.cloud = cloud;
                p.folder = folder;
                p.notes = notes;
                p.proxy.access_type = access;
                p.proxy.user = user;
                p.delegated_organization = deleg;
                p.tags = tags;
                p.page_size = page;
                p
            },
        )
}

/// Profiles with names unique the way the store compares them (trimmed, case-insensitive).
fn profiles() -> impl Strategy<Value = Vec<Profile>> {
    prop::collection::vec(profile(), 0..5).prop_map(|mut v| {
        for (i, p) in v.iter_mut().enumerate() {
            p.name = format!("{i}-{}", p.name);
        }
        v
    })
}

/// A CSV field the reader gives back unchanged (it trims every field).
fn field() -> impl Strategy<Value = String> {
    "[A-Za-z0-9@.,;\"' _-]{0,12}".prop_map(|s| s.trim().to_string())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_bytes_are_a_store_or_refused(b in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse_file(&b);
    }

    #[test]
    fn any_text_is_an_import_or_refused(s in any_text(200)) {
        if let Ok(c) = parse_json(&s) {
            let ok: Vec<_> = c.into_iter().filter_map(|(_, p)| p.ok()).collect();
            for p in &ok {
                let _ = validate(p, &ok);
            }
        }
        let _ = parse_csv(&s);
    }

    #[test]
    fn a_damaged_store_file_is_refused_not_a_panic(ps in profiles(), cut in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut text = to_json(&ps.iter().collect::<Vec<_>>()).unwrap().into_bytes();
        let i = cut.index(text.len());
        text[i] = byte;
        let _ = parse_file(&text);
        let _ = parse_file(&text[..i]);
    }

    #[test]
    fn the_store_file_reads_back_equal(ps in profiles()) {
        let text = to_json(&ps.iter().collect::<Vec<_>>()).unwrap();
        prop_assert_eq!(parse_file(text.as_bytes()).unwrap(), ps.clone());
        let bom = format!("\u{feff}{text}");
        prop_assert_eq!(parse_file(bom.as_bytes()).unwrap(), ps);
    }

    #[test]
    fn an_export_imports_back_equal(ps in profiles()) {
        let text = to_json(&ps.iter().collect::<Vec<_>>()).unwrap();
        let got: Vec<Profile> = parse_json(&text)
            .unwrap()
            .into_iter()
            .map(|(loc, p)| p.map_err(|e| TestCaseError::fail(format!("{loc}: {e}"))))
            .collect::<Result<_, _>>()?;
        prop_assert_eq!(got, ps);
    }

    #[test]
    fn a_csv_tenant_list_reads_back_its_fields(
        rows in prop::collection::vec(
            (field(), field(), prop::sample::select(Service::ALL.to_vec()),
             prop::sample::select(Cloud::ALL.to_vec()), field()),
            1..6,
        )
    ) {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["name", "upn", "service", "cloud", "delegated_org"]).unwrap();
        let rows: Vec<_> = rows
            .into_iter()
            .map(|(n, u, s, c, d)| (format!("t{n}"), u, s, c, d))
            .collect();
        for (n, u, s, c, d) in &rows {
            w.write_record([n, u, &format!("{s:?}"), c.as_str(), d]).unwrap();
        }
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        let got = parse_csv(&text).unwrap();
        prop_assert_eq!(got.len(), rows.len(), "{}", text);
        for ((loc, p), (n, u, s, c, d)) in got.into_iter().zip(&rows) {
            let p = p.map_err(|e| TestCaseError::fail(format!("{loc}: {e}")))?;
            prop_assert_eq!(&p.name, n);
            prop_assert_eq!(&p.upn, u);
            prop_assert_eq!(p.service, *s);
            prop_assert_eq!(p.cloud, *c);
            prop_assert_eq!(p.delegated_organization.as_deref(), (!d.is_empty()).then_some(d.as_str()));
            let folder = if d.is_empty() {
                u.split_once('@').map(|(_, dom)| dom).unwrap_or("")
            } else {
                d
            };
            prop_assert_eq!(&p.folder, folder);
        }
    }
}
