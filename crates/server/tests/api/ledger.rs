//! Ledger stories (issue 4), on SQLite and on PostgreSQL + Redis.

use crate::helpers::{Backend, TestApp, assert_error, json};
use crate::people::{PASSWORD, Person};
use crate::stories;
use serde_json::{Value, json};

stories!(
    accounts_deposits_transfers_and_history,
    bad_transfers_are_refused_and_write_nothing,
    idempotency_keys_replay_refuse_and_remember_failures,
    holds_capture_once_void_once_and_expire,
    batches_are_per_item_or_all_or_nothing,
    a_blank_description_is_none,
);

impl TestApp {
    pub async fn post_idem(&self, token: &str, path: &str, key: &str, body: Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn open_account(&self, p: &Person, asset: &str) -> String {
        let key = format!("open-{}", uuid::Uuid::new_v4());
        let r = self.post_idem(&p.token, "/v1/accounts", &key, json!({"asset": asset, "name": "Main"})).await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        json(r).await["id"].as_str().unwrap().to_owned()
    }

    pub async fn deposit(&self, p: &Person, account: &str, amount: &str) {
        let key = format!("dep-{}", uuid::Uuid::new_v4());
        let r = self
            .post_idem(&p.token, "/v1/sandbox/deposits", &key, json!({"account_id": account, "amount": amount}))
            .await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }

    pub async fn balance(&self, p: &Person, account: &str) -> Value {
        json(self.get_as(&p.token, &format!("/v1/accounts/{account}")).await).await["balance"].clone()
    }

    pub async fn send(&self, p: &Person, key: &str, from: &str, to: &str, amount: &str) -> reqwest::Response {
        self.post_idem(
            &p.token,
            "/v1/transfers",
            key,
            json!({"from_account": from, "to": {"account_id": to}, "amount": amount}),
        )
        .await
    }
}

async fn accounts_deposits_transfers_and_history(app: TestApp) {
    let assets = json(app.get("/v1/assets").await).await;
    let codes: Vec<(&str, u64)> = assets["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["code"].as_str().unwrap(), a["scale"].as_u64().unwrap()))
        .collect();
    for expected in [("USD", 2), ("JPY", 0), ("ETH", 18), ("SOL", 9), ("USDC-ETH", 6), ("USDC-SOL", 6)] {
        assert!(codes.contains(&expected), "{codes:?}");
    }

    let alice = app.verified_person("alice@ledger.example", "individual").await;
    let bob = app.verified_person("bob@ledger.example", "individual").await;
    let a_usd = app.open_account(&alice, "USD").await;
    let a_savings = app.open_account(&alice, "USD").await;
    let b_usd = app.open_account(&bob, "USD").await;
    let a_eth = app.open_account(&alice, "ETH").await;

    app.deposit(&alice, &a_usd, "10000").await;
    app.deposit(&alice, &a_eth, "1500000000000000000").await;
    assert_eq!(app.balance(&alice, &a_eth).await["posted"], "1500000000000000000", "18 decimals stay exact");

    let t = json(app.send(&alice, "t-1", &a_usd, &a_savings, "2500").await).await;
    assert_eq!(t["status"], "posted");
    assert_eq!(t["amount"], "2500");
    let by_email = app
        .post_idem(&alice.token, "/v1/transfers", "t-2", json!({"from_account": a_usd, "to": {"email": "BOB@ledger.example"}, "amount": "1000", "description": "lunch"}))
        .await;
    assert_eq!(by_email.status(), 201);
    let by_email = json(by_email).await;
    assert_eq!(by_email["to_account"], b_usd.as_str());
    assert_eq!(by_email["description"], "lunch");
    assert_eq!(app.balance(&alice, &a_usd).await["posted"], "6500");
    assert_eq!(app.balance(&bob, &b_usd).await["available"], "1000");

    // History: newest first, with the balance after each transfer, paginated.
    let page1 = json(app.get_as(&alice.token, &format!("/v1/accounts/{a_usd}/transfers?limit=2")).await).await;
    let rows = page1["data"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(page1["has_more"], true);
    assert_eq!(rows[0]["balance_after"], "6500");
    assert_eq!(rows[1]["balance_after"], "7500");
    let last = rows[1]["id"].as_str().unwrap();
    let page2 =
        json(app.get_as(&alice.token, &format!("/v1/accounts/{a_usd}/transfers?limit=2&starting_after={last}")).await)
            .await;
    assert_eq!(page2["data"][0]["balance_after"], "10000");
    assert_eq!(page2["has_more"], false);

    // Both parties see the transfer; nobody else does.
    let path = format!("/v1/transfers/{}", by_email["id"].as_str().unwrap());
    assert_eq!(app.get_as(&bob.token, &path).await.status(), 200);
    let eve = app.verified_person("eve@ledger.example", "individual").await;
    assert_error(app.get_as(&eve.token, &path).await, 404, "transfer_not_found").await;
    assert_error(app.get_as(&eve.token, &format!("/v1/accounts/{a_usd}")).await, 404, "account_not_found").await;
    let listed = json(app.get_as(&alice.token, "/v1/accounts").await).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 3);

    // Close only at zero.
    assert_error(
        app.post_as(&alice.token, &format!("/v1/accounts/{a_savings}/close"), json!({})).await,
        409,
        "account_not_empty",
    )
    .await;
    assert_eq!(app.send(&alice, "t-3", &a_savings, &a_usd, "2500").await.status(), 201);
    let closed = json(app.post_as(&alice.token, &format!("/v1/accounts/{a_savings}/close"), json!({})).await).await;
    assert_eq!(closed["status"], "closed");
}

async fn bad_transfers_are_refused_and_write_nothing(app: TestApp) {
    let alice = app.verified_person("alice@bad.example", "individual").await;
    let bob = app.verified_person("bob@bad.example", "individual").await;
    let usd = app.open_account(&alice, "USD").await;
    let eur = app.open_account(&alice, "EUR").await;
    let bob_usd = app.open_account(&bob, "USD").await;
    let closed = app.open_account(&bob, "USD").await;
    assert_eq!(app.post_as(&bob.token, &format!("/v1/accounts/{closed}/close"), json!({})).await.status(), 200);
    app.deposit(&alice, &usd, "5000").await;
    app.deposit(&bob, &bob_usd, "5000").await;
    let history_len = |acct: String, who: &'static str| {
        let token = if who == "alice" { alice.token.clone() } else { bob.token.clone() };
        let app = &app;
        async move {
            json(app.get_as(&token, &format!("/v1/accounts/{acct}/transfers?limit=100")).await).await["data"]
                .as_array()
                .unwrap()
                .len()
        }
    };
    let before = (history_len(usd.clone(), "alice").await, history_len(bob_usd.clone(), "bob").await);

    let (app_ref, token) = (&app, alice.token.clone());
    let t = |key: &str, from: &str, to: Value, amount: Value| {
        let (key, body, token) =
            (key.to_owned(), json!({"from_account": from, "to": to, "amount": amount}), token.clone());
        async move { app_ref.post_idem(&token, "/v1/transfers", &key, body).await }
    };
    assert_error(t("b1", &usd, json!({"account_id": eur}), json!("100")).await, 422, "asset_mismatch").await;
    for (i, bad) in
        [json!("0"), json!("-5"), json!("10.50"), json!(1050), json!("ten"), json!(null), json!(" 100"), json!("0100")]
            .into_iter()
            .enumerate()
    {
        let r = t(&format!("amt-{i}"), &usd, json!({"account_id": bob_usd}), bad.clone()).await;
        assert_eq!(assert_error(r, 422, "invalid_amount").await["error"]["param"], "amount", "{bad}");
    }
    let ghost = format!("acct_{}", uuid::Uuid::now_v7().simple());
    assert_error(t("b2", &usd, json!({"account_id": ghost}), json!("100")).await, 404, "account_not_found").await;
    assert_error(t("b3", &usd, json!({"account_id": closed}), json!("100")).await, 409, "account_closed").await;
    assert_error(t("b4", &bob_usd, json!({"account_id": usd}), json!("100")).await, 404, "account_not_found").await;
    assert_error(t("b5", &usd, json!({"account_id": usd}), json!("100")).await, 422, "same_account").await;
    assert_error(t("b6", &usd, json!({"account_id": bob_usd}), json!("5001")).await, 402, "insufficient_funds").await;
    assert_error(t("b7", "acct_nope", json!({"account_id": bob_usd}), json!("1")).await, 422, "validation_failed")
        .await;
    assert_error(t("b8", &usd, json!({"email": "nobody@bad.example"}), json!("1")).await, 404, "recipient_not_found")
        .await;
    let no_key = app
        .client
        .post(app.url("/v1/transfers"))
        .bearer_auth(&alice.token)
        .json(&json!({"from_account": usd, "to": {"account_id": bob_usd}, "amount": "1"}))
        .send()
        .await
        .unwrap();
    assert_error(no_key, 400, "idempotency_key_missing").await;
    let unknown = app.post_idem(&alice.token, "/v1/accounts", "acct-x", json!({"asset": "DOGE"})).await;
    assert_error(unknown, 422, "unknown_asset").await;
    assert_error(app.get("/v1/accounts").await, 401, "unauthenticated").await;

    // An unverified user can hold an account but not move money.
    app.register("carl@bad.example", "individual").await;
    let carl =
        json(app.login("carl@bad.example", PASSWORD).await).await["session"]["token"].as_str().unwrap().to_owned();
    let r = app.post_idem(&carl, "/v1/accounts", "c1", json!({"asset": "USD"})).await;
    assert_error(r, 403, "email_not_verified").await;

    assert_eq!(app.balance(&alice, &usd).await["posted"], "5000");
    assert_eq!(app.balance(&bob, &bob_usd).await["posted"], "5000");
    assert_eq!(
        (history_len(usd.clone(), "alice").await, history_len(bob_usd.clone(), "bob").await),
        before,
        "nothing written"
    );
}

async fn idempotency_keys_replay_refuse_and_remember_failures(app: TestApp) {
    let alice = app.verified_person("alice@idem.example", "individual").await;
    let from = app.open_account(&alice, "USD").await;
    let to = app.open_account(&alice, "USD").await;

    // A failure is remembered: funding afterwards does not make the same key succeed.
    assert_error(app.send(&alice, "k-fail", &from, &to, "100").await, 402, "insufficient_funds").await;
    app.deposit(&alice, &from, "10000").await;
    let retried = app.send(&alice, "k-fail", &from, &to, "100").await;
    assert_eq!(retried.headers().get("idempotent-replayed").map(|v| v.to_str().unwrap()), Some("true"));
    assert_error(retried, 402, "insufficient_funds").await;

    // 50 concurrent requests with one key: one transfer, the same answer for all.
    let requests = (0..50).map(|_| app.send(&alice, "k-same", &from, &to, "100"));
    let responses = futures::future::join_all(requests).await;
    let mut ids = std::collections::HashSet::new();
    for r in responses {
        assert_eq!(r.status(), 201);
        ids.insert(json(r).await["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(app.balance(&alice, &from).await["posted"], "9900");

    // Same key, different body: refused with a stable code, nothing written.
    let other = app.send(&alice, "k-same", &from, &to, "200").await;
    assert_error(other, 422, "idempotency_key_reused").await;
    assert_eq!(app.balance(&alice, &from).await["posted"], "9900");
    // Keys are per caller: another user may use the same key.
    let bob = app.verified_person("bob@idem.example", "individual").await;
    let b = app.open_account(&bob, "USD").await;
    app.deposit(&bob, &b, "100").await;
    assert_eq!(app.send(&bob, "k-same", &b, &to, "100").await.status(), 201);

    // Keys are remembered for the retention period, then forgotten: the same key is then a new
    // request (here it succeeds, the account being funded now), and the journal keeps everything.
    let ledger = app.state.ledger();
    assert_eq!(pb_ledger::forget_once(ledger, std::time::Duration::from_secs(3600)).await.unwrap(), 0);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert!(pb_ledger::forget_once(ledger, std::time::Duration::ZERO).await.unwrap() >= 5);
    let fresh = app.send(&alice, "k-fail", &from, &to, "100").await;
    assert_eq!(fresh.status(), 201);
    assert!(fresh.headers().get("idempotent-replayed").is_none());
    assert_eq!(app.balance(&alice, &from).await["posted"], "9800");
    assert!(ledger.verify().await.unwrap().ok());
}

async fn holds_capture_once_void_once_and_expire(app: TestApp) {
    let alice = app.verified_person("alice@holds.example", "individual").await;
    let shop = app.verified_person("shop@holds.example", "individual").await;
    let a = app.open_account(&alice, "USD").await;
    let s = app.open_account(&shop, "USD").await;
    app.deposit(&alice, &a, "10000").await;
    let hold = |key: &'static str, amount: &'static str, secs: u32| {
        app.post_idem(
            &alice.token,
            "/v1/transfers",
            key,
            json!({"from_account": a, "to": {"account_id": s}, "amount": amount, "hold": {"timeout_seconds": secs}}),
        )
    };
    let h = json(hold("h1", "6000", 3600).await).await;
    assert_eq!((h["type"].as_str(), h["status"].as_str()), (Some("hold"), Some("pending")));
    let bal = app.balance(&alice, &a).await;
    assert_eq!(
        (bal["posted"].as_str(), bal["available"].as_str(), bal["pending_outgoing"].as_str()),
        (Some("10000"), Some("4000"), Some("6000"))
    );
    assert_error(app.send(&alice, "over", &a, &s, "4001").await, 402, "insufficient_funds").await;

    let hold_path = format!("/v1/transfers/{}", h["id"].as_str().unwrap());
    // The payee captures part; the rest returns. A second capture or a void fails.
    let cap = app.post_idem(&shop.token, &format!("{hold_path}/capture"), "c1", json!({"amount": "2500"})).await;
    assert_eq!(cap.status(), 201);
    assert_eq!(json(cap).await["type"], "capture");
    assert_error(
        app.post_idem(&shop.token, &format!("{hold_path}/capture"), "c2", json!({})).await,
        409,
        "hold_not_pending",
    )
    .await;
    assert_error(
        app.post_idem(&alice.token, &format!("{hold_path}/void"), "v1", json!({})).await,
        409,
        "hold_not_pending",
    )
    .await;
    assert_eq!(json(app.get_as(&alice.token, &hold_path).await).await["status"], "captured");
    assert_eq!(app.balance(&alice, &a).await["available"], "7500");
    assert_eq!(app.balance(&shop, &s).await["posted"], "2500");

    // A hold voids once; an over-capture is refused.
    let h2 = json(hold("h2", "1000", 3600).await).await;
    let p2 = format!("/v1/transfers/{}", h2["id"].as_str().unwrap());
    assert_error(
        app.post_idem(&shop.token, &format!("{p2}/capture"), "c3", json!({"amount": "1001"})).await,
        422,
        "exceeds_hold",
    )
    .await;
    let outsider = app.verified_person("x@holds.example", "individual").await;
    assert_error(
        app.post_idem(&outsider.token, &format!("{p2}/void"), "v2", json!({})).await,
        404,
        "transfer_not_found",
    )
    .await;
    let void = app
        .client
        .post(app.url(&format!("{p2}/void")))
        .bearer_auth(&alice.token)
        .header("idempotency-key", "v3")
        .send()
        .await
        .unwrap();
    assert_eq!(void.status(), 201, "a void needs no body");
    assert_error(app.post_idem(&alice.token, &format!("{p2}/void"), "v4", json!({})).await, 409, "hold_not_pending")
        .await;

    // An expired hold voids itself.
    let h3 = json(hold("h3", "500", 1).await).await;
    assert_eq!(app.balance(&alice, &a).await["available"], "7000");
    let p3 = format!("/v1/transfers/{}", h3["id"].as_str().unwrap());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        if json(app.get_as(&alice.token, &p3).await).await["status"] == "voided" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the expired hold was not voided");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(app.balance(&alice, &a).await["available"], "7500");
    assert_error(app.post_idem(&shop.token, &format!("{p3}/capture"), "c4", json!({})).await, 409, "hold_not_pending")
        .await;
}

async fn batches_are_per_item_or_all_or_nothing(app: TestApp) {
    let alice = app.verified_person("alice@batch.example", "individual").await;
    let a = app.open_account(&alice, "USD").await;
    let b = app.open_account(&alice, "USD").await;
    app.deposit(&alice, &a, "1000").await;
    let item = |amount: &str| json!({"from_account": a, "to": {"account_id": b}, "amount": amount});

    let atomic = app
        .post_idem(
            &alice.token,
            "/v1/transfers/batch",
            "b1",
            json!({"atomic": true, "transfers": [item("400"), item("400"), item("400")]}),
        )
        .await;
    assert_eq!(atomic.status(), 200);
    let body = json(atomic).await;
    let codes: Vec<&str> =
        body["data"].as_array().unwrap().iter().map(|i| i["error"]["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["linked_transfer_failed", "linked_transfer_failed", "insufficient_funds"]);
    assert_eq!(app.balance(&alice, &a).await["posted"], "1000", "an atomic batch that fails writes nothing");

    let loose = json(
        app.post_idem(
            &alice.token,
            "/v1/transfers/batch",
            "b2",
            json!({"transfers": [item("400"), item("400"), item("400")]}),
        )
        .await,
    )
    .await;
    let data = loose["data"].as_array().unwrap();
    assert!(data[0]["transfer"]["id"].is_string() && data[1]["transfer"]["id"].is_string());
    assert_eq!(data[2]["error"]["code"], "insufficient_funds");
    assert_eq!(app.balance(&alice, &a).await["posted"], "200");

    let too_many: Vec<Value> = (0..1001).map(|_| item("1")).collect();
    assert_error(
        app.post_idem(&alice.token, "/v1/transfers/batch", "b3", json!({"transfers": too_many})).await,
        422,
        "validation_failed",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_transfers_through_two_instances_never_overdraw() {
    let one = TestApp::spawn(Backend::Postgres).await;
    let db = one.database_url.clone().unwrap();
    let two = TestApp::spawn_with(Backend::Postgres, &[("DATABASE_URL", &db)]).await;
    let alice = one.verified_person("alice@race.example", "individual").await;
    let bob = one.verified_person("bob@race.example", "individual").await;
    let from = one.open_account(&alice, "USD").await;
    let to = one.open_account(&bob, "USD").await;
    one.deposit(&alice, &from, "10000").await;

    let sends = (0..200).map(|i| {
        let app = if i % 2 == 0 { &one } else { &two };
        app.send(&alice, Box::leak(format!("race-{i}").into_boxed_str()), &from, &to, "100")
    });
    let responses = futures::future::join_all(sends).await;
    let (mut ok, mut refused) = (0, 0);
    for r in responses {
        match r.status().as_u16() {
            201 => ok += 1,
            402 => refused += 1,
            other => panic!("unexpected {other}: {}", r.text().await.unwrap()),
        }
    }
    assert_eq!((ok, refused), (100, 100));
    assert_eq!(one.balance(&alice, &from).await["posted"], "0");
    assert_eq!(two.balance(&bob, &to).await["posted"], "10000");
}

/// `protocol-bank ledger verify` passes on an honest ledger and fails, naming the row, when a
/// journal row is changed behind the application's back (append-only triggers disabled first,
/// as only a database superuser could).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ledger_verify_detects_a_row_changed_behind_the_applications_back() {
    use sqlx::Connection;
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let dir = pb_testkit::TempDir::new("verify");
        let data_dir = dir.path().display().to_string();
        let app = TestApp::spawn_with(backend, &[("DATA_DIR", &data_dir)]).await;
        let alice = app.verified_person("alice@verify.example", "individual").await;
        let a = app.open_account(&alice, "USD").await;
        let b = app.open_account(&alice, "USD").await;
        app.deposit(&alice, &a, "1000").await;
        assert_eq!(app.send(&alice, "v1", &a, &b, "300").await.status(), 201);

        let verify = || {
            let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_protocol-bank"));
            cmd.env_clear().env("DATA_DIR", &data_dir).arg("ledger").arg("verify");
            if let Some(url) = &app.database_url {
                cmd.env("DATABASE_URL", url);
            }
            cmd.output().unwrap()
        };
        let ok = verify();
        assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stdout));
        assert!(String::from_utf8_lossy(&ok.stdout).contains("2 transfers, hash chain intact"));

        match &app.database_url {
            Some(url) => {
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::query("ALTER TABLE ledger_transfers DISABLE TRIGGER ledger_transfers_append_only")
                    .execute(&mut conn)
                    .await
                    .unwrap();
                sqlx::query("UPDATE ledger_transfers SET amount = amount + 1 WHERE seq = 2")
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
            None => {
                let file = format!("sqlite://{data_dir}/protocol-bank.db");
                let mut conn = sqlx::SqliteConnection::connect(&file).await.unwrap();
                sqlx::query("DROP TRIGGER ledger_transfers_no_update").execute(&mut conn).await.unwrap();
                sqlx::query("UPDATE ledger_transfers SET amount = '301' WHERE seq = 2")
                    .execute(&mut conn)
                    .await
                    .unwrap();
            }
        }
        let bad = verify();
        let report = String::from_utf8_lossy(&bad.stdout);
        assert_eq!(bad.status.code(), Some(2), "{report}");
        assert!(
            report.contains("LEDGER VERIFY FAILED")
                && report.contains("hash mismatch")
                && report.contains("differ from its transfers"),
            "{report}"
        );
    }
}

async fn a_blank_description_is_none(app: TestApp) {
    let alice = app.verified_person("alice@blank.example", "individual").await;
    let (a, b) = (app.open_account(&alice, "USD").await, app.open_account(&alice, "USD").await);
    app.deposit(&alice, &a, "100").await;
    for (key, description) in [("blank", json!("  ")), ("empty", json!("")), ("none", Value::Null)] {
        let body = json!({"from_account": a, "to": {"account_id": b}, "amount": "1", "description": description});
        let t = json(app.post_idem(&alice.token, "/v1/transfers", key, body).await).await;
        assert_eq!(t["status"], "posted", "{t}");
        assert!(t["description"].is_null(), "{key}: {t}");
    }
}
