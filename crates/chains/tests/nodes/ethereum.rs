//! Against a real node (anvil): keys derived from the test mnemonic sign EIP-1559 transfers the
//! node accepts, and blocks show them to the scanner.

use pb_chains::eth_rpc::EthRpc;
use pb_chains::eth_tx::{Eip1559, address_of};
use pb_chains::{EthAddress, MasterSeed};
use pb_testkit::anvil::Anvil;

const TEST: &str = "test test test test test test test test test test test junk";
const ETH: u128 = 1_000_000_000_000_000_000;

#[tokio::test]
async fn signed_transfers_are_accepted_mined_and_seen_in_blocks() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let node = Anvil::start();
    let rpc = EthRpc::new(&node.url);
    let seed = MasterSeed::from_mnemonic(TEST, "").unwrap();
    let key = seed.ethereum_key(0).unwrap();
    let from = address_of(&key).unwrap();
    assert_eq!(from, seed.ethereum_address(0).unwrap());
    assert_eq!(from.to_string(), "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "anvil's funded account 0");
    assert_eq!(rpc.chain_id().await.unwrap(), 31337);

    let to = seed.ethereum_address(7).unwrap();
    let before = rpc.balance(&to).await.unwrap();
    let tip = rpc.max_priority_fee().await.unwrap();
    let base = rpc.gas_price().await.unwrap();
    let tx = Eip1559 {
        chain_id: 31337,
        nonce: rpc.pending_nonce(&from).await.unwrap(),
        max_priority_fee_per_gas: tip,
        max_fee_per_gas: base * 2 + tip,
        gas_limit: 21_000,
        to,
        value: 3 * ETH / 2,
        data: Vec::new(),
    };
    let (raw, hash) = tx.sign(&key).unwrap();
    let sent = rpc.send_raw(&raw).await.unwrap();
    assert_eq!(sent, pb_chains::eth_rpc::to_hex(&hash), "the node computes the same transaction hash");
    let mut receipt = None;
    for _ in 0..100 {
        receipt = rpc.receipt_status(&sent).await.unwrap();
        if receipt.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (ok, block) = receipt.expect("anvil mines each transaction");
    assert!(ok);
    assert_eq!(rpc.balance(&to).await.unwrap() - before, 3 * ETH / 2, "exact wei");

    let b = rpc.block(block).await.unwrap().unwrap();
    let seen = b.transactions.iter().find(|t| t.hash == sent).unwrap();
    assert_eq!((seen.from, seen.to, seen.value), (Some(from), Some(to), 3 * ETH / 2));
    assert!(rpc.block(block + 100).await.unwrap().is_none());

    // A nonce already used is refused by the node: nothing is double-spent.
    let (raw, _) = tx.sign(&key).unwrap();
    assert!(rpc.send_raw(&raw).await.is_err());
    let wrong: EthAddress = EthAddress::parse("0x0000000000000000000000000000000000000001").unwrap();
    assert_eq!(rpc.balance(&wrong).await.unwrap(), 0);
}
