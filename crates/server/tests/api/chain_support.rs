//! What the chain stories share: the mnemonics, paying from the outside world, and waiting
//! (with or without mining) for the bank's workers to catch up.

use crate::helpers::Backend;
use pb_chains::eth_rpc::EthRpc;
use pb_chains::eth_tx::{Eip1559, address_of};
use pb_chains::sol_programs::*;
use pb_chains::sol_rpc::SolRpc;
use pb_chains::sol_tx::{Instruction, SolKeypair, sign};
use pb_chains::{EthAddress, MasterSeed, SolAddress};
use serde_json::json;
use sqlx::Connection;
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

pub const SOL: u64 = 1_000_000_000;
/// SOLANA_WITHDRAWAL_FEE_LAMPORTS's and SOLANA_TOKEN_WITHDRAWAL_FEE's defaults.
pub const SOL_FEE: u64 = 10_000;
pub const SPL_FEE: u64 = 1_000_000;

/// A keypair of `mnemonic` at m/44'/501'/`index`'/0'.
pub fn sol_keypair(mnemonic: &str, index: u32) -> SolKeypair {
    SolKeypair::from_secret(&MasterSeed::from_mnemonic(mnemonic, "").unwrap().solana_key(index).unwrap())
}

/// Signs with our own code, sends, and waits until the cluster confirms it.
pub async fn sol_send(rpc: &SolRpc, payer: &SolKeypair, others: &[&SolKeypair], ixs: &[Instruction]) -> String {
    let (blockhash, _) = rpc.latest_blockhash().await.unwrap();
    let signed = sign(payer, others, ixs, &blockhash).unwrap();
    let sig = rpc.send(&signed.bytes).await.unwrap();
    sol_confirmed(rpc, &sig).await;
    sig
}

pub async fn sol_confirmed(rpc: &SolRpc, sig: &str) {
    wait_until("a confirmed signature", || async {
        let s = rpc.signature_statuses(&[sig.to_owned()]).await.unwrap().remove(0);
        s.is_some_and(|s| s.confirmation != "processed")
    })
    .await;
}

/// The outside world on Solana: a wallet of WORLD_MNEMONIC funded by airdrop, and a USDC-style
/// mint (6 decimals) whose tokens it holds.
pub async fn sol_world(rpc: &SolRpc) -> (SolKeypair, SolAddress) {
    let world = sol_keypair(WORLD_MNEMONIC, 0);
    sol_confirmed(rpc, &rpc.request_airdrop(&world.address(), 1_000 * SOL).await.unwrap()).await;
    let mint = sol_keypair(WORLD_MNEMONIC, 1);
    let rent = rpc.minimum_balance_for_rent_exemption(MINT_LEN).await.unwrap();
    let mut ixs = create_mint(world.address(), mint.address(), rent, 6);
    ixs.push(create_associated_token_account(world.address(), world.address(), mint.address()));
    let ata = associated_token_address(&world.address(), &mint.address());
    ixs.push(token_mint_to(mint.address(), ata, world.address(), 1_000_000_000_000));
    sol_send(rpc, &world, &[&mint], &ixs).await;
    (world, mint.address())
}

/// `amount` token units from the world's wallet to `to`'s associated account (created if missing).
pub async fn sol_pay_tokens(rpc: &SolRpc, world: &SolKeypair, mint: SolAddress, to: &str, amount: u64) -> String {
    let to = SolAddress::parse(to).unwrap();
    let from = associated_token_address(&world.address(), &mint);
    let ixs = [
        create_associated_token_account(world.address(), to, mint),
        token_transfer_checked(from, mint, associated_token_address(&to, &mint), world.address(), amount, 6),
    ];
    sol_send(rpc, world, &[], &ixs).await
}

pub async fn sol_pay(rpc: &SolRpc, world: &SolKeypair, to: &str, lamports: u64) -> String {
    sol_send(rpc, world, &[], &[system_transfer(world.address(), SolAddress::parse(to).unwrap(), lamports)]).await
}

/// Makes the next watcher tick read every block again, as after a lost cursor.
pub async fn rescan_from_genesis(backend: Backend, database_url: Option<&str>, data_dir: &str) {
    let sql = "UPDATE chain_cursors SET next_block = 0, last_hash = NULL";
    match (backend, database_url) {
        (Backend::Postgres, Some(url)) => {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
        _ => {
            let mut c =
                sqlx::SqliteConnection::connect(&format!("sqlite://{data_dir}/protocol-bank.db")).await.unwrap();
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
    }
}

/// Puts a withdrawal back to `signed`, as if the server crashed after sending it but before
/// recording that it had.
pub async fn rewind_to_signed(backend: Backend, database_url: Option<&str>, data_dir: &str, id: &str) {
    let sql = "UPDATE withdrawals SET status = 'signed' WHERE id = $1";
    match (backend, database_url) {
        (Backend::Postgres, Some(url)) => {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query(sql).bind(id).execute(&mut c).await.unwrap();
        }
        _ => {
            let mut c =
                sqlx::SqliteConnection::connect(&format!("sqlite://{data_dir}/protocol-bank.db")).await.unwrap();
            sqlx::query(sql).bind(id).execute(&mut c).await.unwrap();
        }
    }
}
