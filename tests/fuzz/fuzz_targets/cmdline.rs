//! The cmdlet line (`model::cmdline`): whatever an admin types or a script passes. No panic; a
//! refusal points inside the line; an accepted line starts with a Verb-Noun name and becomes a
//! request whose `ResultSize` check does not panic. Round trip: any text quoted by
//! `model::powershell::quote` comes back as that text.
#![no_main]
use exo_connect::engine::rest::CmdletRequest;
use exo_connect::model::cmdline::parse_cmdlet_line;
use exo_connect::model::powershell::quote;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    match parse_cmdlet_line(s) {
        Ok(line) => {
            assert!(line.cmdlet.contains('-'), "{:?}", line.cmdlet);
            let _ = CmdletRequest::from_line(line).row_cap();
        }
        Err(e) => assert!(e.position <= s.chars().count(), "{e:?}"),
    }
    let q = quote(s);
    if q.starts_with('\'') {
        let line = parse_cmdlet_line(&format!("Get-Thing -Name {q}"))
            .unwrap_or_else(|e| panic!("quoted {q:?} refused: {e}"));
        assert_eq!(line.get("Name"), Some(&Value::String(s.to_string())), "{q:?}");
    }
});
