//! "Open in PowerShell" against the real driver and the sim, with a stand-in `pwsh` on the
//! launcher's PATH that records what it received: its arguments, the names of its environment
//! variables, its stdin, and the token variable's value (to check the channel). The token must
//! never be in the arguments; the right `Connect-*` line with the organization and UPN must be.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use exo_connect::model::pwsh::TOKEN_ENV;
use exo_connect::ui::bridge::{NoticeLevel, SessionState};
use exo_connect::ui::driver::{PwshLaunch, Terminal};

use crate::engine::{E, start_cfg};

/// A stand-in pwsh in `dir/bin`: records into `dir/record`, then exits with `exit`.
fn stand_in(dir: &Path, exit: i32, stderr: &str) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let rec = dir.join("record");
    let script = format!(
        "#!/bin/sh\n\
         {{ echo ARGV; for a in \"$@\"; do echo \"ARG:$a\"; done; echo ENV; env | cut -d= -f1;\n\
         echo STDIN; cat; }} > '{rec}.tmp'\n\
         printf '%s' \"${TOKEN_ENV}\" > '{rec}.token'\n\
         mv '{rec}.tmp' '{rec}'\n\
         printf '%s\\n' '{stderr}' >&2\n\
         exit {exit}\n",
        rec = rec.display()
    );
    let pwsh = bin.join("pwsh");
    std::fs::write(&pwsh, script).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pwsh, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

fn launcher(bin: &Path) -> PwshLaunch {
    PwshLaunch {
        path: Some(bin.as_os_str().to_owned()),
        terminal: Terminal::Direct,
        early_exit: Duration::from_secs(10),
    }
}

/// Connect `profile` (a password profile of `upn`) and click Open in PowerShell.
fn connect_and_open(e: &mut E, profile: &str, upn: &str) {
    e.connect_with_password(profile, upn);
    e.wait("the session", |a| {
        a.signin.is_none()
            && a.sessions
                .iter()
                .any(|s| s.state == SessionState::Connected)
    });
    e.click("Open in PowerShell");
}

fn wait_file(e: &mut E, path: &Path) -> String {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(12),
            "the stand-in pwsh never ran; notices: {:?}",
            e.h.state().notices
        );
        e.h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::read_to_string(path).unwrap()
}

fn args_of(record: &str) -> Vec<String> {
    record
        .lines()
        .filter_map(|l| l.strip_prefix("ARG:"))
        .map(str::to_string)
        .collect()
}

#[test]
fn pwsh_gets_the_connect_line_on_its_command_line_and_the_token_only_in_its_environment() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = stand_in(tmp.path(), 0, "");
    let mut e = start_cfg(|_| {}, |_| {}, |c| c.pwsh = launcher(&bin));
    connect_and_open(&mut e, "Contoso EXO", "ops@contoso.com");
    let record = wait_file(&mut e, &tmp.path().join("record"));
    let token = std::fs::read_to_string(tmp.path().join("record.token")).unwrap();
    assert_eq!(
        token.split('.').count(),
        3,
        "a JWT came through {TOKEN_ENV}"
    );
    assert!(token.len() > 100);
    assert!(!record.contains(&token), "the token is in no argument");
    let args = args_of(&record);
    assert_eq!(args[..3], ["-NoLogo", "-NoExit", "-Command"]);
    let script = &args[3];
    assert!(
        script.contains(
            "Connect-ExchangeOnline -AccessToken $exoToken -Organization contoso.com -UserPrincipalName ops@contoso.com"
        ),
        "{script}"
    );
    assert!(script.starts_with(&format!("$exoToken = $env:{TOKEN_ENV}; Remove-Item")));
    let env: Vec<&str> = record
        .split("\nENV\n")
        .nth(1)
        .unwrap()
        .split("\nSTDIN\n")
        .next()
        .unwrap()
        .lines()
        .collect();
    assert!(
        env.contains(&TOKEN_ENV),
        "the variable is in the environment"
    );
    let stdin = record.split("\nSTDIN\n").nth(1).unwrap();
    assert!(stdin.trim().is_empty(), "nothing on stdin: {stdin:?}");
    e.wait("the notice", |a| {
        a.notices
            .iter()
            .any(|(_, t)| t.contains("PowerShell is starting"))
    });
    assert!(
        !e.h.state().notices.iter().any(|(_, t)| t.contains(&token)),
        "no notice shows the token"
    );
}

#[test]
fn an_scc_session_opens_with_connect_ippssession() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = stand_in(tmp.path(), 0, "");
    let mut e = start_cfg(|_| {}, |_| {}, |c| c.pwsh = launcher(&bin));
    connect_and_open(&mut e, "Contoso SCC", "ops@contoso.com");
    let record = wait_file(&mut e, &tmp.path().join("record"));
    let script = &args_of(&record)[3];
    assert!(
        script.contains("Connect-IPPSSession -AccessToken $exoToken -Organization contoso.com"),
        "{script}"
    );
    assert!(!script.contains("Connect-ExchangeOnline"));
}

#[test]
fn a_missing_module_and_a_missing_pwsh_are_said_plainly() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = stand_in(
        tmp.path(),
        3,
        "Connect-ExchangeOnline: The term 'Connect-ExchangeOnline' is not recognized as a name of a cmdlet",
    );
    let mut e = start_cfg(|_| {}, |_| {}, |c| c.pwsh = launcher(&bin));
    connect_and_open(&mut e, "Contoso EXO", "ops@contoso.com");
    e.wait("the module notice", |a| {
        a.notices.iter().any(|(l, t)| {
            *l == NoticeLevel::Warning && t.contains("Install-Module ExchangeOnlineManagement")
        })
    });

    let empty = tempfile::tempdir().unwrap();
    let mut e = start_cfg(|_| {}, |_| {}, |c| c.pwsh = launcher(empty.path()));
    connect_and_open(&mut e, "Contoso EXO", "ops@contoso.com");
    e.wait("the pwsh notice", |a| {
        a.notices
            .iter()
            .any(|(_, t)| t.contains("PowerShell 7 (pwsh) is not on PATH"))
    });
}
