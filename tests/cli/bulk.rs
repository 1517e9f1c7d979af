//! `exo-connect bulk`: a change applied to every row of a CSV through `$batch` (chunks of 10,
//! continue-on-error), checked against the sim's state; the fallback when `$batch` is refused;
//! the dry run and the one confirmation; Ctrl+C stopping after the chunk in flight.

use super::support::{Out, cli, exo, pw, setup};

const UPN: &str = "ops@contoso.com";

async fn bulk(home: &tempfile::TempDir, csv: &std::path::Path, extra: &[&str], line: &str) -> Out {
    let csv = csv.to_str().unwrap();
    let mut args = vec!["bulk", "Contoso EXO", "--csv", csv, "--password-stdin"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", line]);
    cli(home, &args, &pw(UPN), None).await
}

/// The first `n` mailboxes' addresses.
async fn mailboxes(home: &tempfile::TempDir, n: usize) -> Vec<String> {
    let rs = n.to_string();
    let o = cli(
        home,
        &[
            "run",
            "Contoso EXO",
            "--format",
            "json",
            "--password-stdin",
            "--",
            "Get-Mailbox",
            "-ResultSize",
            &rs,
        ],
        &pw(UPN),
        None,
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&o.stdout).unwrap();
    rows.iter()
        .map(|r| r["PrimarySmtpAddress"].as_str().unwrap().to_string())
        .collect()
}

fn write_csv(dir: &tempfile::TempDir, rows: &[(String, String)]) -> std::path::PathBuf {
    let path = dir.path().join("rows.csv");
    let mut w = csv::Writer::from_path(&path).unwrap();
    w.write_record(["Identity", "Department"]).unwrap();
    for (i, d) in rows {
        w.write_record([i, d]).unwrap();
    }
    w.flush().unwrap();
    path
}

const LINE: &str = "Set-Mailbox -Identity {Identity} -CustomAttribute1 {Department}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_fifty_rows_with_three_failing_go_through_batch() {
    let (h, home) = setup(300).await;
    let ids = mailboxes(&home, 247).await;
    let mut rows: Vec<(String, String)> = ids
        .iter()
        .enumerate()
        .map(|(k, id)| (id.clone(), format!("Dept {k}, O'Neil")))
        .collect();
    for (at, bad) in [
        (5, "ghost1@contoso.com"),
        (120, "ghost2@contoso.com"),
        (249, "ghost3@contoso.com"),
    ] {
        rows.insert(at, (bad.to_string(), "x".into()));
    }
    assert_eq!(rows.len(), 250);
    let csv = write_csv(&home, &rows);

    // The dry run lists the exact calls and sends nothing.
    let before = h.admin.requests().len();
    let o = bulk(&home, &csv, &["--dry-run"], LINE).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let calls: Vec<serde_json::Value> = o
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(calls.len(), 250);
    let p = &calls[0]["body"]["CmdletInput"]["Parameters"];
    assert_eq!(p["Identity"], rows[0].0.as_str());
    assert_eq!(p["CustomAttribute1"], "Dept 0, O'Neil");
    assert_eq!(p["Confirm"], false);
    assert_eq!(h.admin.requests().len(), before);

    // Without a terminal and without --yes: refused, nothing sent.
    let o = bulk(&home, &csv, &[], LINE).await;
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("--yes"), "{}", o.stderr);
    assert_eq!(h.admin.requests().len(), before);

    let o = bulk(&home, &csv, &["--yes", "--format", "csv"], LINE).await;
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(
        o.stderr.contains("250 rows: 247 ok, 3 failed"),
        "{}",
        o.stderr
    );
    let mut rd = csv::Reader::from_reader(o.stdout.as_bytes());
    let recs: Vec<csv::StringRecord> = rd.records().map(|r| r.unwrap()).collect();
    assert_eq!(recs.len(), 250);
    let failed: Vec<usize> = recs
        .iter()
        .filter(|r| &r[1] == "error")
        .map(|r| r[0].parse::<usize>().unwrap())
        .collect();
    assert_eq!(failed, [6, 121, 250]);
    assert!(recs[5][3].contains("ghost1"), "{:?}", recs[5]);
    let batches = h.admin.requests()[before..]
        .iter()
        .filter(|r| r.path.ends_with("$batch"))
        .count();
    assert_eq!(batches, 25, "chunks of 10");

    // The sim's state: every existing mailbox got its department.
    let o = cli(
        &home,
        &[
            "run",
            "Contoso EXO",
            "--format",
            "json",
            "--password-stdin",
            "--",
            "Get-Mailbox -ResultSize 247",
        ],
        &pw(UPN),
        None,
    )
    .await;
    let now: Vec<serde_json::Value> = serde_json::from_str(&o.stdout).unwrap();
    for (k, r) in now.iter().enumerate() {
        assert_eq!(
            r["CustomAttribute1"],
            format!("Dept {k}, O'Neil").as_str(),
            "{}",
            r["PrimarySmtpAddress"]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_batch_falls_back_to_one_request_per_row() {
    let (h, home) = setup(30).await;
    let ids = mailboxes(&home, 12).await;
    let rows: Vec<(String, String)> = ids.iter().map(|i| (i.clone(), "Sales".into())).collect();
    let csv = write_csv(&home, &rows);
    h.admin.refuse_batch(Some(501));
    let before = h.admin.requests().len();
    let o = bulk(&home, &csv, &["--yes", "--format", "json"], LINE).await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("refused $batch"), "{}", o.stderr);
    let out: Vec<serde_json::Value> = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(out.len(), 12);
    assert!(out.iter().all(|r| r["Result"] == "ok"));
    let log = &h.admin.requests()[before..];
    assert_eq!(
        log.iter().filter(|r| r.path.ends_with("$batch")).count(),
        1,
        "asked once"
    );
    assert_eq!(
        log.iter()
            .filter(|r| r.cmdlet.as_deref() == Some("Set-Mailbox"))
            .count(),
        12
    );
    let o = cli(
        &home,
        &[
            "run",
            "Contoso EXO",
            "--format",
            "json",
            "--password-stdin",
            "--",
            "Get-Mailbox -ResultSize 12",
        ],
        &pw(UPN),
        None,
    )
    .await;
    let now: Vec<serde_json::Value> = serde_json::from_str(&o.stdout).unwrap();
    assert!(
        now.iter().all(|r| r["CustomAttribute1"] == "Sales"),
        "{}",
        o.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_after_the_chunk_in_flight_and_prints_the_rows_sent() {
    let (h, home) = setup(120).await;
    let ids = mailboxes(&home, 100).await;
    let rows: Vec<(String, String)> = ids.iter().map(|i| (i.clone(), "Stop".into())).collect();
    let csv = write_csv(&home, &rows);
    let before = h.admin.requests().len();
    // Every request answers after 300 ms: Ctrl+C lands while chunks remain.
    h.admin.inject_spec("slow:ms=300:times=20").unwrap();
    let csv = csv.to_str().unwrap();
    let args = [
        "bulk",
        "Contoso EXO",
        "--csv",
        csv,
        "--password-stdin",
        "--yes",
        "--format",
        "csv",
        "--",
        LINE,
    ];
    let mut c = exo(home.path(), &args);
    c.env_remove("COLUMNS");
    let batches = |h: &exo_connect::sim::SimHandle| {
        h.admin.requests()[before..]
            .iter()
            .filter(|r| r.path.ends_with("$batch"))
            .count()
    };
    let mut child = c.spawn().unwrap();
    let pid = child.id().unwrap().to_string();
    let mut input = child.stdin.take().unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut input, pw(UPN).as_bytes())
        .await
        .unwrap();
    drop(input);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while batches(&h) < 2 {
        assert!(std::time::Instant::now() < deadline, "no $batch came");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let killed = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the command ends")
        .unwrap();
    let o = Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_eq!(o.code, 1, "{}", o.stderr);
    let sent = batches(&h) * 10;
    assert!((20..100).contains(&sent), "{sent} rows sent");
    let printed = o.stdout.lines().count() - 1;
    assert_eq!(printed, sent, "one row printed per row sent: {}", o.stdout);
    assert!(
        o.stderr.contains(&format!(
            "stopped by Ctrl+C after {sent} of 100 rows: rows {} to 100 were not sent",
            sent + 1
        )),
        "{}",
        o.stderr
    );
}
