//! Solana for the deposit watcher: confirmed blocks (`getBlocks`, then `getBlock` with full
//! transactions), and in them every balance that grew in a successful transaction — lamports of
//! an address, and configured SPL tokens in the owner's associated token account — read from the
//! transaction's pre/post balances (chains.md: scanning by signature would also return
//! transactions that merely mention the address). Tokens reaching another token account an
//! address owns are not deposits: only the associated account is swept and counted in reserves.

use crate::SolToken;
use crate::scanner::{ChainScanner, ScannedBlock, SeenTransfer};
use pb_chains::SolAddress;
use pb_chains::jsonrpc::RpcError;
use pb_chains::sol_programs::associated_token_address;
use pb_chains::sol_rpc::SolRpc;

#[derive(Debug)]
pub struct SolScanner {
    pub rpc: SolRpc,
    pub tokens: Vec<SolToken>,
}

#[async_trait::async_trait]
impl ChainScanner for SolScanner {
    fn chain(&self) -> &'static str {
        "solana"
    }

    /// About 3 minutes of mainnet slots.
    fn heights_per_tick(&self) -> u64 {
        500
    }

    /// Past finality on mainnet.
    fn reorg_window(&self) -> u64 {
        150
    }

    async fn head(&self) -> Result<u64, RpcError> {
        self.rpc.slot().await
    }

    async fn heights(&self, from: u64, to: u64) -> Result<Vec<u64>, RpcError> {
        self.rpc.blocks(from, to).await
    }

    async fn block_hash(&self, height: u64) -> Result<Option<String>, RpcError> {
        Ok(self.rpc.block(height).await?.map(|b| b.blockhash))
    }

    async fn scan(&self, height: u64) -> Result<Option<ScannedBlock>, RpcError> {
        let Some(block) = self.rpc.block(height).await? else { return Ok(None) };
        let mut transfers = Vec::new();
        for tx in &block.transactions {
            for inc in tx.increases() {
                let mut not_creditable = None;
                let asset = match &inc.mint {
                    None => "SOL".to_owned(),
                    Some(mint) => {
                        let Some(token) = self.tokens.iter().find(|t| t.mint.to_string() == *mint) else { continue };
                        let Ok(wallet) = SolAddress::parse(&inc.wallet) else { continue };
                        if associated_token_address(&wallet, &token.mint).to_string() != inc.account {
                            not_creditable = Some("tokens reached a token account other than the associated one");
                        }
                        token.asset.clone()
                    }
                };
                transfers.push(SeenTransfer {
                    tx_hash: tx.signature.clone(),
                    index: u32::try_from(inc.account_index).unwrap_or(u32::MAX),
                    to: inc.wallet,
                    asset,
                    amount: u128::from(inc.amount),
                    not_creditable,
                });
            }
        }
        Ok(Some(ScannedBlock { height, hash: block.blockhash, transfers }))
    }
}
