//! Proxy settings read from the system: `reg query` output and the WinHTTP blob
//! (`engine::proxy::{wininet, winhttp}`), gsettings / kioslaverc (`desktop`), `scutil --proxy`
//! (`macos`) and PAC results (`pac::parse_result`). No panic on any input; each format written
//! the way the OS writes it reads back what was put in.

use std::collections::HashMap;

use exo_connect::engine::proxy::desktop::{parse_gsettings, parse_kioslaverc};
use exo_connect::engine::proxy::macos::parse_scutil;
use exo_connect::engine::proxy::pac::{PacEntry, parse_result};
use exo_connect::engine::proxy::winhttp::parse_blob;
use exo_connect::engine::proxy::wininet::{
    RegValue, WinInetSettings, override_matches, parse_reg_query, proxy_server_for,
};
use exo_connect::engine::proxy::{SystemProxy, bypass_matches};
use proptest::prelude::*;

use super::{any_text, config, tricky_text};

fn host() -> impl Strategy<Value = String> {
    // Labels start with a letter: the URL parser reads an all-digit name as an IPv4 address.
    "[a-z][a-z0-9]{0,7}(\\.[a-z][a-z0-9]{0,7}){0,3}"
}

fn reg_value() -> impl Strategy<Value = RegValue> {
    prop_oneof![
        any::<u32>().prop_map(RegValue::Dword),
        "[^\n]{0,30}".prop_map(|s| RegValue::Sz(s.trim_end().to_string())),
        prop::collection::vec(any::<u8>(), 0..12).prop_map(RegValue::Binary),
    ]
}

fn reg_line(name: &str, v: &RegValue) -> String {
    let (ty, data) = match v {
        RegValue::Dword(n) => ("REG_DWORD", format!("0x{n:x}")),
        RegValue::Sz(s) => ("REG_SZ", s.clone()),
        RegValue::Binary(b) => ("REG_BINARY", b.iter().map(|x| format!("{x:02X}")).collect()),
    };
    format!("    {name}    {ty}    {data}\r\n")
}

fn blob(version: u32, flags: u32, strings: &[&str]) -> Vec<u8> {
    let mut b = Vec::new();
    for n in [version, 7, flags] {
        b.extend(n.to_le_bytes());
    }
    for s in strings {
        b.extend((s.len() as u32).to_le_bytes());
        b.extend(s.as_bytes());
    }
    b
}

fn nonempty(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_settings_text_is_read_without_panic(s in any_text(300), target in prop_oneof![host(), tricky_text(20)]) {
        let reg = WinInetSettings::from_values(&parse_reg_query(&s));
        for v in [&reg.proxy_server, &reg.proxy_override].into_iter().flatten() {
            let _ = proxy_server_for(v, "https");
            let _ = override_matches(v, &target);
        }
        for p in [parse_gsettings(&s), parse_kioslaverc(&s), parse_scutil(&s)].into_iter().flatten() {
            if let SystemProxy::Manual { bypass, .. } = p {
                let _ = bypass_matches(&bypass, &target, Some(443));
            }
        }
        prop_assert!(!parse_result(&s).is_empty());
        let _ = bypass_matches(std::slice::from_ref(&s), &target, None);
    }

    #[test]
    fn any_blob_is_read_or_refused(b in prop::collection::vec(any::<u8>(), 0..120)) {
        let _ = parse_blob(&b);
    }

    #[test]
    fn reg_query_output_reads_back(values in prop::collection::btree_map("[A-Za-z][A-Za-z0-9_]{0,10}( [A-Za-z0-9_]{1,5})?", reg_value(), 0..6)) {
        let mut out = String::from("\r\nHKEY_CURRENT_USER\\Software\\X\r\n");
        for (k, v) in &values {
            out.push_str(&reg_line(k, v));
        }
        let want: HashMap<String, RegValue> = values.into_iter().collect();
        prop_assert_eq!(parse_reg_query(&out), want, "{}", out);
    }

    #[test]
    fn per_scheme_proxy_servers_read_back(https in host(), http in host(), port in 1u16..) {
        let v = format!("http={http}:{port};https={https}:{port};ftp=f:21");
        prop_assert_eq!(proxy_server_for(&v, "https"), Some(format!("{https}:{port}")));
        prop_assert_eq!(proxy_server_for(&v, "HTTP"), Some(format!("{http}:{port}")));
        prop_assert_eq!(proxy_server_for(&format!("{https}:{port}"), "http"), Some(format!("{https}:{port}")));
    }

    #[test]
    fn winhttp_blobs_read_back(
        version in prop::sample::select(vec![0x18u32, 0x28, 0x3c, 0x46]),
        flags in any::<u32>(),
        server in "[ -~]{0,30}", bypass in "[ -~]{0,30}", acu in prop::option::of("[ -~]{0,30}"),
    ) {
        let mut strings = vec![server.as_str(), bypass.as_str()];
        strings.extend(acu.as_deref());
        let s = parse_blob(&blob(version, flags, &strings)).unwrap();
        prop_assert_eq!(s.flags, flags);
        prop_assert_eq!(s.proxy_server, nonempty(&server));
        prop_assert_eq!(s.bypass, nonempty(&bypass));
        prop_assert_eq!(s.auto_config_url, acu.as_deref().and_then(nonempty));
    }

    #[test]
    fn manual_desktop_settings_read_back(
        https in host(), http in host(), sport in 1u16.., hport in 1u16..,
        bypass in prop::collection::vec("[a-z0-9.*]{1,10}", 0..4),
    ) {
        let want = Some(SystemProxy::Manual {
            https: Some(format!("http://{https}:{sport}")),
            http: Some(format!("http://{http}:{hport}")),
            bypass: bypass.clone(),
        });
        let list = bypass.iter().map(|b| format!("'{b}'")).collect::<Vec<_>>().join(", ");
        let gs = format!(
            "org.gnome.system.proxy ignore-hosts [{list}]\norg.gnome.system.proxy mode 'manual'\n\
             org.gnome.system.proxy.http host '{http}'\norg.gnome.system.proxy.http port {hport}\n\
             org.gnome.system.proxy.https host '{https}'\norg.gnome.system.proxy.https port {sport}\n"
        );
        prop_assert_eq!(parse_gsettings(&gs), want.clone(), "{}", gs);
        let kde = format!(
            "[Proxy Settings]\nNoProxyFor={}\nProxyType=1\nhttpProxy=http://{http} {hport}\nhttpsProxy=http://{https}:{sport}\n",
            bypass.join(",")
        );
        prop_assert_eq!(parse_kioslaverc(&kde), want.clone(), "{}", kde);
        let mut mac = String::from("<dictionary> {\n  ExceptionsList : <array> {\n");
        for (i, b) in bypass.iter().enumerate() {
            mac.push_str(&format!("    {i} : {b}\n"));
        }
        mac.push_str(&format!(
            "  }}\n  HTTPEnable : 1\n  HTTPPort : {hport}\n  HTTPProxy : {http}\n  HTTPSEnable : 1\n  HTTPSPort : {sport}\n  HTTPSProxy : {https}\n}}\n"
        ));
        prop_assert_eq!(parse_scutil(&mac), want, "{}", mac);
    }

    #[test]
    fn pac_results_read_back(entries in prop::collection::vec((0u8..4, host(), 1u16..), 0..5)) {
        let mut text = Vec::new();
        let mut want = Vec::new();
        for (kind, h, port) in entries {
            let hp = format!("{h}:{port}");
            match kind {
                0 => { text.push("DIRECT".to_string()); want.push(PacEntry::Direct) }
                1 => { text.push(format!("PROXY {hp}")); want.push(PacEntry::Proxy(hp)) }
                2 => { text.push(format!("HTTPS {hp}")); want.push(PacEntry::Https(hp)) }
                _ => { text.push(format!("SOCKS5 {hp}")); want.push(PacEntry::Socks(hp)) }
            }
        }
        if want.is_empty() {
            want.push(PacEntry::Direct);
        }
        prop_assert_eq!(parse_result(&text.join("; ")), want);
    }
}
