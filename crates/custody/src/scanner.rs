//! What a deposit watcher needs from a chain (issue 5, "Chains behind one trait"): its confirmed
//! height, the hash of the block at a height now (for reorganisation checks), which heights hold
//! blocks, and the transfers in one block that could be deposits. Ethereum (`eth_scanner`) and
//! Solana (`sol_scanner`) implement it; `DepositWatcher` does the rest once for both.

use pb_chains::jsonrpc::RpcError;

/// A transfer into some address, as a chain reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenTransfer {
    pub tx_hash: String,
    /// Unique within the transaction (Ethereum: 0 native, log index + 1 for tokens; Solana: the
    /// receiving account's index in the transaction).
    pub index: u32,
    /// The receiving address as customers see it (EIP-55 / base58).
    pub to: String,
    /// The ledger asset (ETH, SOL, or a configured token).
    pub asset: String,
    /// Smallest units.
    pub amount: u128,
    /// Why it reached the address but cannot be credited (e.g. tokens in a token account other
    /// than the associated one, which custody neither sweeps nor counts): logged for staff.
    pub not_creditable: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedBlock {
    /// Block number (Ethereum) or slot (Solana).
    pub height: u64,
    pub hash: String,
    pub transfers: Vec<SeenTransfer>,
}

#[async_trait::async_trait]
pub trait ChainScanner: Send + Sync + 'static {
    /// `ethereum` or `solana`: the chain's name in the store and the ledger.
    fn chain(&self) -> &'static str;
    /// Heights read per tick at most, so a long outage catches up in steps.
    fn heights_per_tick(&self) -> u64;
    /// How far back (in heights) credited deposits are re-checked for reorganisations.
    fn reorg_window(&self) -> u64;
    /// The newest height the chain reports (Ethereum: latest block; Solana: confirmed slot).
    async fn head(&self) -> Result<u64, RpcError>;
    /// Heights in `[from, to]` that hold a block (Solana skips slots; Ethereum skips none).
    async fn heights(&self, from: u64, to: u64) -> Result<Vec<u64>, RpcError>;
    /// The hash of the block at `height` now; `None` when there is none (yet).
    async fn block_hash(&self, height: u64) -> Result<Option<String>, RpcError>;
    /// One block's incoming transfers of the assets custody handles; `None` if not served yet.
    async fn scan(&self, height: u64) -> Result<Option<ScannedBlock>, RpcError>;
}
