//! Custody switched off, and deposit addresses derived from the master seed (issue 5).

use crate::helpers::{Backend, TestApp, assert_error, json};
use crate::stories;
use futures::future::join_all;
use serde_json::Value;

const TEST_MNEMONIC: &str = "test test test test test test test test test test test junk";

stories!(custody_is_off_without_chain_endpoints, deposit_addresses_follow_the_derivation_vectors);

async fn custody_is_off_without_chain_endpoints(app: TestApp) {
    let alice = app.verified_person("alice@custody.example", "individual").await;
    let status = json(app.get_as(&alice.token, "/v1/custody").await).await;
    assert_eq!((status["enabled"].as_bool(), status["chains"].as_array().map(Vec::len)), (Some(false), Some(0)));
    assert_error(app.get_as(&alice.token, "/v1/deposit-addresses?chain=ethereum").await, 409, "custody_disabled").await;
    assert_error(app.get_as(&alice.token, "/v1/deposit-addresses").await, 409, "custody_disabled").await;
    assert_error(app.get("/v1/custody").await, 401, "unauthenticated").await;
}

async fn on(backend: Backend, chains: &[(&str, &str)]) -> TestApp {
    let mut vars = vec![("CUSTODY_MNEMONIC", TEST_MNEMONIC)];
    vars.extend_from_slice(chains);
    TestApp::spawn_with(backend, &vars).await
}

async fn address(app: &TestApp, token: &str, chain: &str) -> String {
    let r = app.get_as(token, &format!("/v1/deposit-addresses?chain={chain}")).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    json(r).await["data"][0]["address"].as_str().unwrap().to_owned()
}

async fn deposit_addresses_follow_the_derivation_vectors(app: TestApp) {
    // The story's app is switched off; start one with both chains on, on the same backend.
    let backend = app.backend;
    drop(app);
    let app =
        on(backend, &[("ETHEREUM_RPC_URL", "http://127.0.0.1:1"), ("SOLANA_RPC_URL", "http://127.0.0.1:1")]).await;
    let alice = app.verified_person("alice@custody.example", "individual").await;
    let bob = app.verified_person("bob@custody.example", "individual").await;
    let status = json(app.get_as(&alice.token, "/v1/custody").await).await;
    assert_eq!(status["enabled"], true);
    assert_eq!(status["chains"], serde_json::json!(["ethereum", "solana"]));
    let fees: Vec<(&str, &str)> = status["withdrawal_fees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["chain"].as_str().unwrap(), f["asset"].as_str().unwrap()))
        .collect();
    assert_eq!(fees, [("ethereum", "ETH"), ("solana", "SOL")]);

    // Index 0 is each chain's hot wallet; customers get 1, 2, … (chains.md vectors).
    let alices = address(&app, &alice.token, "ethereum").await;
    assert_eq!(alices, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    let again = join_all((0..4).map(|_| address(&app, &alice.token, "ethereum"))).await;
    assert!(again.iter().all(|a| *a == alices), "the same address every time: {again:?}");
    // Concurrent first requests agree on one address (an index may be skipped, never shared).
    let bobs = join_all((0..8).map(|_| address(&app, &bob.token, "ethereum"))).await;
    assert!(bobs.iter().all(|a| *a == bobs[0]), "{bobs:?}");
    assert_ne!(bobs[0], alices, "one address per customer");
    assert_eq!(pb_chains::EthAddress::parse(&bobs[0]).unwrap().to_string(), bobs[0], "EIP-55 checksummed");
    // Solana counts its own indices: alice's first address there is m/44'/501'/1'/0'.
    assert_eq!(address(&app, &alice.token, "solana").await, "AqynRZwvVqUPRwRJXvm6odUb3t93fDjnWe3p6BeuUFxD");

    let mine = json(app.get_as(&alice.token, "/v1/deposit-addresses").await).await;
    let mut chains: Vec<&str> = mine["data"].as_array().unwrap().iter().map(|a| a["chain"].as_str().unwrap()).collect();
    chains.sort_unstable();
    assert_eq!(chains, ["ethereum", "solana"]);
    assert!(mine["data"].as_array().unwrap().iter().all(|a: &Value| a["owner"] == alice.id.as_str()));

    assert_error(app.get_as(&alice.token, "/v1/deposit-addresses?chain=bitcoin").await, 422, "validation_failed").await;
    let unverified = app.register("carol@custody.example", "individual").await;
    let token = json(app.login("carol@custody.example", crate::people::PASSWORD).await).await["session"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!unverified.is_empty());
    assert_error(app.get_as(&token, "/v1/deposit-addresses?chain=ethereum").await, 403, "email_not_verified").await;
    let foreign = format!("/v1/deposit-addresses?chain=ethereum&owner={}", bob.id);
    assert_error(app.get_as(&alice.token, &foreign).await, 404, "not_found").await;
}
