//! `exo-connect profile ...` through the real binary in a temp `EXO_CONNECT_HOME`.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn cli(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_exo-connect"));
    c.env("EXO_CONNECT_HOME", home).env_remove("RUST_LOG");
    c
}

fn run(home: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    cli(home).args(args).assert()
}

fn stdout(home: &Path, args: &[&str]) -> String {
    let out = run(home, args).success().get_output().stdout.clone();
    String::from_utf8(out).unwrap()
}

fn store_text(home: &Path) -> String {
    fs::read_to_string(home.join("profiles.json")).unwrap()
}

#[test]
fn add_list_show_edit_remove() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    run(
        h,
        &[
            "profile",
            "add",
            "--name",
            "Contoso EXO",
            "--upn",
            "admin@contoso.com",
            "--service",
            "ExchangeOnline",
            "--folder",
            "Contoso",
            "--tag",
            "prod",
            "--tag",
            "eu",
            "--color",
            "#1f6feb",
        ],
    )
    .success()
    .stdout(predicate::str::contains("Added profile 'Contoso EXO'"));
    run(
        h,
        &[
            "profile",
            "add",
            "--name",
            "Contoso SCC",
            "--upn",
            "admin@contoso.com",
            "--service",
            "scc",
            "--folder",
            "Contoso",
        ],
    )
    .success();

    let list = stdout(h, &["profile", "list"]);
    assert!(list.starts_with("NAME"), "{list}");
    assert!(
        list.contains("Contoso EXO") && list.contains("SCC"),
        "{list}"
    );
    let json: Value =
        serde_json::from_str(&stdout(h, &["profile", "list", "--format", "json"])).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);

    let show: Value = serde_json::from_str(&stdout(
        h,
        &["profile", "show", "contoso exo", "--format", "json"],
    ))
    .unwrap();
    assert_eq!(show["tags"], serde_json::json!(["prod", "eu"]));
    assert_eq!(show["color"], "#1f6feb");
    let text = stdout(h, &["profile", "show", "Contoso SCC"]);
    assert!(
        text.contains(
            "token scope:          https://ps.compliance.protection.outlook.com/.default"
        ),
        "{text}"
    );

    // edit: rename, change cloud and proxy, then clear
    run(
        h,
        &[
            "profile",
            "edit",
            "Contoso EXO",
            "--name",
            "Contoso Gov",
            "--cloud",
            "o365usgovgcchigh",
            "--proxy",
            "autodetect",
            "--proxy-auth",
            "digest",
            "--delegated-org",
            "fabrikam.onmicrosoft.com",
            "--page-size",
            "250",
        ],
    )
    .success();
    let p: Value = serde_json::from_str(&stdout(
        h,
        &["profile", "show", "Contoso Gov", "--format", "json"],
    ))
    .unwrap();
    assert_eq!(p["cloud"], "O365USGovGCCHigh");
    assert_eq!(p["proxy"]["access_type"], "AutoDetect");
    assert_eq!(p["proxy"]["authentication"], "Digest");
    assert_eq!(p["page_size"], 250);
    assert_eq!(p["id"], show["id"], "edit keeps the id");
    run(
        h,
        &[
            "profile",
            "edit",
            "Contoso Gov",
            "--clear",
            "delegated-org",
            "--clear",
            "proxy",
            "--clear",
            "tags",
            "--color",
            "",
        ],
    )
    .success();
    let p: Value = serde_json::from_str(&stdout(
        h,
        &["profile", "show", "Contoso Gov", "--format", "json"],
    ))
    .unwrap();
    assert_eq!(p["delegated_organization"], Value::Null);
    assert_eq!(p["proxy"]["access_type"], "None");
    assert_eq!(p["tags"], serde_json::json!([]));
    assert_eq!(p["color"], Value::Null);

    // rename onto an existing name is refused
    run(
        h,
        &["profile", "edit", "Contoso Gov", "--name", "contoso scc"],
    )
    .code(2)
    .stderr(predicate::str::contains("name"));

    run(h, &["profile", "remove", "Contoso Gov"]).success();
    run(h, &["profile", "remove", "Contoso Gov"])
        .code(2)
        .stderr(predicate::str::contains("no profile named 'Contoso Gov'"));
    let list = stdout(h, &["profile", "list"]);
    assert!(
        !list.contains("Contoso Gov") && list.contains("Contoso SCC"),
        "{list}"
    );
}

#[test]
fn ps_for_each_cloud_and_service() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let clouds = [
        "O365Default",
        "o365usgovgcchigh",
        "O365USGovDoD",
        "o365china",
        "O365GermanyCloud",
    ];
    let services = [
        ("exo", "Connect-ExchangeOnline"),
        ("eop", "Connect-IPPSSession"),
        ("scc", "Connect-IPPSSession"),
    ];
    for cloud in clouds {
        for (service, cmd) in services {
            let name = format!("{cloud}-{service}");
            run(
                h,
                &[
                    "profile",
                    "add",
                    "--name",
                    &name,
                    "--upn",
                    "admin@contoso.com",
                    "--service",
                    service,
                    "--cloud",
                    cloud,
                    "--auth",
                    "browser",
                ],
            )
            .success();
            let out = stdout(h, &["profile", "ps", &name]);
            let line = out.trim_end();
            assert!(
                line.starts_with(&format!("{cmd} -UserPrincipalName admin@contoso.com")),
                "{line}"
            );
            let default = cloud == "O365Default";
            match service {
                "exo" if default => assert!(!line.contains(" -ExchangeEnvironmentName"), "{line}"),
                "exo" => assert!(
                    line.to_lowercase().contains(&format!(
                        "-exchangeenvironmentname {}",
                        cloud.to_lowercase()
                    )),
                    "{line}"
                ),
                "eop" => assert!(line.contains(" -ConnectionUri https://"), "{line}"),
                _ if default => assert_eq!(
                    line,
                    "Connect-IPPSSession -UserPrincipalName admin@contoso.com"
                ),
                _ => assert!(
                    line.contains("-ConnectionUri https://")
                        && line.contains("compliance")
                        && line.contains("-AzureADAuthorizationEndpointUri https://login."),
                    "{line}"
                ),
            }
            let legacy = stdout(h, &["profile", "ps", &name, "--legacy"]);
            assert!(
                legacy.contains(
                    "New-PSSession -ConfigurationName Microsoft.Exchange -ConnectionUri https://"
                ),
                "{legacy}"
            );
            assert!(legacy.contains("Remove-PSSession $Session"), "{legacy}");
        }
    }
    // Spot checks against the reference page.
    assert_eq!(
        stdout(h, &["profile", "ps", "O365Default-eop"]).trim_end(),
        "Connect-IPPSSession -UserPrincipalName admin@contoso.com -ConnectionUri https://ps.protection.outlook.com/powershell-liveid/"
    );
    assert_eq!(
        stdout(h, &["profile", "ps", "O365USGovDoD-scc"]).trim_end(),
        "Connect-IPPSSession -UserPrincipalName admin@contoso.com -ConnectionUri https://l5.ps.compliance.protection.office365.us/powershell-liveid/ -AzureADAuthorizationEndpointUri https://login.microsoftonline.us/common"
    );
    // Germany is accepted with a warning.
    run(
        h,
        &[
            "profile", "add", "--name", "de", "--upn", "a@b.de", "--cloud", "germany",
        ],
    )
    .success()
    .stderr(predicate::str::contains("retired"));
}

#[test]
fn ps_with_proxy_certificate_and_quoting() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    run(
        h,
        &[
            "profile",
            "add",
            "--name",
            "proxy",
            "--upn",
            "o'neil@contoso.com",
            "--proxy",
            "IEConfig",
            "--proxy-auth",
            "Basic",
            "--proxy-user",
            "CORP\\bob",
            "--delegated-org",
            "fabrikam.onmicrosoft.com",
        ],
    )
    .success();
    assert_eq!(
        stdout(h, &["profile", "ps", "proxy"]),
        "$ProxyOptions = New-PSSessionOption -ProxyAccessType IEConfig -ProxyAuthentication Basic -ProxyCredential (Get-Credential 'CORP\\bob')\n\
         Connect-ExchangeOnline -UserPrincipalName 'o''neil@contoso.com' -DelegatedOrganization fabrikam.onmicrosoft.com -Device -PSSessionOption $ProxyOptions\n"
    );
    run(
        h,
        &[
            "profile",
            "add",
            "--name",
            "app",
            "--service",
            "scc",
            "--auth",
            "certificate",
            "--app-id",
            "2c1b7f2e-8a1e-4a63-9d2a-3f1f3c1b2a10",
            "--certificate",
            "/certs/my app.pfx",
            "--organization",
            "contoso.onmicrosoft.com",
        ],
    )
    .success();
    assert_eq!(
        stdout(h, &["profile", "ps", "app"]).trim_end(),
        "Connect-IPPSSession -AppId 2c1b7f2e-8a1e-4a63-9d2a-3f1f3c1b2a10 -CertificateFilePath '/certs/my app.pfx' -Organization contoso.onmicrosoft.com"
    );
    // switch the certificate to a thumbprint on edit
    run(
        h,
        &[
            "profile",
            "edit",
            "app",
            "--thumbprint",
            "0123456789abcdef0123456789abcdef01234567",
        ],
    )
    .success();
    assert!(
        stdout(h, &["profile", "ps", "app"]).contains(
            "-CertificateThumbprint 0123456789abcdef0123456789abcdef01234567 -Organization"
        )
    );
}

#[test]
fn every_bad_input_exits_2_and_names_the_field() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    run(
        h,
        &[
            "profile",
            "add",
            "--name",
            "taken",
            "--upn",
            "a@contoso.com",
        ],
    )
    .success();
    let before = store_text(h);
    let base = ["profile", "add", "--name", "new", "--upn", "a@contoso.com"];
    let cases: &[(&[&str], &str)] = &[
        (
            &["profile", "add", "--name", "", "--upn", "a@contoso.com"],
            "name",
        ),
        (
            &[
                "profile",
                "add",
                "--name",
                "TAKEN",
                "--upn",
                "a@contoso.com",
            ],
            "name",
        ),
        (
            &["profile", "add", "--name", "x", "--upn", "not-a-upn"],
            "upn",
        ),
        (&["profile", "add", "--name", "x"], "upn"),
        (&["--service", "teams"], "service"),
        (&["--cloud", "mars"], "cloud"),
        (&["--proxy", "socks"], "proxy"),
        (&["--proxy-auth", "ntlm"], "proxy authentication"),
        (&["--auth", "sms"], "auth"),
        (
            &[
                "--connection-uri",
                "http://outlook.office365.com/powershell-liveid/",
            ],
            "connection_uri",
        ),
        (&["--connection-uri", "not a url"], "connection_uri"),
        (
            &[
                "--authorization-endpoint",
                "http://login.microsoftonline.com/x",
            ],
            "authorization_endpoint",
        ),
        (&["--cloud", "custom"], "connection_uri"),
        (&["--tenant", "contoso"], "tenant"),
        (&["--delegated-org", "fab rikam"], "delegated_organization"),
        (&["--page-size", "0"], "page_size"),
        (&["--page-size", "1001"], "page_size"),
        (&["--page-size", "many"], "page_size"),
        (&["--color", "blue"], "color"),
        (
            &["--app-id", "2c1b7f2e-8a1e-4a63-9d2a-3f1f3c1b2a10"],
            "--auth certificate",
        ),
        (
            &[
                "--auth",
                "certificate",
                "--app-id",
                "nope",
                "--thumbprint",
                "0123456789abcdef0123456789abcdef01234567",
                "--organization",
                "contoso.onmicrosoft.com",
            ],
            "auth.app_id",
        ),
        (
            &[
                "--auth",
                "certificate",
                "--app-id",
                "2c1b7f2e-8a1e-4a63-9d2a-3f1f3c1b2a10",
                "--organization",
                "contoso.onmicrosoft.com",
            ],
            "auth.certificate",
        ),
        (
            &[
                "--auth",
                "certificate",
                "--app-id",
                "2c1b7f2e-8a1e-4a63-9d2a-3f1f3c1b2a10",
                "--thumbprint",
                "0123456789abcdef0123456789abcdef01234567",
                "--organization",
                "contoso",
            ],
            "auth.organization",
        ),
        (
            &[
                "--certificate",
                "a.pfx",
                "--thumbprint",
                "0123456789abcdef0123456789abcdef01234567",
            ],
            "--thumbprint",
        ),
        (&["--password", "hunter2"], "--password"),
    ];
    for (args, field) in cases {
        let full: Vec<&str> = if args.first() == Some(&"profile") {
            args.to_vec()
        } else {
            base.iter().chain(args.iter()).copied().collect()
        };
        let out = cli(h).args(&full).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{full:?}: {err}");
        assert!(
            err.contains(field),
            "{full:?}: stderr lacks {field:?}: {err}"
        );
        assert_eq!(store_text(h), before, "{full:?} changed the store");
    }
    for args in [
        &["profile", "show", "nobody"][..],
        &["profile", "ps", "nobody"],
        &["profile", "edit", "nobody", "--notes", "x"],
        &["profile", "remove", "nobody"],
        &["profile", "export", "out.json", "nobody"],
    ] {
        run(h, args)
            .code(2)
            .stderr(predicate::str::contains("no profile named 'nobody'"));
    }
    run(h, &["profile", "edit", "taken", "--upn", "bad"])
        .code(2)
        .stderr(predicate::str::contains("upn"));
    assert_eq!(store_text(h), before);
}

#[test]
fn import_export_json_and_csv() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    run(
        h,
        &["profile", "add", "--name", "A", "--upn", "a@contoso.com"],
    )
    .success();
    run(
        h,
        &[
            "profile",
            "add",
            "--name",
            "B",
            "--upn",
            "b@contoso.com",
            "--service",
            "scc",
        ],
    )
    .success();
    let export = h.join("out.json");
    run(h, &["profile", "export", export.to_str().unwrap(), "B"])
        .success()
        .stdout(predicate::str::contains("Exported 1"));
    let v: Value = serde_json::from_str(&fs::read_to_string(&export).unwrap()).unwrap();
    assert_eq!(v["profiles"][0]["name"], "B");

    run(h, &["profile", "import", export.to_str().unwrap()])
        .success()
        .stdout(predicate::str::contains("Renamed 'B' to 'B (2)'"));

    let csv = h.join("tenants.csv");
    fs::write(&csv, "name,upn,service,cloud,delegated_org\nFab,partner@contoso.com,SCC,O365Default,fabrikam.onmicrosoft.com\nBad,partner@contoso.com,teams,,\nGov,x@agency.us,ExchangeOnline,O365USGovDoD,\n").unwrap();
    run(h, &["profile", "import", csv.to_str().unwrap()])
        .code(2)
        .stdout(predicate::str::contains(
            "Imported 2 profile(s), rejected 1",
        ))
        .stderr(predicate::str::contains("line 3").and(predicate::str::contains("service")));
    let list: Value =
        serde_json::from_str(&stdout(h, &["profile", "list", "--format", "json"])).unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 5, "{names:?}");
    for n in ["A", "B", "B (2)", "Fab", "Gov"] {
        assert!(names.contains(&n), "{names:?}");
    }
    assert!(
        stdout(h, &["profile", "ps", "Fab"])
            .contains("-DelegatedOrganization fabrikam.onmicrosoft.com")
    );

    let garbage = h.join("garbage.json");
    fs::write(&garbage, "{ nope").unwrap();
    run(h, &["profile", "import", garbage.to_str().unwrap()])
        .code(2)
        .stderr(predicate::str::contains("not valid JSON"));
}

#[test]
fn saved_file_contains_no_secret() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    run(
        h,
        &[
            "profile",
            "add",
            "--name",
            "p",
            "--upn",
            "a@contoso.com",
            "--proxy",
            "IEConfig",
            "--proxy-auth",
            "Basic",
            "--proxy-user",
            "proxyuser",
        ],
    )
    .success();
    run(
        h,
        &[
            "profile",
            "add",
            "--name",
            "c",
            "--upn",
            "a@contoso.com",
            "--auth",
            "certificate",
            "--app-id",
            "2c1b7f2e-8a1e-4a63-9d2a-3f1f3c1b2a10",
            "--certificate",
            "/c.pfx",
            "--organization",
            "contoso.onmicrosoft.com",
        ],
    )
    .success();
    let text = store_text(h);
    assert!(text.contains("proxyuser"));
    let lower = text.to_lowercase();
    for word in ["password", "secret", "token", "credential", "hunter2"] {
        assert!(!lower.contains(word), "{word} in {text}");
    }
    // No flag can carry a secret.
    for flag in [
        "--password",
        "--proxy-password",
        "--secret",
        "--client-secret",
    ] {
        run(
            h,
            &[
                "profile",
                "add",
                "--name",
                "z",
                "--upn",
                "a@contoso.com",
                flag,
                "hunter2",
            ],
        )
        .code(2);
    }
    assert!(!store_text(h).contains("hunter2"));
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["version"], 1);
}

#[test]
fn broken_store_is_set_aside_and_reported() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    fs::write(h.join("profiles.json"), "{\"version\":1,\"profiles\":[{]}").unwrap();
    run(h, &["profile", "list"]).success().stderr(
        predicate::str::contains("profiles.json.broken-")
            .and(predicate::str::contains("line 1 column")),
    );
    let aside: Vec<_> = fs::read_dir(h)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("profiles.json.broken-"))
        .collect();
    assert_eq!(aside.len(), 1);
    assert_eq!(
        fs::read_to_string(h.join(&aside[0])).unwrap(),
        "{\"version\":1,\"profiles\":[{]}"
    );
    run(
        h,
        &[
            "profile",
            "add",
            "--name",
            "fresh",
            "--upn",
            "a@contoso.com",
        ],
    )
    .success();
    assert!(store_text(h).contains("fresh"));
}

/// Two scripts adding profiles at the same time (2 × 30 `profile add`) keep all 60: saves take
/// the store's lock, re-read the file and merge.
#[test]
fn concurrent_adds_from_two_processes_lose_nothing() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path().to_path_buf();
    let writers: Vec<_> = ["p", "q"]
        .into_iter()
        .map(|prefix| {
            let h = h.clone();
            std::thread::spawn(move || {
                for i in 0..30 {
                    let name = format!("{prefix}{i}");
                    let upn = format!("admin@{prefix}{i}.example.com");
                    run(&h, &["profile", "add", "--name", &name, "--upn", &upn]).success();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let v: Value = serde_json::from_str(&store_text(&h)).unwrap();
    assert_eq!(v["profiles"].as_array().unwrap().len(), 60);
}

/// `profile add` killed at random moments (kill -9) never leaves a broken store, and the temp
/// files of the interrupted saves are gone after the next command.
#[cfg(unix)]
#[test]
fn saves_killed_midway_leave_a_valid_store_and_no_temp_files() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    for i in 0..40u64 {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_exo-connect"))
            .env("EXO_CONNECT_HOME", h)
            .args(["profile", "add", "--name", &format!("k{i}")])
            .args(["--upn", "admin@contoso.com"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_micros(500 * (i % 12)));
        let _ = child.kill();
        let _ = child.wait();
    }
    // A stale temp file as a kill between write and rename leaves it.
    fs::write(h.join(".profiles.json.tmp-deadbeef"), "{\"version\":").unwrap();
    let out = stdout(h, &["profile", "list"]);
    let left: Vec<_> = fs::read_dir(h)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-") || n.contains(".broken-"))
        .collect();
    assert!(left.is_empty(), "{left:?}\n{out}");
    if h.join("profiles.json").exists() {
        serde_json::from_str::<Value>(&store_text(h)).expect("a valid store");
    }
}

/// A profile file that is not a regular file (a symlink to /dev/zero) is refused with a clear
/// error instead of being read until memory runs out.
#[cfg(unix)]
#[test]
fn a_profile_file_that_is_a_device_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    std::os::unix::fs::symlink("/dev/zero", h.join("profiles.json")).unwrap();
    run(h, &["profile", "list"])
        .failure()
        .stderr(predicate::str::contains("not a regular file"));
}

/// `--demo` with a subcommand works on the demo config folder (`<config>/demo`), as the window
/// does: the real profiles are never touched.
#[test]
fn demo_flag_keeps_subcommands_on_the_demo_folder() {
    let dir = tempfile::tempdir().unwrap();
    let h = dir.path();
    run(
        h,
        &[
            "profile",
            "add",
            "--name",
            "Real",
            "--upn",
            "admin@contoso.com",
        ],
    )
    .success();
    let real_before = store_text(h);
    run(
        h,
        &[
            "--demo",
            "profile",
            "add",
            "--name",
            "Play",
            "--upn",
            "admin@fabrikam.com",
        ],
    )
    .success()
    .stderr(predicate::str::contains("demo"));
    assert_eq!(store_text(h), real_before, "the real store is untouched");
    let demo = fs::read_to_string(h.join("demo").join("profiles.json")).unwrap();
    assert!(demo.contains("Play") && !demo.contains("Real"), "{demo}");
    let listed = stdout(h, &["profile", "list", "--demo"]);
    assert!(
        listed.contains("Play") && !listed.contains("Real"),
        "{listed}"
    );
    let listed = stdout(h, &["profile", "list"]);
    assert!(
        listed.contains("Real") && !listed.contains("Play"),
        "{listed}"
    );
    run(h, &["--demo", "profile", "remove", "Real"])
        .failure()
        .code(2);
    assert_eq!(store_text(h), real_before);
}
