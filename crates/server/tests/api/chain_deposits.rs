//! Ethereum deposits against a real node (anvil): seen as pending, credited exactly once after
//! the confirmations are mined, visible in the account's history; a restart mid-way and a full
//! rescan credit nothing twice (issue 5, "Done when").

use crate::chain_support::*;
use crate::helpers::{Backend, TestApp, json};
use pb_chains::eth_rpc::EthRpc;
use pb_testkit::anvil::Anvil;
use serde_json::{Value, json};
use std::time::Duration;

const WEI: &str = "1500000000000000000";

async fn deposits(app: &TestApp, token: &str) -> Vec<Value> {
    json(app.get_as(token, "/v1/deposits").await).await["data"].as_array().unwrap().clone()
}

async fn start(backend: Backend, node: &Anvil, data_dir: &str, database_url: Option<&str>) -> TestApp {
    let mut vars = vec![
        ("DATA_DIR", data_dir),
        ("ETHEREUM_RPC_URL", node.url.as_str()),
        ("ETHEREUM_CHAIN_ID", "31337"),
        ("ETHEREUM_CONFIRMATIONS", "3"),
        ("CUSTODY_POLL_MILLIS", "100"),
        ("CUSTODY_MNEMONIC", BANK_MNEMONIC),
    ];
    if let Some(url) = database_url {
        vars.push(("DATABASE_URL", url));
    }
    TestApp::spawn_with(backend, &vars).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eth_deposits_are_credited_once_after_confirmations_across_a_restart() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let node = Anvil::start();
        let rpc = EthRpc::new(&node.url);
        let dir = pb_testkit::TempDir::new("deposits");
        let data_dir = dir.path().display().to_string();
        let first = start(backend, &node, &data_dir, None).await;
        let database_url = first.database_url.clone();
        let alice = first.verified_person("alice@deposits.example", "individual").await;
        let address =
            json(first.get_as(&alice.token, "/v1/deposit-addresses?chain=ethereum").await).await["data"][0]["address"]
                .as_str()
                .unwrap()
                .to_owned();
        // Let the watcher take its starting cursor at the current head before the payment.
        tokio::time::sleep(Duration::from_millis(400)).await;

        let tx = pay(&rpc, BANK_MNEMONIC, 9, &address, WEI.parse().unwrap()).await;
        wait_until("the deposit to be seen", || async { deposits(&first, &alice.token).await.len() == 1 }).await;
        let seen = deposits(&first, &alice.token).await;
        assert_eq!((seen[0]["status"].as_str(), seen[0]["amount"].as_str()), (Some("pending"), Some(WEI)));
        assert_eq!(seen[0]["tx_hash"], tx.as_str());
        assert_eq!(seen[0]["asset"], "ETH");

        // Restart mid-way, and make the new instance scan every block again.
        first.stop().await;
        rescan_from_genesis(backend, database_url.as_deref(), &data_dir).await;
        let app = start(backend, &node, &data_dir, database_url.as_deref()).await;
        rpc.call("anvil_mine", json!([3])).await.unwrap();
        wait_until("the credit", || async {
            deposits(&app, &alice.token).await.first().is_some_and(|d| d["status"] == "credited")
        })
        .await;
        let credited = deposits(&app, &alice.token).await;
        assert_eq!(credited.len(), 1, "seen twice, recorded once");
        let accounts = json(app.get_as(&alice.token, "/v1/accounts").await).await;
        let eth: Vec<&Value> = accounts["data"].as_array().unwrap().iter().filter(|a| a["asset"] == "ETH").collect();
        assert_eq!(eth.len(), 1, "an ETH account was opened for the deposit");
        assert_eq!(eth[0]["balance"]["posted"], WEI);
        let history =
            json(app.get_as(&alice.token, &format!("/v1/accounts/{}/transfers", eth[0]["id"].as_str().unwrap())).await)
                .await;
        assert_eq!(history["data"].as_array().unwrap().len(), 1);
        assert_eq!(history["data"][0]["code"], "deposit");
        assert_eq!(history["data"][0]["metadata"]["tx_hash"], tx.as_str());
        assert_eq!(history["data"][0]["id"], credited[0]["transfer_id"]);

        // Everything seen once more: still one credit.
        rescan_from_genesis(backend, database_url.as_deref(), &data_dir).await;
        rpc.call("anvil_mine", json!([2])).await.unwrap();
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(deposits(&app, &alice.token).await.len(), 1);
        let again =
            json(app.get_as(&alice.token, &format!("/v1/accounts/{}", eth[0]["id"].as_str().unwrap())).await).await;
        assert_eq!(again["balance"]["posted"], WEI, "{backend:?}: credited exactly once");
        let report = app.state.ledger().verify().await.unwrap();
        assert!(report.ok(), "{:?}", report.problems);
    }
}
