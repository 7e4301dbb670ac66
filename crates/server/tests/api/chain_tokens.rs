//! An ERC-20 (USDC-style, 6 decimals) end to end against anvil: a token deposit credited once,
//! swept into the hot wallet with its gas paid from the address's ETH, a token withdrawal with
//! the fee in the token, and reserves that add up for ETH and for the token (issue 5).

use crate::chain_support::*;
use crate::helpers::{Backend, TestApp, json};
use pb_chains::eth_rpc::{EthRpc, to_hex};
use pb_chains::{EthAddress, MasterSeed, erc20};
use pb_testkit::anvil::Anvil;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const USDC: u128 = 1_000_000;

fn world() -> EthAddress {
    MasterSeed::from_mnemonic(WORLD_MNEMONIC, "").unwrap().ethereum_address(0).unwrap()
}

async fn receipt(rpc: &EthRpc, hash: &Value) -> Value {
    for _ in 0..100 {
        let r = rpc.call("eth_getTransactionReceipt", json!([hash])).await.unwrap();
        if !r.is_null() {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no receipt for {hash}");
}

/// Deploys the test token (tools/chains/build, compiled by scripts/local-chains) from the world.
async fn deploy_token(rpc: &EthRpc) -> EthAddress {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tools/chains/build/contracts_TestToken_sol_TestToken.bin");
    let bin = std::fs::read_to_string(path).expect("run scripts/local-chains install");
    let supply = format!("{:064x}", 1_000_000 * USDC);
    let hash = rpc
        .call(
            "eth_sendTransaction",
            json!([{"from": world().to_string(), "data": format!("0x{}{supply}", bin.trim())}]),
        )
        .await
        .unwrap();
    let r = receipt(rpc, &hash).await;
    EthAddress::parse(&r["contractAddress"].as_str().unwrap().to_ascii_lowercase()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usdc_deposits_sweeps_withdrawals_and_reserves() {
    let node = Anvil::start_with_mnemonic(WORLD_MNEMONIC);
    let rpc = EthRpc::new(&node.url);
    let token = deploy_token(&rpc).await;
    let tokens = format!("USDC-ETH={token}");
    let app = TestApp::spawn_with(
        Backend::Postgres,
        &[
            ("ETHEREUM_RPC_URL", node.url.as_str()),
            ("ETHEREUM_CHAIN_ID", "31337"),
            ("ETHEREUM_CONFIRMATIONS", "2"),
            ("CUSTODY_POLL_MILLIS", "100"),
            ("CUSTODY_MNEMONIC", BANK_MNEMONIC),
            ("ETHEREUM_TOKENS", tokens.as_str()),
        ],
    )
    .await;
    let seed = MasterSeed::from_mnemonic(BANK_MNEMONIC, "").unwrap();
    let hot = seed.ethereum_address(0).unwrap();
    let alice = app.verified_person("alice@tokens.example", "individual").await;
    app.step_up(&alice).await;
    let address =
        json(app.get_as(&alice.token, "/v1/deposit-addresses?chain=ethereum").await).await["data"][0]["address"]
            .as_str()
            .unwrap()
            .to_owned();
    tokio::time::sleep(Duration::from_millis(400)).await;

    // 1 ETH and 250 USDC arrive at the deposit address.
    pay(&rpc, WORLD_MNEMONIC, 0, &address, ETH).await;
    let data = to_hex(&erc20::transfer_call(&EthAddress::parse(&address).unwrap(), 250 * USDC));
    rpc.call("eth_sendTransaction", json!([{"from": world().to_string(), "to": token.to_string(), "data": data}]))
        .await
        .unwrap();
    mine_until(&rpc, "both deposits credited", || async {
        let d = json(app.get_as(&alice.token, "/v1/deposits").await).await;
        let credited: Vec<&Value> =
            d["data"].as_array().unwrap().iter().filter(|x| x["status"] == "credited").collect();
        credited.len() == 2
    })
    .await;
    let accounts = json(app.get_as(&alice.token, "/v1/accounts").await).await;
    let usdc: Vec<&Value> = accounts["data"].as_array().unwrap().iter().filter(|a| a["asset"] == "USDC-ETH").collect();
    assert_eq!(usdc.len(), 1, "a USDC account opened for the deposit");
    assert_eq!(usdc[0]["balance"]["posted"], (250 * USDC).to_string());
    let usdc_account = usdc[0]["id"].as_str().unwrap().to_owned();

    // Swept: the tokens first (gas from the address's own ETH), then the ETH.
    mine_until(&rpc, "the sweeps", || async {
        rpc.token_balance(&token, &hot).await.unwrap() == 250 * USDC && rpc.balance(&hot).await.unwrap() > ETH / 2
    })
    .await;

    // A token withdrawal: the fee is held in the token; the gas is the bank's, in ETH.
    let external = seed.ethereum_address(77).unwrap();
    let body = json!({"account_id": usdc_account, "chain": "ethereum", "to_address": external.to_string(), "amount": (100 * USDC).to_string()});
    let r = app.post_idem(&alice.token, "/v1/withdrawals", "usdc-1", body).await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let id =
        json(app.get_as(&alice.token, "/v1/withdrawals").await).await["data"][0]["id"].as_str().unwrap().to_owned();
    mine_until(&rpc, "the token withdrawal", || async {
        json(app.get_as(&alice.token, &format!("/v1/withdrawals/{id}")).await).await["status"] == "confirmed"
    })
    .await;
    assert_eq!(rpc.token_balance(&token, &external).await.unwrap(), 100 * USDC);
    let b = app.balance(&alice, &usdc_account).await;
    assert_eq!(b["posted"], (149 * USDC).to_string(), "250 − 100 − 1 fee");

    // Reserves: zero difference for ETH and for the token.
    let custody = app.state.custody();
    let ledger = app.state.ledger();
    let deadline = Instant::now() + Duration::from_secs(15);
    let reserves = loop {
        let r = custody.reserves(ledger).await.unwrap();
        if r.iter().all(|x| x.difference == 0) || Instant::now() > deadline {
            break r;
        }
        rpc.call("anvil_mine", json!([1])).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(reserves.iter().all(|r| r.difference == 0), "{reserves:?}");
    let usdc_reserve = reserves.iter().find(|r| r.asset == "USDC-ETH").unwrap();
    assert_eq!(usdc_reserve.customer_liabilities, i128::try_from(149 * USDC).unwrap());
    let report = ledger.verify().await.unwrap();
    assert!(report.ok(), "{:?}", report.problems);
}
