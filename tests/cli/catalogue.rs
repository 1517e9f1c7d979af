//! `exo-connect catalogue`: the tenant's live cmdlet catalogue (EXOModuleFile) fetched once,
//! cached per tenant and service, used for completion and to refuse an unknown parameter in
//! `run` before anything is sent.

use super::support::{cli, pw, setup};

fn module_fetches(h: &exo_connect::sim::SimHandle) -> usize {
    h.admin
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("EXOModuleFile"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogue_is_fetched_once_cached_and_checks_run_lines() {
    let (h, home) = setup(10).await;
    let args = |extra: &[&'static str]| {
        let mut a = vec!["catalogue", "Contoso EXO", "--password-stdin"];
        a.extend_from_slice(extra);
        a
    };
    let o = cli(
        &home,
        &args(&["--prefix", "get-m"]),
        &pw("ops@contoso.com"),
        None,
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    let names: Vec<&str> = o.stdout.lines().collect();
    assert!(names.contains(&"Get-Mailbox"), "{names:?}");
    assert!(
        names
            .iter()
            .all(|n| n.to_ascii_lowercase().starts_with("get-m"))
    );
    assert_eq!(module_fetches(&h), 1);

    let o = cli(
        &home,
        &args(&["--cmdlet", "Get-Mailbox"]),
        &pw("ops@contoso.com"),
        None,
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("(cached)"), "{}", o.stderr);
    assert!(o.stdout.contains("-ResultSize ["), "{}", o.stdout);
    assert_eq!(module_fetches(&h), 1, "the cache served");

    // run: an unknown parameter is refused before the cmdlet is sent.
    let o = cli(
        &home,
        &[
            "run",
            "Contoso EXO",
            "--password-stdin",
            "--",
            "Get-Mailbox -Bogus 1",
        ],
        &pw("ops@contoso.com"),
        None,
    )
    .await;
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("has no parameter -Bogus"), "{}", o.stderr);
    assert!(
        !h.admin
            .requests()
            .iter()
            .any(|r| r.cmdlet.as_deref() == Some("Get-Mailbox")),
        "nothing sent"
    );
}
