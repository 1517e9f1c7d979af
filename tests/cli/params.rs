//! `exo-connect run` refuses parameters that carry secrets before anything is sent.

use super::support::{cli, pw, setup};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_parameter_is_refused_before_sign_in() {
    let (h, home) = setup(5).await;
    for line in [
        "Set-Mailbox ann@contoso.com -Password 'Secret1!'",
        "New-Mailbox -Name Room1 -RoomMailboxPassword:'x'",
    ] {
        let o = cli(
            &home,
            &["run", "Contoso EXO", "--password-stdin", "--", line],
            &pw("ops@contoso.com"),
            None,
        )
        .await;
        assert_eq!(o.code, 2, "{line}: {}", o.stderr);
        assert!(o.stderr.contains("password or credential"), "{}", o.stderr);
        assert!(!o.stderr.contains("Secret1!"), "the secret is not echoed");
    }
    assert!(h.admin.requests().is_empty(), "nothing was sent");
}
