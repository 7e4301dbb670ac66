//! Reserves add up to the wei (issue 5): a deposit is swept into the hot wallet, a withdrawal
//! paid from it, every network gas ledgered — and what the bank holds on chain equals what its
//! ledger says, with customers' liabilities exactly what they deposited minus what they withdrew.

use crate::chain_support::*;
use crate::helpers::{Backend, TestApp, json};
use pb_chains::eth_rpc::EthRpc;
use pb_chains::{EthAddress, MasterSeed};
use pb_domain::identity::roles::StaffRole;
use pb_testkit::anvil::Anvil;
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserves_match_the_ledger_after_deposit_sweep_and_withdrawal() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let node = Anvil::start_with_mnemonic(WORLD_MNEMONIC);
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
        let seed = MasterSeed::from_mnemonic(BANK_MNEMONIC, "").unwrap();
        let hot = seed.ethereum_address(0).unwrap();
        assert_eq!(rpc.balance(&hot).await.unwrap(), 0, "the bank starts with nothing on chain");
        let alice = app.verified_person("alice@reserves.example", "individual").await;
        app.step_up(&alice).await;
        let address =
            json(app.get_as(&alice.token, "/v1/deposit-addresses?chain=ethereum").await).await["data"][0]["address"]
                .as_str()
                .unwrap()
                .to_owned();
        tokio::time::sleep(Duration::from_millis(400)).await;

        pay(&rpc, WORLD_MNEMONIC, 0, &address, 3 * ETH).await;
        mine_until(&rpc, "credit and sweep", || async {
            let swept = rpc.balance(&hot).await.unwrap() > 2 * ETH;
            let credited =
                json(app.get_as(&alice.token, "/v1/deposits").await).await["data"][0]["status"] == "credited";
            swept && credited
        })
        .await;

        let accounts = json(app.get_as(&alice.token, "/v1/accounts").await).await;
        let eth = accounts["data"][0]["id"].as_str().unwrap().to_owned();
        let external = seed.ethereum_address(42).unwrap().to_string();
        let body = json!({"account_id": eth, "chain": "ethereum", "to_address": external, "amount": ETH.to_string()});
        let r = app.post_idem(&alice.token, "/v1/withdrawals", "reserves-w1", body).await;
        assert_eq!(r.status(), 202);
        let id = json(r).await["id"].as_str().unwrap().to_owned();
        mine_until(&rpc, "the withdrawal", || async {
            json(app.get_as(&alice.token, &format!("/v1/withdrawals/{id}")).await).await["status"] == "confirmed"
        })
        .await;

        // Gas of the last sweep/withdrawal is ledgered when its receipt is read: wait for zero.
        let custody = app.state.custody();
        let ledger = app.state.ledger();
        let deadline = Instant::now() + Duration::from_secs(15);
        let reserve = loop {
            let r = custody.reserves(ledger).await.unwrap().remove(0);
            if r.difference == 0 || Instant::now() > deadline {
                break r;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(reserve.difference, 0, "{backend:?}: {reserve:?}");
        let liabilities = i128::try_from(3 * ETH - ETH - ETH_FEE).unwrap();
        assert_eq!(reserve.customer_liabilities, liabilities, "deposited − withdrawn − fee");
        assert_eq!(rpc.balance(&EthAddress::parse(&external).unwrap()).await.unwrap(), ETH);

        let staff = app.staff_member("ops@reserves.example", StaffRole::ComplianceOfficer).await;
        let listed = json(app.get_as(&staff.token, "/v1/admin/reserves").await).await;
        assert_eq!(listed["data"][0]["difference"], "0");
        assert_eq!(listed["data"][0]["customer_liabilities"], liabilities.to_string());
        let report = ledger.verify().await.unwrap();
        assert!(report.ok(), "{:?}", report.problems);
    }
}
