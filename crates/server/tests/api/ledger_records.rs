//! Statements, staff adjustments (maker-checker) and ledger events, on both backends.

use crate::helpers::{TestApp, assert_error, json};
use crate::stories;
use futures::StreamExt;
use pb_domain::identity::roles::StaffRole;
use serde_json::{Value, json};

stories!(statements_add_up_in_json_and_csv, adjustments_need_two_staff_members, ledger_events_reach_subscribers,);

async fn statements_add_up_in_json_and_csv(app: TestApp) {
    let alice = app.verified_person("alice@statements.example", "individual").await;
    let bob = app.verified_person("bob@statements.example", "individual").await;
    let a = app.open_account(&alice, "USD").await;
    let b = app.open_account(&bob, "USD").await;
    app.deposit(&alice, &a, "10000").await;
    let r = app
        .post_idem(
            &alice.token,
            "/v1/transfers",
            "rent-1",
            json!({"from_account": a, "to": {"account_id": b}, "amount": "2500", "description": "=Rent, November"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let hold = json!({"from_account": a, "to": {"account_id": b}, "amount": "100", "hold": {"timeout_seconds": 600}});
    assert_eq!(app.post_idem(&alice.token, "/v1/transfers", "hold-1", hold).await.status(), 201);

    let st = json(app.get_as(&alice.token, &format!("/v1/accounts/{a}/statement")).await).await;
    assert_eq!(st["object"], "statement");
    assert_eq!((st["opening_balance"].as_str(), st["closing_balance"].as_str()), (Some("0"), Some("7500")));
    assert_eq!((st["total_in"].as_str(), st["total_out"].as_str()), (Some("10000"), Some("2500")));
    let lines = st["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "the hold is not a posted movement: {lines:?}");
    assert_eq!((lines[1]["amount"].as_str(), lines[1]["balance_after"].as_str()), (Some("-2500"), Some("7500")));
    assert_eq!(lines[1]["counterparty_account"], b.as_str());
    assert_eq!(st["account"]["balance"]["available"], "7400");

    let past =
        json(app.get_as(&alice.token, &format!("/v1/accounts/{a}/statement?from=2000-01-01&to=2000-01-31")).await)
            .await;
    assert_eq!((past["opening_balance"].as_str(), past["lines"].as_array().map(Vec::len)), (Some("0"), Some(0)));

    let r = app.get_as(&alice.token, &format!("/v1/accounts/{a}/statement?format=csv")).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(r.headers()["content-disposition"].to_str().unwrap().contains("attachment; filename=\"statement-acct_"));
    let text = r.text().await.unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 5, "{text}");
    assert_eq!(rows[0], "date,transfer_id,code,description,counterparty_account,amount,balance,asset");
    assert!(rows[1].ends_with(",,opening_balance,Opening balance,,,0.00,USD"), "{}", rows[1]);
    assert!(rows[2].contains(",100.00,100.00,USD"), "{}", rows[2]);
    assert!(rows[3].contains(",\"'=Rent, November\","), "a formula is defused and quoted: {}", rows[3]);
    assert!(rows[3].ends_with(",-25.00,75.00,USD"), "{}", rows[3]);
    assert!(rows[4].ends_with(",,closing_balance,Closing balance,,,75.00,USD"), "{}", rows[4]);
    let via_accept = app
        .client
        .get(app.url(&format!("/v1/accounts/{a}/statement")))
        .bearer_auth(&alice.token)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    let accepted = via_accept.text().await.unwrap();
    assert_eq!(accepted.lines().skip(2).take(2).collect::<Vec<_>>(), rows[2..4], "the same lines");

    let path = format!("/v1/accounts/{a}/statement");
    assert_error(app.get_as(&bob.token, &path).await, 404, "account_not_found").await;
    assert_error(app.get_as(&alice.token, &format!("{path}?format=pdf")).await, 400, "invalid_query_parameter").await;
    assert_error(app.get_as(&alice.token, &format!("{path}?from=yesterday")).await, 400, "invalid_query_parameter")
        .await;
    assert_error(
        app.get_as(&alice.token, &format!("{path}?from=2001-01-02&to=2001-01-01")).await,
        400,
        "invalid_query_parameter",
    )
    .await;
}

async fn adjustments_need_two_staff_members(app: TestApp) {
    let alice = app.verified_person("alice@adjust.example", "individual").await;
    let a = app.open_account(&alice, "USD").await;
    let maker = app.staff_member("maker@bank.example", StaffRole::ComplianceOfficer).await;
    let checker = app.staff_member("checker@bank.example", StaffRole::Admin).await;
    let support = app.staff_member("support@bank.example", StaffRole::Support).await;
    let propose = |direction: &str, amount: &str| {
        json!({"account_id": a, "direction": direction, "amount": amount,
               "reason": "Refund of a duplicated card fee", "corrects": null})
    };

    assert_error(
        app.post_as(&support.token, "/v1/admin/adjustments", propose("credit", "500")).await,
        403,
        "forbidden",
    )
    .await;
    assert_error(app.post_as(&alice.token, "/v1/admin/adjustments", propose("credit", "500")).await, 403, "forbidden")
        .await;
    let mut short = propose("credit", "500");
    short["reason"] = json!("oops");
    assert_error(app.post_as(&maker.token, "/v1/admin/adjustments", short).await, 422, "validation_failed").await;
    assert_error(
        app.post_as(&maker.token, "/v1/admin/adjustments", propose("credit", "5.00")).await,
        422,
        "invalid_amount",
    )
    .await;

    let r = app.post_as(&maker.token, "/v1/admin/adjustments", propose("credit", "500")).await;
    assert_eq!(r.status(), 201);
    let adj = json(r).await;
    assert_eq!(
        (adj["status"].as_str(), adj["proposed_by"].as_str()),
        (Some("pending_approval"), Some(maker.id.as_str()))
    );
    assert_eq!(app.balance(&alice, &a).await["posted"], "0", "nothing moves before approval");
    let approve = format!("/v1/admin/adjustments/{}/approve", adj["id"].as_str().unwrap());

    assert_error(app.post_as(&maker.token, &approve, json!({})).await, 403, "four_eyes_required").await;
    assert_error(app.post_as(&support.token, &approve, json!({})).await, 403, "forbidden").await;
    let done = json(app.post_as(&checker.token, &approve, json!({})).await).await;
    assert_eq!((done["status"].as_str(), done["decided_by"].as_str()), (Some("posted"), Some(checker.id.as_str())));
    let transfer_id = done["transfer_id"].as_str().unwrap().to_owned();
    assert_eq!(app.balance(&alice, &a).await["posted"], "500");
    let again = json(app.post_as(&checker.token, &approve, json!({})).await).await;
    assert_eq!(again["transfer_id"], transfer_id.as_str(), "a retried approval answers the same");
    assert_eq!(app.balance(&alice, &a).await["posted"], "500", "and moves nothing more");
    assert_error(app.post_as(&maker.token, &approve, json!({})).await, 409, "adjustment_already_decided").await;
    let history = json(app.get_as(&alice.token, &format!("/v1/accounts/{a}/transfers")).await).await;
    assert_eq!(history["data"][0]["code"], "adjustment");
    assert_eq!(history["data"][0]["description"], "Refund of a duplicated card fee");

    // A debit the account cannot cover fails in the ledger, visibly, and moves nothing.
    let big = json(app.post_as(&maker.token, "/v1/admin/adjustments", propose("debit", "10000")).await).await;
    let failed = json(
        app.post_as(
            &checker.token,
            &format!("/v1/admin/adjustments/{}/approve", big["id"].as_str().unwrap()),
            json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (failed["status"].as_str(), failed["failure_code"].as_str()),
        (Some("failed"), Some("insufficient_funds"))
    );
    assert_eq!(app.balance(&alice, &a).await["posted"], "500");

    let third = json(app.post_as(&maker.token, "/v1/admin/adjustments", propose("debit", "100")).await).await;
    let reject = format!("/v1/admin/adjustments/{}/reject", third["id"].as_str().unwrap());
    assert_error(app.post_as(&maker.token, &reject, json!({})).await, 403, "four_eyes_required").await;
    assert_eq!(json(app.post_as(&checker.token, &reject, json!({})).await).await["status"], "rejected");
    assert_error(app.post_as(&checker.token, &reject, json!({})).await, 409, "adjustment_already_decided").await;

    let pending = json(app.get_as(&support.token, "/v1/admin/adjustments?status=pending_approval").await).await;
    assert_eq!(pending["data"].as_array().unwrap().len(), 0);
    let all = json(app.get_as(&support.token, "/v1/admin/adjustments").await).await;
    let statuses: Vec<&str> = all["data"].as_array().unwrap().iter().map(|x| x["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["rejected", "failed", "posted"], "newest first");
    assert_error(app.get_as(&alice.token, "/v1/admin/adjustments").await, 403, "forbidden").await;
    assert_error(app.get_as(&support.token, "/v1/admin/adjustments/adj_nope").await, 400, "invalid_path_parameter")
        .await;

    let events = json(app.get_as(&checker.token, "/v1/admin/audit-events?limit=100").await).await;
    let kinds: Vec<&str> = events["data"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    for k in ["adjustment.proposed", "adjustment.approved", "adjustment.rejected"] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    let report = app.state.ledger().verify().await.unwrap();
    assert!(report.ok(), "{:?}", report.problems);
}

async fn ledger_events_reach_subscribers(app: TestApp) {
    let mut events = app.state.pubsub().subscribe(pb_ledger::EVENTS_CHANNEL).await.unwrap();
    let alice = app.verified_person("alice@events.example", "individual").await;
    let a = app.open_account(&alice, "USD").await;
    app.deposit(&alice, &a, "700").await;
    let message = tokio::time::timeout(std::time::Duration::from_secs(10), events.next())
        .await
        .expect("the relay publishes within seconds")
        .unwrap();
    let message: Value = serde_json::from_slice(&message).unwrap();
    let event = &message["events"][0];
    assert_eq!(event["type"], "transfer.posted");
    assert!(event["id"].as_str().unwrap().starts_with("evt_"));
    assert_eq!(event["data"]["owners"][1], alice.id.as_str());
    assert_eq!(event["data"]["transfer"]["code"], "sandbox_deposit");
}
