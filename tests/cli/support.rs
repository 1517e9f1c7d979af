//! The command-line tests' shared set-up: the real binary with an isolated `EXO_CONNECT_HOME`
//! (secrets in memory, no browser), run to its end with a bounded wait; homes with a profile
//! store; the sim with its three seeded profiles (`setup`) or six customer tenants of one
//! partner (`setup_customers`).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use exo_connect::model::store::ProfileStore;
use exo_connect::model::{Profile, Service};
use exo_connect::sim::{SimConfig, SimHandle};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

use crate::common::tenants::{customers_config, delegated_profile, sim_profile};

pub(crate) use crate::common::signin_support::password_of;
pub(crate) use crate::common::tenants::sim_profile as profile;

/// What a run of the binary left.
pub(crate) struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The binary with `args` in `home`: secrets in memory, no browser, every stream piped, killed
/// when dropped. The caller adds the environment its test needs.
pub(crate) fn exo(home: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_exo-connect"));
    c.args(args)
        .env("EXO_CONNECT_HOME", home)
        .env("EXO_CONNECT_SECRETS", "memory")
        .env("EXO_CONNECT_NO_BROWSER", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    c
}

/// Runs `c` with `stdin` as its input to its end (at most `timeout`).
pub(crate) async fn finish(mut c: Command, stdin: &str, timeout: Duration) -> Out {
    let mut child = c.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let out = tokio::time::timeout(timeout, child.wait_with_output())
        .await
        .expect("the command ends")
        .unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs the command; `on_line` sees each stderr line as it comes (to play the user).
pub(crate) async fn streamed<F, Fut>(mut c: Command, stdin: Option<&str>, mut on_line: F) -> Out
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut child = c.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).await.unwrap();
    }
    drop(input);
    let mut stdout = child.stdout.take().unwrap();
    let out_task = tokio::spawn(async move {
        let mut s = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut stdout, &mut s)
            .await
            .unwrap();
        s
    });
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut stderr = String::new();
    let work = async {
        while let Some(l) = lines.next_line().await.unwrap() {
            stderr.push_str(&l);
            stderr.push('\n');
            on_line(l).await;
        }
        child.wait().await.unwrap()
    };
    let status = tokio::time::timeout(Duration::from_secs(30), work)
        .await
        .expect("the command ends");
    Out {
        code: status.code().unwrap_or(-1),
        stdout: out_task.await.unwrap(),
        stderr,
    }
}

/// Runs the binary in `home` (`columns`: the terminal width it sees, none by default).
pub(crate) async fn cli(
    home: &tempfile::TempDir,
    args: &[&str],
    stdin: &str,
    columns: Option<&str>,
) -> Out {
    let mut c = exo(home.path(), args);
    c.env_remove("COLUMNS");
    if let Some(cols) = columns {
        c.env("COLUMNS", cols);
    }
    finish(c, stdin, Duration::from_secs(30)).await
}

/// A seeded account's password and a new line (what `--password-stdin` reads).
pub(crate) fn pw(upn: &str) -> String {
    format!("{}\n", password_of(upn))
}

/// A fresh home whose profile store holds `profiles`.
pub(crate) fn home_with_store(profiles: impl IntoIterator<Item = Profile>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = ProfileStore::open(dir.path()).unwrap();
    for p in profiles {
        store.upsert(p).unwrap();
    }
    store.save().unwrap();
    dir
}

/// A fresh home whose `profiles.json` is written as is (no store in between).
pub(crate) fn home_with_file(profiles: &[Profile]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let file = serde_json::json!({ "version": 1, "profiles": profiles });
    std::fs::write(dir.path().join("profiles.json"), file.to_string()).unwrap();
    dir
}

/// The sim with `mailboxes`, and a home with its three profiles: "Contoso EXO", "Northwind
/// EOP", "Contoso SCC" (password sign-in).
pub(crate) async fn setup(mailboxes: usize) -> (SimHandle, tempfile::TempDir) {
    let h = exo_connect::sim::start(SimConfig {
        mailboxes,
        connection_cap: Some(1000),
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = home_with_store([
        sim_profile(
            &h,
            "Contoso EXO",
            "ops@contoso.com",
            Service::ExchangeOnline,
        ),
        sim_profile(
            &h,
            "Northwind EOP",
            "admin@northwind.com",
            Service::Protection,
        ),
        sim_profile(
            &h,
            "Contoso SCC",
            "ops@contoso.com",
            Service::SecurityCompliance,
        ),
    ]);
    (h, dir)
}

/// Six customers: `cust001`…`cust006` in the folder `Customers` (the odd ones tagged `odd`),
/// and `own admin` (a customer's own admin) at the top level.
pub(crate) async fn setup_customers() -> (SimHandle, tempfile::TempDir) {
    let h = exo_connect::sim::start(customers_config(6)).await.unwrap();
    let mut profiles = Vec::new();
    for (i, mut p) in crate::common::tenants::partner_profiles(&h)
        .into_iter()
        .enumerate()
    {
        p.folder = "Customers".into();
        if i % 2 == 0 {
            p.tags = vec!["odd".into()];
        }
        profiles.push(p);
    }
    profiles.push(delegated_profile(
        &h,
        "own admin",
        "admin@cust003.onmicrosoft.com",
        None,
    ));
    (h, home_with_store(profiles))
}
