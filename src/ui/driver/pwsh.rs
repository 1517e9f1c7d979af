//! The driver's "Open in PowerShell" job: a `pwsh` started already connected to a session's
//! tenant. The token comes from the session's cached sign-in (never a dialog) and goes to the
//! child only through the environment variable `model::pwsh::TOKEN_ENV`, which the script
//! (`model::pwsh::connect_script`) reads and removes: it is never on the command line or on
//! disk. On Linux and macOS the child runs in a terminal emulator (its own window); on Windows
//! in a console of its own. The spawn and the wait for an early exit run on the runtime, never
//! on the window's thread.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Driver, notice};
use crate::model::Profile;
use crate::model::pwsh::{self, MODULE_MISSING, MODULE_MISSING_EXIT, PWSH_MISSING, TOKEN_ENV};
use crate::ui::bridge::{ConnId, EventSender, NoticeLevel};

/// Where the child runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Terminal {
    /// The platform's: a console of its own on Windows; elsewhere `$TERMINAL`, or the first of
    /// x-terminal-emulator, gnome-terminal, konsole, xterm found on PATH (none: pwsh directly).
    Auto,
    /// pwsh itself, no terminal around it (tests).
    Direct,
    /// This command, with pwsh and its arguments appended (`["xterm", "-e"]`).
    Command(Vec<String>),
}

/// How "Open in PowerShell" finds and starts pwsh.
#[derive(Debug, Clone)]
pub struct PwshLaunch {
    /// The folders searched for `pwsh` (None: `$PATH`).
    pub path: Option<OsString>,
    pub terminal: Terminal,
    /// An exit within this long after the start is reported (module missing, pwsh failing).
    pub early_exit: Duration,
}

impl Default for PwshLaunch {
    fn default() -> Self {
        PwshLaunch {
            path: None,
            terminal: Terminal::Auto,
            early_exit: Duration::from_secs(30),
        }
    }
}

/// The first executable `name` (or `name.exe` on Windows) in `path`'s folders.
pub fn find_in(path: &OsString, name: &str) -> Option<PathBuf> {
    let names: Vec<String> = if cfg!(windows) {
        vec![format!("{name}.exe"), name.to_string()]
    } else {
        vec![name.to_string()]
    };
    std::env::split_paths(path)
        .filter(|d| !d.as_os_str().is_empty())
        .flat_map(|d| names.iter().map(move |n| d.join(n)))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(p) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// The terminal command the child runs in (None: pwsh directly).
fn terminal_for(t: &Terminal, path: &OsString) -> Option<Vec<String>> {
    match t {
        Terminal::Direct => None,
        Terminal::Command(c) => Some(c.clone()),
        Terminal::Auto if cfg!(windows) => None,
        Terminal::Auto => {
            if let Some(t) = std::env::var("TERMINAL")
                .ok()
                .filter(|t| !t.trim().is_empty())
                && find_in(path, t.trim()).is_some()
            {
                return Some(vec![t.trim().to_string(), "-e".into()]);
            }
            let known: [(&str, &[&str]); 4] = [
                ("x-terminal-emulator", &["-e"]),
                ("gnome-terminal", &["--"]),
                ("konsole", &["-e"]),
                ("xterm", &["-e"]),
            ];
            known.iter().find_map(|(name, args)| {
                find_in(path, name)?;
                let mut cmd = vec![name.to_string()];
                cmd.extend(args.iter().map(|a| a.to_string()));
                Some(cmd)
            })
        }
    }
}

/// The command line: (program, arguments). No secret in it.
fn command_line(
    pwsh: &Path,
    script: String,
    terminal: Option<Vec<String>>,
) -> (OsString, Vec<OsString>) {
    let pwsh_args = ["-NoLogo", "-NoExit", "-Command"].map(OsString::from);
    match terminal {
        Some(mut t) if !t.is_empty() => {
            let program = OsString::from(t.remove(0));
            let mut args: Vec<OsString> = t.into_iter().map(OsString::from).collect();
            args.push(pwsh.as_os_str().to_owned());
            args.extend(pwsh_args);
            args.push(script.into());
            (program, args)
        }
        _ => {
            let mut args: Vec<OsString> = pwsh_args.into();
            args.push(script.into());
            (pwsh.as_os_str().to_owned(), args)
        }
    }
}

impl Driver {
    /// "Open in PowerShell" of session `conn`: its profile's cached token, then pwsh.
    pub(super) fn open_powershell(&self, conn: ConnId) {
        let Some(info) = self.sessions.iter().find(|s| s.connection_id == conn.0) else {
            self.send(notice(NoticeLevel::Warning, "That session is closed."));
            return;
        };
        let Some(profile) = self.store.get(info.profile_id).cloned() else {
            self.send(notice(
                NoticeLevel::Warning,
                "That session's profile was deleted.",
            ));
            return;
        };
        let tenant = info.tenant.clone().unwrap_or_default();
        let launch = self.pwsh.clone();
        let path = launch
            .path
            .clone()
            .or_else(|| std::env::var_os("PATH"))
            .unwrap_or_default();
        let Some(exe) = find_in(&path, "pwsh") else {
            self.send(notice(NoticeLevel::Warning, PWSH_MISSING));
            return;
        };
        let cache = self.connector.cache().clone();
        let clients = self.connector.clients().clone();
        let ev = self.ev.clone();
        tokio::spawn(async move {
            let http = clients.for_profile(&profile).await.ok();
            let signed_in = match cache.sign_in_silent(&profile, http.as_ref()).await {
                Ok(s) => s,
                Err(e) => {
                    let text = format!(
                        "Open in PowerShell: no token for '{}' without signing in again ({e}). Reconnect the session first.",
                        profile.name
                    );
                    ev.send(notice(NoticeLevel::Warning, text));
                    return;
                }
            };
            let org = pwsh::organization(&profile, &tenant);
            let script = pwsh::connect_script(&profile, &org, &signed_in.account);
            let terminal = terminal_for(&launch.terminal, &path);
            let (program, args) = command_line(&exe, script, terminal);
            let token = signed_in.access.secret;
            start(&profile, program, args, token, launch.early_exit, ev).await;
        });
    }
}

/// Spawns the child with the token in its environment, says so, and reports an early exit.
async fn start(
    profile: &Profile,
    program: OsString,
    args: Vec<OsString>,
    token: String,
    early_exit: Duration,
    ev: EventSender,
) {
    let mut cmd = tokio::process::Command::new(&program);
    cmd.args(&args).env(TOKEN_ENV, token);
    #[cfg(windows)]
    {
        // CREATE_NEW_CONSOLE: pwsh gets a console window of its own.
        cmd.creation_flags(0x0000_0010);
    }
    #[cfg(not(windows))]
    {
        cmd.stdin(std::process::Stdio::null());
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let text = format!(
                "Open in PowerShell: {} could not be started: {e}",
                Path::new(&program).display()
            );
            ev.send(notice(NoticeLevel::Error, text));
            return;
        }
    };
    ev.send(notice(
        NoticeLevel::Info,
        format!(
            "PowerShell is starting, connected as '{}' with {}.",
            profile.name,
            pwsh::connect_cmdlet(profile.service)
        ),
    ));
    let Ok(status) = tokio::time::timeout(early_exit, child.wait()).await else {
        return; // Still running: the admin works in it.
    };
    match status.ok().and_then(|s| s.code()) {
        Some(0) | None => {}
        Some(MODULE_MISSING_EXIT) => {
            ev.send(notice(NoticeLevel::Warning, MODULE_MISSING));
        }
        Some(code) => {
            let text = format!(
                "PowerShell ended right after it started (exit code {code}): it may not have connected."
            );
            ev.send(notice(NoticeLevel::Warning, text));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_never_on_the_command_line_and_the_terminal_wraps_pwsh() {
        let (p, args) = command_line(
            Path::new("/usr/bin/pwsh"),
            "script".into(),
            Some(vec!["gnome-terminal".into(), "--".into()]),
        );
        assert_eq!(p, "gnome-terminal");
        let args: Vec<_> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "--",
                "/usr/bin/pwsh",
                "-NoLogo",
                "-NoExit",
                "-Command",
                "script"
            ]
        );
        let (p, _) = command_line(Path::new("/usr/bin/pwsh"), "s".into(), None);
        assert_eq!(p, "/usr/bin/pwsh");
    }

    #[test]
    fn pwsh_is_found_only_where_the_path_says() {
        let dir = tempfile::tempdir().unwrap();
        let path = OsString::from(dir.path());
        assert!(find_in(&path, "pwsh").is_none());
        assert!(terminal_for(&Terminal::Direct, &path).is_none());
    }
}
