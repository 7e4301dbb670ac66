//! What the chain stories share: the mnemonics, paying from the outside world, and waiting
//! (with or without mining) for the bank's workers to catch up.

use pb_chains::eth_rpc::EthRpc;
use pb_chains::eth_tx::{Eip1559, address_of};
use pb_chains::{EthAddress, MasterSeed};
use serde_json::json;
use std::time::{Duration, Instant};

/// The bank's seed in every chain story (anvil's default mnemonic: its first accounts are funded).
pub const BANK_MNEMONIC: &str = "test test test test test test test test test test test junk";
/// A mnemonic anvil can fund instead, so the bank's addresses start empty.
pub const WORLD_MNEMONIC: &str = "legal winner thank year wave sausage worth useful legal winner thank yellow";
pub const ETH: u128 = 1_000_000_000_000_000_000;
/// ETHEREUM_WITHDRAWAL_FEE_WEI's default.
pub const ETH_FEE: u128 = 500_000_000_000_000;

/// Sends `wei` to `to` from account `index` of `mnemonic` (a funded anvil account), signed by
/// our own EIP-1559 code. Returns the transaction hash.
pub async fn pay(rpc: &EthRpc, mnemonic: &str, index: u32, to: &str, wei: u128) -> String {
    let key = MasterSeed::from_mnemonic(mnemonic, "").unwrap().ethereum_key(index).unwrap();
    let from = address_of(&key).unwrap();
    let tip = rpc.max_priority_fee().await.unwrap();
    let tx = Eip1559 {
        chain_id: 31337,
        nonce: rpc.pending_nonce(&from).await.unwrap(),
        max_priority_fee_per_gas: tip,
        max_fee_per_gas: rpc.gas_price().await.unwrap() * 2 + tip,
        gas_limit: 21_000,
        to: EthAddress::parse(to).unwrap(),
        value: wei,
        data: Vec::new(),
    };
    rpc.send_raw(&tx.sign(&key).unwrap().0).await.unwrap()
}

/// Polls `done` until it holds (20 s at most).
pub async fn wait_until<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Like `wait_until`, mining a block between polls (confirmations need blocks; 40 s at most).
pub async fn mine_until<F, Fut>(rpc: &EthRpc, what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(40);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        rpc.call("anvil_mine", json!([1])).await.unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}
