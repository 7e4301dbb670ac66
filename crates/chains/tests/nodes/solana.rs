//! Against a real Solana node (pb-solana-node: surfpool over the agave runtime): transactions
//! built and signed by our own code are accepted and land, SPL mints, associated token accounts
//! and checked transfers work, and blocks show every balance increase to the scanner.

use pb_chains::MasterSeed;
use pb_chains::sol_programs::*;
use pb_chains::sol_rpc::SolRpc;
use pb_chains::sol_tx::{Instruction, SolKeypair, sign};
use pb_testkit::solana::SolanaNode;
use std::time::{Duration, Instant};

const TEST: &str = "test test test test test test test test test test test junk";
const SOL: u64 = 1_000_000_000;

async fn send_and_confirm(rpc: &SolRpc, payer: &SolKeypair, others: &[&SolKeypair], ixs: &[Instruction]) -> String {
    let (blockhash, _) = rpc.latest_blockhash().await.unwrap();
    let signed = sign(payer, others, ixs, &blockhash).unwrap();
    let sig = rpc.send(&signed.bytes).await.unwrap();
    assert_eq!(sig, signed.signature, "the id is the payer's signature");
    confirmed(rpc, &sig).await;
    sig
}

async fn confirmed(rpc: &SolRpc, sig: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(s) = rpc.signature_statuses(&[sig.to_owned()]).await.unwrap()[0].clone() {
            assert!(!s.failed, "{sig} failed");
            if s.confirmation != "processed" {
                return;
            }
        }
        assert!(Instant::now() < deadline, "{sig} not confirmed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn signed_transfers_mints_and_token_transfers_land_and_show_in_blocks() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let node = SolanaNode::start(100);
    let rpc = SolRpc::new(&node.url);
    let seed = MasterSeed::from_mnemonic(TEST, "").unwrap();
    let payer = SolKeypair::from_secret(&seed.solana_key(0).unwrap());
    assert_eq!(payer.address(), seed.solana_address(0).unwrap());
    let airdrop = rpc.request_airdrop(&payer.address(), 10 * SOL).await.unwrap();
    confirmed(&rpc, &airdrop).await;
    assert_eq!(rpc.balance(&payer.address()).await.unwrap(), 10 * SOL);

    // SOL: a system transfer to a fresh address.
    let to = seed.solana_address(7).unwrap();
    let ixs = [system_transfer(payer.address(), to, 3 * SOL / 2), memo("wd_0192")];
    let sig = send_and_confirm(&rpc, &payer, &[], &ixs).await;
    assert_eq!(rpc.balance(&to).await.unwrap(), 3 * SOL / 2);
    let tx = rpc.transaction(&sig).await.unwrap().unwrap();
    let inc = tx.increases();
    assert_eq!(inc.len(), 1);
    assert_eq!((inc[0].wallet.clone(), inc[0].amount), (to.to_string(), 3 * SOL / 2));

    // SPL: a mint, the payer's associated account, tokens minted, then a checked transfer that
    // creates the recipient's associated account on the way (at the address we derive).
    let mint = SolKeypair::from_secret(&seed.solana_key(8).unwrap());
    let rent = rpc.minimum_balance_for_rent_exemption(MINT_LEN).await.unwrap();
    let mut ixs = create_mint(payer.address(), mint.address(), rent, 6);
    ixs.push(create_associated_token_account(payer.address(), payer.address(), mint.address()));
    let payer_ata = associated_token_address(&payer.address(), &mint.address());
    ixs.push(token_mint_to(mint.address(), payer_ata, payer.address(), 1_000_000_000));
    send_and_confirm(&rpc, &payer, &[&mint], &ixs).await;
    assert_eq!(rpc.token_account_balance(&payer_ata).await.unwrap(), Some(1_000_000_000));
    assert_eq!(rpc.account_owner(&payer_ata).await.unwrap().as_deref(), Some(token_program().to_string().as_str()));

    let to_ata = associated_token_address(&to, &mint.address());
    assert_eq!(rpc.token_account_balance(&to_ata).await.unwrap(), None, "not created yet");
    let ixs = [
        create_associated_token_account(payer.address(), to, mint.address()),
        token_transfer_checked(payer_ata, mint.address(), to_ata, payer.address(), 25_000_000, 6),
    ];
    let sig = send_and_confirm(&rpc, &payer, &[], &ixs).await;
    assert_eq!(rpc.token_account_balance(&to_ata).await.unwrap(), Some(25_000_000));

    // The scanner's view: the block holding it lists the token increase, owned by `to`.
    let status = rpc.signature_statuses(std::slice::from_ref(&sig)).await.unwrap()[0].clone().unwrap();
    let block = rpc.block(status.slot).await.unwrap().expect("its block");
    let tx = block.transactions.iter().find(|t| t.signature == sig).expect("in its block");
    let token = tx.increases().into_iter().find(|i| i.mint.is_some()).expect("a token increase");
    assert_eq!((token.wallet, token.account, token.amount), (to.to_string(), to_ata.to_string(), 25_000_000));
    assert!(rpc.blocks(status.slot, status.slot).await.unwrap().contains(&status.slot));

    // A transaction the runtime refuses in preflight (more than the payer holds).
    let (blockhash, _) = rpc.latest_blockhash().await.unwrap();
    let too_much = sign(&payer, &[], &[system_transfer(payer.address(), to, 100 * SOL)], &blockhash).unwrap();
    let err = rpc.send(&too_much.bytes).await.unwrap_err();
    assert!(matches!(err, pb_chains::jsonrpc::RpcError::Node { code: -32002, .. }), "{err}");
}
