//! Ethereum withdrawals against a real node (anvil): held, signed by the hot wallet, broadcast,
//! confirmed and captured with the fee posted; concurrent ones get consecutive nonces; one the
//! chain refuses (hot wallet without gas) voids its holds; bad input holds nothing (issue 5).

use crate::chain_support::*;
use crate::helpers::{Backend, TestApp, assert_error, json};
use crate::people::Person;
use pb_chains::MasterSeed;
use pb_chains::eth_rpc::{EthRpc, hex_u64};
use pb_testkit::anvil::Anvil;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn withdraw(app: &TestApp, p: &Person, key: &str, body: Value) -> reqwest::Response {
    app.post_idem(&p.token, "/v1/withdrawals", key, body).await
}

async fn status_of(app: &TestApp, p: &Person, id: &str) -> Value {
    json(app.get_as(&p.token, &format!("/v1/withdrawals/{id}")).await).await
}

/// Mines a block now and then (anvil mines one per transaction; confirmations need more).
async fn until_all(app: &TestApp, p: &Person, rpc: &EthRpc, ids: &[String], wanted: &str) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut all = Vec::new();
        for id in ids {
            all.push(status_of(app, p, id).await);
        }
        if all.iter().all(|w| w["status"] == wanted) {
            return all;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {wanted}: {all:?}");
        rpc.call("anvil_mine", json!([1])).await.unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eth_withdrawals_confirm_fail_safely_and_never_collide() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let node = Anvil::start();
        let rpc = EthRpc::new(&node.url);
        let app = TestApp::spawn_with(
            backend,
            &[
                ("ETHEREUM_RPC_URL", node.url.as_str()),
                ("ETHEREUM_CHAIN_ID", "31337"),
                ("ETHEREUM_CONFIRMATIONS", "2"),
                ("CUSTODY_POLL_MILLIS", "100"),
                ("CUSTODY_MNEMONIC", BANK_MNEMONIC),
            ],
        )
        .await;
        let alice = app.verified_person("alice@withdraw.example", "individual").await;
        let eth = app.open_account(&alice, "ETH").await;
        let usd = app.open_account(&alice, "USD").await;
        app.deposit(&alice, &eth, &(5 * ETH).to_string()).await;
        app.deposit(&alice, &usd, "1000").await;
        let external = MasterSeed::from_mnemonic(BANK_MNEMONIC, "").unwrap().ethereum_address(15).unwrap();
        let to = external.to_string();
        let body = |amount: u128| json!({"account_id": eth, "chain": "ethereum", "to_address": to, "amount": amount.to_string()});

        assert_error(withdraw(&app, &alice, "w-nomfa", body(ETH)).await, 403, "mfa_required").await;
        app.step_up(&alice).await;

        // Bad input: clear errors, nothing held, nothing broadcast.
        let mut bad = body(ETH);
        bad["to_address"] = json!(to.to_lowercase().replacen('a', "A", 1));
        if bad["to_address"] != to {
            assert_error(withdraw(&app, &alice, "w-bad-1", bad).await, 422, "invalid_address").await;
        }
        let mut bad = body(ETH);
        bad["to_address"] = json!("0x1234");
        assert_error(withdraw(&app, &alice, "w-bad-2", bad).await, 422, "invalid_address").await;
        let mut bad = body(ETH);
        bad["amount"] = json!("1.5");
        assert_error(withdraw(&app, &alice, "w-bad-3", bad).await, 422, "invalid_amount").await;
        assert_error(withdraw(&app, &alice, "w-bad-4", body(100 * ETH)).await, 402, "insufficient_funds").await;
        let mut bad = body(ETH);
        bad["account_id"] = json!(usd);
        assert_error(withdraw(&app, &alice, "w-bad-5", bad).await, 422, "unsupported_asset").await;
        let mut bad = body(ETH);
        bad["chain"] = json!("bitcoin");
        assert_error(withdraw(&app, &alice, "w-bad-6", bad).await, 422, "validation_failed").await;
        assert_eq!(app.balance(&alice, &eth).await["pending_outgoing"], "0", "nothing held");

        // One withdrawal, end to end; its retry answers the same withdrawal.
        let before = rpc.balance(&external).await.unwrap();
        let r = withdraw(&app, &alice, "w-1", body(4 * ETH / 10)).await;
        assert_eq!(r.status(), 202);
        let id = json(r).await["id"].as_str().unwrap().to_owned();
        let again = withdraw(&app, &alice, "w-1", body(4 * ETH / 10)).await;
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(json(again).await["id"], id.as_str());
        assert_eq!(app.balance(&alice, &eth).await["pending_outgoing"], (4 * ETH / 10 + ETH_FEE).to_string());
        let done = until_all(&app, &alice, &rpc, std::slice::from_ref(&id), "confirmed").await;
        assert!(done[0]["tx_hash"].as_str().unwrap().starts_with("0x"));
        assert_eq!(rpc.balance(&external).await.unwrap() - before, 4 * ETH / 10, "exact wei arrived");
        let b = app.balance(&alice, &eth).await;
        assert_eq!(b["posted"], (5 * ETH - 4 * ETH / 10 - ETH_FEE).to_string(), "amount and fee captured");
        assert_eq!(b["pending_outgoing"], "0");

        // Twenty at once: all confirm, with consecutive nonces from the hot wallet.
        let bodies: Vec<_> = (0..20).map(|i| (format!("w-many-{i}"), body(ETH / 100))).collect();
        let sent = futures::future::join_all(bodies.iter().map(|(k, b)| withdraw(&app, &alice, k, b.clone()))).await;
        let mut ids = Vec::new();
        for r in sent {
            assert_eq!(r.status(), 202);
            ids.push(json(r).await["id"].as_str().unwrap().to_owned());
        }
        let all = until_all(&app, &alice, &rpc, &ids, "confirmed").await;
        let mut nonces = Vec::new();
        for w in &all {
            let tx = rpc.call("eth_getTransactionByHash", json!([w["tx_hash"]])).await.unwrap();
            nonces.push(hex_u64(&tx["nonce"]).unwrap());
        }
        nonces.sort_unstable();
        assert!(nonces.windows(2).all(|p| p[1] == p[0] + 1), "consecutive nonces: {nonces:?}");

        // The hot wallet cannot pay gas: the chain refuses, the holds are voided.
        let hot = MasterSeed::from_mnemonic(BANK_MNEMONIC, "").unwrap().ethereum_address(0).unwrap();
        rpc.call("anvil_setBalance", json!([hot.to_string(), "0x0"])).await.unwrap();
        let available = app.balance(&alice, &eth).await["available"].clone();
        let r = withdraw(&app, &alice, "w-nogas", body(ETH / 10)).await;
        let failed_id = json(r).await["id"].as_str().unwrap().to_owned();
        let failed = until_all(&app, &alice, &rpc, std::slice::from_ref(&failed_id), "failed").await;
        assert_eq!(failed[0]["failure"], "network_refused", "a stable code, not the node's words: {failed:?}");
        assert!(failed[0]["tx_hash"].is_null(), "never on chain, so no hash to show");
        assert_eq!(app.balance(&alice, &eth).await["available"], available, "{backend:?}: funds returned");

        let list = json(app.get_as(&alice.token, "/v1/withdrawals").await).await;
        assert_eq!(list["data"].as_array().unwrap().len(), 22);
        let report = app.state.ledger().verify().await.unwrap();
        assert!(report.ok(), "{:?}", report.problems);
    }
}
