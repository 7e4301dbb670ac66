//! Ethereum for the deposit watcher: plain ETH transfers from each block's transactions (value
//! to an address), and ERC-20 `Transfer` logs of the configured contracts (`eth_getLogs` by block
//! hash, so a reorganised block is never mixed with its replacement).

use crate::scanner::{ChainScanner, ScannedBlock, SeenTransfer};
use pb_chains::EthAddress;
use pb_chains::eth_rpc::{EthRpc, RpcError};

#[derive(Debug)]
pub struct EthScanner {
    pub rpc: EthRpc,
    /// ERC-20 tokens: (ledger asset, contract).
    pub tokens: Vec<(String, EthAddress)>,
}

#[async_trait::async_trait]
impl ChainScanner for EthScanner {
    fn chain(&self) -> &'static str {
        "ethereum"
    }

    fn heights_per_tick(&self) -> u64 {
        200
    }

    fn reorg_window(&self) -> u64 {
        64
    }

    async fn head(&self) -> Result<u64, RpcError> {
        self.rpc.block_number().await
    }

    async fn heights(&self, from: u64, to: u64) -> Result<Vec<u64>, RpcError> {
        Ok((from..=to).collect())
    }

    async fn block_hash(&self, height: u64) -> Result<Option<String>, RpcError> {
        Ok(self.rpc.block(height).await?.map(|b| b.hash))
    }

    async fn scan(&self, height: u64) -> Result<Option<ScannedBlock>, RpcError> {
        let Some(block) = self.rpc.block(height).await? else { return Ok(None) };
        let mut transfers: Vec<SeenTransfer> = block
            .transactions
            .iter()
            .filter(|t| t.value > 0)
            .filter_map(|t| {
                Some(SeenTransfer {
                    tx_hash: t.hash.clone(),
                    index: 0,
                    to: t.to?.to_string(),
                    asset: "ETH".into(),
                    amount: t.value,
                    not_creditable: None,
                })
            })
            .collect();
        if !self.tokens.is_empty() {
            let contracts: Vec<EthAddress> = self.tokens.iter().map(|(_, c)| *c).collect();
            for t in self.rpc.token_transfers(&block.hash, &contracts).await?.into_iter().filter(|t| t.amount > 0) {
                let Some((asset, _)) = self.tokens.iter().find(|(_, c)| *c == t.token) else { continue };
                transfers.push(SeenTransfer {
                    tx_hash: t.tx_hash,
                    // Native transfers use 0; logs are offset by one so both fit one key space.
                    index: t.log_index.saturating_add(1),
                    to: t.to.to_string(),
                    asset: asset.clone(),
                    amount: t.amount,
                    not_creditable: None,
                });
            }
        }
        Ok(Some(ScannedBlock { height: block.number, hash: block.hash, transfers }))
    }
}
