//! Issue 16 on the admin API: change cmdlets that ask for confirmation and change the tenant's
//! state, `-WhatIf`, non-terminating errors, `$batch`, and the live cmdlet catalogue
//! (EXOModuleFile) with the cmdlets each account's roles allow.

use base64::Engine;
use serde_json::{Value, json};

use super::support::*;

fn ops(h: &exo_connect::sim::SimHandle) -> String {
    user_token(h, "ops@contoso.com", &h.urls().exo, 600)
}

async fn rules(call: &Call<'_>, u: &str) -> Vec<Value> {
    let (_, v) = json_of(call.post(u, &body("Get-TransportRule", json!({}))).await).await;
    v["value"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn change_cmdlets_ask_first_and_then_change_the_tenant() {
    let h = sim(cfg(50)).await;
    let c = client();
    let t = ops(&h);
    let call = Call::new(&c, &t);
    let u = url(&h.urls().exo, "contoso.com");
    let name = "Block executable attachments";
    // Without Confirm: the question, nothing done.
    let (s, v) = json_of(
        call.post(&u, &body("Remove-TransportRule", json!({"Identity": name})))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let q = v["@adminapi.confirmationmessage"].as_str().unwrap();
    assert!(q.contains("Are you sure") && q.contains(name), "{q}");
    assert!(v.get("value").is_none());
    assert_eq!(rules(&call, &u).await.len(), 3);
    // WhatIf: the text, nothing done.
    let (_, v) = json_of(
        call.post(
            &u,
            &body(
                "Remove-TransportRule",
                json!({"Identity": name, "WhatIf": true}),
            ),
        )
        .await,
    )
    .await;
    let w = v["@adminapi.warnings"][0].as_str().unwrap();
    assert!(
        w.starts_with("What if: Performing the operation \"Remove-TransportRule\""),
        "{w}"
    );
    assert_eq!(rules(&call, &u).await.len(), 3);
    // Disable, then move to priority 0, then remove, each with Confirm: false.
    let confirmed = |cmdlet: &str, extra: Value| {
        let mut p = json!({"Identity": "Journal legal department", "Confirm": false});
        p.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body(cmdlet, p)
    };
    assert_eq!(
        call.post(&u, &confirmed("Disable-TransportRule", json!({})))
            .await
            .status(),
        200
    );
    let (s, _) = json_of(
        call.post(
            &u,
            &confirmed(
                "Set-TransportRule",
                json!({"Priority": 0, "Comments": "moved"}),
            ),
        )
        .await,
    )
    .await;
    assert_eq!(s, 200);
    let now = rules(&call, &u).await;
    assert_eq!(now[0]["Name"], "Journal legal department");
    assert_eq!(now[0]["State"], "Disabled");
    assert_eq!(now[0]["Comments"], "moved");
    assert_eq!(now[1]["Priority"], 1);
    assert_eq!(
        call.post(&u, &confirmed("Enable-TransportRule", json!({})))
            .await
            .status(),
        200
    );
    assert_eq!(rules(&call, &u).await[0]["State"], "Enabled");
    let rb = body(
        "Remove-TransportRule",
        json!({"Identity": name, "Confirm": false}),
    );
    assert_eq!(call.post(&u, &rb).await.status(), 200);
    assert_eq!(rules(&call, &u).await.len(), 2);
    assert_eq!(
        call.post(&u, &rb).await.status(),
        404,
        "a single missing identity is terminating"
    );
    // Another tenant is untouched.
    assert_eq!(h.admin.transport_rule_count("tailspintoys.com"), Some(3));
}

#[tokio::test]
async fn set_mailbox_changes_what_get_mailbox_shows_and_reports_missing_rows() {
    let h = sim(cfg(50)).await;
    let c = client();
    let t = ops(&h);
    let call = Call::new(&c, &t);
    let u = url(&h.urls().exo, "contoso.com");
    let (_, v) = json_of(
        call.post(&u, &body("Get-Mailbox", json!({"ResultSize": 3})))
            .await,
    )
    .await;
    let ids: Vec<String> = v["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Alias"].as_str().unwrap().to_string())
        .collect();
    let set = body(
        "Set-Mailbox",
        json!({"Identity": [ids[0], "nobody-here", ids[2]], "CustomAttribute1": "Sales", "Office": "Set by test", "Confirm": false}),
    );
    let (s, v) = json_of(call.post(&u, &set).await).await;
    assert_eq!(s, 200, "{v}");
    let errors = v["@adminapi.errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["target"], "nobody-here");
    assert_eq!(errors[0]["code"], "NotFound");
    let get = |id: &str| body("Get-Mailbox", json!({"Identity": id}));
    for (id, changed) in [(&ids[0], true), (&ids[1], false), (&ids[2], true)] {
        let (_, v) = json_of(call.post(&u, &get(id)).await).await;
        let row = &v["value"][0];
        assert_eq!(row["CustomAttribute1"] == "Sales", changed, "{id}");
        assert_eq!(row["Office"] == "Set by test", changed, "{id}");
    }
    // Listings and filters see the change too.
    let (_, v) = json_of(
        call.post(
            &u,
            &body(
                "Get-Mailbox",
                json!({"ResultSize": "Unlimited", "Filter": "CustomAttribute1 -eq 'Sales'"}),
            ),
        )
        .await,
    )
    .await;
    assert_eq!(v["value"].as_array().unwrap().len(), 2);
    // A bad value is refused before anything changes.
    let bad = body(
        "Set-Mailbox",
        json!({"Identity": ids[1], "LitigationHoldEnabled": "maybe", "Confirm": false}),
    );
    assert_eq!(call.post(&u, &bad).await.status(), 400);
}

fn batch_item(id: &str, tenant: &str, cmdlet: &str, params: Value) -> Value {
    json!({"id": id, "method": "POST", "url": format!("/adminapi/beta/{tenant}/InvokeCommand"),
           "headers": {"Content-Type": "application/json"},
           "body": {"CmdletInput": {"CmdletName": cmdlet, "Parameters": params}}})
}

#[tokio::test]
async fn batch_runs_items_and_honours_continue_on_error() {
    let h = sim(cfg(50)).await;
    let c = client();
    let t = ops(&h);
    let tid = tid(&h, "contoso.com");
    let bu = format!("{}/adminapi/beta/{tid}/$batch", h.urls().exo);
    let set = |id: &str, who: &str| {
        batch_item(
            id,
            &tid,
            "Set-Mailbox",
            json!({"Identity": who, "CustomAttribute2": "B", "Confirm": false}),
        )
    };
    let mut items = vec![
        set("1", "nobody-1"),
        batch_item("2", &tid, "Get-OrganizationConfig", json!({})),
    ];
    let (_, v) = json_of(
        Call::new(&c, &t)
            .post(
                &url(&h.urls().exo, &tid),
                &body("Get-Mailbox", json!({"ResultSize": 1})),
            )
            .await,
    )
    .await;
    let alias = v["value"][0]["Alias"].as_str().unwrap().to_string();
    items.push(set("3", &alias));
    let statuses = |v: &Value| -> Vec<u64> {
        v["responses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["status"].as_u64().unwrap())
            .collect()
    };
    let (s, v) = json_of(
        Call::new(&c, &t)
            .post(&bu, &json!({"requests": items}))
            .await,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(statuses(&v), [404, 424, 424], "stops at the first failure");
    let (_, v) = json_of(
        Call::new(&c, &t)
            .header("Prefer", "odata.continue-on-error")
            .post(&bu, &json!({"requests": items}))
            .await,
    )
    .await;
    assert_eq!(statuses(&v), [404, 200, 200]);
    assert_eq!(v["responses"][0]["id"], "1");
    assert!(
        v["responses"][0]["body"]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nobody-1")
    );
    assert_eq!(
        v["responses"][1]["body"]["value"][0]["Name"],
        "contoso.onmicrosoft.com"
    );
    let (_, m) = json_of(
        Call::new(&c, &t)
            .post(
                &url(&h.urls().exo, &tid),
                &body("Get-Mailbox", json!({"Identity": alias})),
            )
            .await,
    )
    .await;
    assert_eq!(m["value"][0]["CustomAttribute2"], "B");
    // Too many, a per-item fault, a whole-batch 429, and a service without $batch.
    let many: Vec<Value> = (0..21).map(|i| set(&i.to_string(), &alias)).collect();
    let (s, v) = json_of(
        Call::new(&c, &t)
            .post(&bu, &json!({"requests": many}))
            .await,
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 20"),
        "{v}"
    );
    h.admin.inject_spec("batchitem:item=2:status=503").unwrap();
    let (_, v) = json_of(
        Call::new(&c, &t)
            .header("Prefer", "odata.continue-on-error")
            .post(&bu, &json!({"requests": items}))
            .await,
    )
    .await;
    assert_eq!(statuses(&v), [404, 503, 200]);
    h.admin.inject_spec("429:retry=1.5").unwrap();
    let r = Call::new(&c, &t)
        .post(&bu, &json!({"requests": items}))
        .await;
    assert_eq!(r.status(), 429);
    h.admin.refuse_batch(Some(501));
    assert_eq!(
        Call::new(&c, &t)
            .post(&bu, &json!({"requests": items}))
            .await
            .status(),
        501
    );
    h.admin.refuse_batch(None);
    assert_eq!(
        Call::new(&c, &t)
            .post(&bu, &json!({"requests": items}))
            .await
            .status(),
        200
    );
}

async fn module_file(
    c: &reqwest::Client,
    origin: &str,
    tenant: &str,
    token: &str,
    anchor: &str,
) -> (u16, Value, String) {
    let r = c
        .get(format!(
            "{origin}/AdminApi/v1.0/{tenant}/EXOModuleFile?Version=3.9.0"
        ))
        .bearer_auth(token)
        .header("X-AnchorMailbox", anchor)
        .send()
        .await
        .unwrap();
    let (s, v) = json_of(r).await;
    let script = v["value"][0]["EncodedModule"]
        .as_str()
        .map(|b| {
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b).unwrap()).unwrap()
        })
        .unwrap_or_default();
    (s, v, script)
}

#[tokio::test]
async fn the_module_file_lists_what_the_roles_allow_and_invoke_accepts_the_same() {
    let h = sim(cfg(20)).await;
    let c = client();
    let exo = h.urls().exo.clone();
    let (s, v, script) =
        module_file(&c, &exo, "contoso.com", &ops(&h), "UPN:ops@contoso.com").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["value"][0]["ModuleVersion"], "3.9.0");
    let listed: Vec<String> = v["value"][0]["exportedCmdlets"]
        .as_str()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    for name in [
        "Get-Mailbox",
        "Get-EXOMailbox",
        "Get-Recipient",
        "Get-TransportRule",
        "Get-AcceptedDomain",
        "Get-InboundConnector",
        "Get-OutboundConnector",
        "Get-HostedContentFilterPolicy",
        "Get-MalwareFilterPolicy",
        "Get-QuarantineMessage",
        "Get-MessageTrace",
        "Set-Mailbox",
        "New-TransportRule",
        "Remove-TransportRule",
    ] {
        assert!(listed.iter().any(|l| l == name), "{name} in {listed:?}");
        assert!(
            script.contains(&format!("function script:{name}\n")),
            "{name}"
        );
        // Every listed cmdlet runs (read cmdlets answer rows).
        if name.starts_with("Get-") {
            let t = ops(&h);
            let (s, v) = json_of(
                Call::new(&c, &t)
                    .post(&url(&exo, "contoso.com"), &body(name, json!({})))
                    .await,
            )
            .await;
            assert_eq!(s, 200, "{name}: {v}");
            assert!(
                !v["value"].as_array().unwrap().is_empty(),
                "{name} has rows"
            );
        }
    }
    assert!(script.contains("param(") && script.contains("${Identity}"));
    assert!(script.contains("[Parameter(ParameterSetName='Filter')]"));
    assert!(
        !listed.iter().any(|l| l == "Get-RetentionCompliancePolicy"),
        "SCC cmdlets are on the SCC host"
    );
    // A Help Desk account sees fewer, and InvokeCommand refuses the others the same way.
    let desk = user_token(&h, "servicedesk@contoso.com", &exo, 600);
    let (_, v, _) = module_file(
        &c,
        &exo,
        "contoso.com",
        &desk,
        "UPN:servicedesk@contoso.com",
    )
    .await;
    let few: Vec<&str> = v["value"][0]["exportedCmdlets"]
        .as_str()
        .unwrap()
        .split(',')
        .collect();
    assert!(
        few.len() < listed.len()
            && few.contains(&"Get-Mailbox")
            && !few.contains(&"Get-TransportRule"),
        "{few:?}"
    );
    let mut call = Call::new(&c, &desk);
    call.anchor = Some("UPN:servicedesk@contoso.com");
    let (s, v) = json_of(
        call.post(
            &url(&exo, "contoso.com"),
            &body("Get-TransportRule", json!({})),
        )
        .await,
    )
    .await;
    assert_eq!(s, 403);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("is not recognized as the name of a cmdlet"),
        "{v}"
    );
    let (s, v) = json_of(
        Call::new(&c, &ops(&h))
            .post(&url(&exo, "contoso.com"), &body("Get-Nonsense", json!({})))
            .await,
    )
    .await;
    assert_eq!(s, 403);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("'Get-Nonsense' is not recognized as the name of a cmdlet")
    );
    // SCC: the global host redirects (how clients find the regional host), the regional lists
    // the compliance cmdlets.
    let scc = h.urls().scc.clone();
    let st = user_token(&h, "ops@contoso.com", &scc, 600);
    let r = c
        .get(format!("{scc}/AdminApi/v1.0/contoso.com/EXOModuleFile"))
        .bearer_auth(&st)
        .header("X-AnchorMailbox", "UPN:ops@contoso.com")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let (s, v, _) = module_file(
        &c,
        &h.urls().scc_regional,
        "contoso.com",
        &st,
        "UPN:ops@contoso.com",
    )
    .await;
    assert_eq!(s, 200);
    let names = v["value"][0]["exportedCmdlets"].as_str().unwrap();
    assert!(
        names.contains("Get-DlpCompliancePolicy")
            && names.contains("Get-RetentionCompliancePolicy")
    );
}
