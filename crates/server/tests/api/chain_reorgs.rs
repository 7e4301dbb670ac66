//! Chain trouble against a real node (anvil): a reorganisation that removes a pending deposit
//! drops it, one that removes a credited deposit flags it for staff (never silently reversed);
//! a withdrawal stuck in the mempool is replaced at the same nonce with higher fees (issue 5).

use crate::chain_support::*;
use crate::helpers::{Backend, TestApp, assert_error, json};
use pb_chains::EthAddress;
use pb_chains::eth_rpc::EthRpc;
use pb_domain::identity::roles::StaffRole;
use pb_testkit::anvil::Anvil;
use serde_json::{Value, json};
use std::time::Duration;

async fn deposit_status(app: &TestApp, token: &str, tx: &str) -> Option<String> {
    let list = json(app.get_as(token, "/v1/deposits").await).await;
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["tx_hash"] == tx)
        .map(|d| d["status"].as_str().unwrap().to_owned())
}

async fn app_on(node: &Anvil, extra: &[(&str, &str)]) -> TestApp {
    let mut vars = vec![
        ("ETHEREUM_RPC_URL", node.url.as_str()),
        ("ETHEREUM_CHAIN_ID", "31337"),
        ("ETHEREUM_CONFIRMATIONS", "3"),
        ("CUSTODY_POLL_MILLIS", "100"),
        ("CUSTODY_MNEMONIC", BANK_MNEMONIC),
    ];
    vars.extend_from_slice(extra);
    TestApp::spawn_with(Backend::Postgres, &vars).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reorganisations_drop_pending_deposits_and_flag_credited_ones() {
    let node = Anvil::start();
    let rpc = EthRpc::new(&node.url);
    let app = app_on(&node, &[]).await;
    let alice = app.verified_person("alice@reorg.example", "individual").await;
    let address =
        json(app.get_as(&alice.token, "/v1/deposit-addresses?chain=ethereum").await).await["data"][0]["address"]
            .as_str()
            .unwrap()
            .to_owned();
    tokio::time::sleep(Duration::from_millis(400)).await;

    // A pending deposit whose block is reorganised away is dropped, never credited.
    let snapshot: Value = rpc.call("evm_snapshot", json!([])).await.unwrap();
    let tx = pay(&rpc, BANK_MNEMONIC, 9, &address, ETH).await;
    wait_until("pending", || async { deposit_status(&app, &alice.token, &tx).await.as_deref() == Some("pending") })
        .await;
    rpc.call("evm_revert", json!([snapshot])).await.unwrap();
    rpc.call("anvil_mine", json!([4])).await.unwrap();
    wait_until("dropped", || async { deposit_status(&app, &alice.token, &tx).await.as_deref() == Some("dropped") })
        .await;

    // A credited deposit reorganised away is flagged `reorged` for staff; the credit stays
    // in the ledger (corrections are staff adjustments) and nothing is credited twice.
    let snapshot: Value = rpc.call("evm_snapshot", json!([])).await.unwrap();
    let tx = pay(&rpc, BANK_MNEMONIC, 9, &address, 2 * ETH).await;
    rpc.call("anvil_mine", json!([3])).await.unwrap();
    wait_until("credited", || async { deposit_status(&app, &alice.token, &tx).await.as_deref() == Some("credited") })
        .await;
    rpc.call("evm_revert", json!([snapshot])).await.unwrap();
    rpc.call("anvil_mine", json!([6])).await.unwrap();
    wait_until("reorged", || async { deposit_status(&app, &alice.token, &tx).await.as_deref() == Some("reorged") })
        .await;
    let accounts = json(app.get_as(&alice.token, "/v1/accounts").await).await;
    assert_eq!(accounts["data"][0]["balance"]["posted"], (2 * ETH).to_string(), "credited once, not reversed");
    // The shortfall sits in suspense for staff, once however often the watcher looks again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let suspense = app.state.ledger().system_balance("suspense_ethereum", "ETH").await.unwrap();
    assert_eq!(suspense, -i128::try_from(2 * ETH).unwrap());
    let staff = app.staff_member("ops@reorgs.example", StaffRole::ComplianceOfficer).await;
    let listed = json(app.get_as(&staff.token, "/v1/admin/deposits").await).await;
    let rows = listed["data"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{listed}");
    assert_eq!((rows[0]["tx_hash"].as_str(), rows[0]["owner"].as_str()), (Some(tx.as_str()), Some(alice.id.as_str())));
    assert_eq!(rows[0]["status"], "reorged");
    assert_error(app.get_as(&alice.token, "/v1/admin/deposits").await, 403, "forbidden").await;
    assert_error(app.get_as(&staff.token, "/v1/admin/deposits?status=lost").await, 422, "validation_failed").await;
    let report = app.state.ledger().verify().await.unwrap();
    assert!(report.ok(), "{:?}", report.problems);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_withdrawal_is_replaced_with_higher_fees_and_confirms_once() {
    let node = Anvil::start();
    let rpc = EthRpc::new(&node.url);
    let app = app_on(&node, &[("ETHEREUM_STUCK_AFTER_SECONDS", "1"), ("ETHEREUM_CONFIRMATIONS", "1")]).await;
    let alice = app.verified_person("alice@stuck.example", "individual").await;
    let eth = app.open_account(&alice, "ETH").await;
    app.deposit(&alice, &eth, &(2 * ETH).to_string()).await;
    app.step_up(&alice).await;

    // The mempool holds transactions but no block is made: the withdrawal sits unmined.
    rpc.call("evm_setAutomine", json!([false])).await.unwrap();
    let to = "0x000000000000000000000000000000000000dEaD";
    let body = json!({"account_id": eth, "chain": "ethereum", "to_address": to, "amount": (ETH / 2).to_string()});
    let r = app.post_idem(&alice.token, "/v1/withdrawals", "stuck-1", body).await;
    assert_eq!(r.status(), 202);
    let id = json(r).await["id"].as_str().unwrap().to_owned();
    let current = || async {
        let w = json(app.get_as(&alice.token, &format!("/v1/withdrawals/{id}")).await).await;
        (w["status"].as_str().unwrap_or_default().to_owned(), w["tx_hash"].as_str().unwrap_or_default().to_owned())
    };
    wait_until("broadcast", || async { current().await.0 == "broadcast" }).await;
    let first = current().await.1;
    wait_until("a fee bump", || async {
        let (_, hash) = current().await;
        !hash.is_empty() && hash != first
    })
    .await;
    let replaced = current().await.1;
    let old = rpc.call("eth_getTransactionByHash", json!([first])).await.unwrap();
    let new = rpc.call("eth_getTransactionByHash", json!([replaced])).await.unwrap();
    if !old.is_null() {
        assert_eq!(old["nonce"], new["nonce"], "the same nonce");
    }

    rpc.call("evm_setAutomine", json!([true])).await.unwrap();
    rpc.call("anvil_mine", json!([2])).await.unwrap();
    wait_until("confirmed", || async {
        rpc.call("anvil_mine", json!([1])).await.unwrap();
        json(app.get_as(&alice.token, &format!("/v1/withdrawals/{id}")).await).await["status"] == "confirmed"
    })
    .await;
    assert_eq!(rpc.balance(&EthAddress::parse(to).unwrap()).await.unwrap(), ETH / 2, "paid once");
    let b = app.balance(&alice, &eth).await;
    assert_eq!(b["posted"], (2 * ETH - ETH / 2 - 500_000_000_000_000).to_string());
    assert_eq!(b["pending_outgoing"], "0");
}

/// A crash after a withdrawal was sent but before it was recorded as sent: sending the stored
/// transaction again draws "nonce too low" from the node (it is mined), the sender sees the node
/// knows it, and settles it once — nothing paid twice, nothing voided.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawal_sent_before_a_crash_is_settled_once() {
    let node = Anvil::start();
    let rpc = EthRpc::new(&node.url);
    let app = app_on(&node, &[("ETHEREUM_CONFIRMATIONS", "1")]).await;
    let alice = app.verified_person("alice@eth-crash.example", "individual").await;
    let eth = app.open_account(&alice, "ETH").await;
    app.deposit(&alice, &eth, &(2 * ETH).to_string()).await;
    app.step_up(&alice).await;
    let to = "0x000000000000000000000000000000000000bEEF";
    let body = json!({"account_id": eth, "chain": "ethereum", "to_address": to, "amount": (ETH / 2).to_string()});
    let r = app.post_idem(&alice.token, "/v1/withdrawals", "crash-1", body).await;
    let id = json(r).await["id"].as_str().unwrap().to_owned();
    let status = || async {
        let w = json(app.get_as(&alice.token, &format!("/v1/withdrawals/{id}")).await).await;
        (w["status"].as_str().unwrap_or_default().to_owned(), w["tx_hash"].clone())
    };
    wait_until("confirmed", || async { status().await.0 == "confirmed" }).await;
    let first = status().await.1;

    rewind_to_signed(Backend::Postgres, app.database_url.as_deref(), "", &id).await;
    wait_until("confirmed again", || async { status().await.0 == "confirmed" }).await;
    assert_eq!(status().await.1, first, "the same transaction");
    assert_eq!(rpc.balance(&EthAddress::parse(to).unwrap()).await.unwrap(), ETH / 2, "paid once");
    let b = app.balance(&alice, &eth).await;
    assert_eq!(b["posted"], (2 * ETH - ETH / 2 - ETH_FEE).to_string(), "captured once");
    assert_eq!(b["pending_outgoing"], "0");
}
