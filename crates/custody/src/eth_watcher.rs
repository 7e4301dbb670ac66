//! The Ethereum deposit watcher (issue 5, "Deposits"): one instance at a time (lease) scans
//! blocks from a stored cursor, records transfers to deposit addresses as `pending`, and credits
//! each once it has the configured confirmations and its block is still canonical.
//! Reorganisations below the cursor rewind it; crediting and reorg checks are `DepositBook`'s.

use crate::deposits::DepositBook;
use crate::worker::LeaseLoop;
use pb_chains::eth_rpc::{EthRpc, RpcError};
use pb_domain::custody::{CustodyStore, Deposit};
use pb_domain::identity::ids::new_id;
use pb_domain::{Clock, LeaseStore, StoreError};
use pb_ledger::LedgerService;
use std::sync::Arc;
use std::time::Duration;

const CHAIN: &str = "ethereum";
pub const LEASE: &str = "chain-watcher-ethereum";
/// Blocks scanned per tick, so a long outage catches up in steps.
const MAX_BLOCKS_PER_TICK: u64 = 200;
/// How far back credited deposits are re-checked for reorganisations.
const REORG_WINDOW: u64 = 64;

#[derive(Debug, Clone)]
pub struct EthWatcherSettings {
    pub confirmations: u64,
    /// First block to scan when there is no cursor yet; `None`: the head at first start.
    pub start_block: Option<u64>,
    pub poll: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("{0}")]
    Rpc(#[from] RpcError),
    #[error("{0}")]
    Store(#[from] StoreError),
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TickReport {
    pub scanned_to: u64,
    pub seen: usize,
    pub credited: usize,
    pub dropped: usize,
    pub reorged: usize,
}

pub struct EthWatcher {
    pub rpc: EthRpc,
    /// ERC-20 tokens to watch: (ledger asset, contract).
    pub tokens: Vec<(String, pb_chains::EthAddress)>,
    pub store: Arc<dyn CustodyStore>,
    pub ledger: Arc<LedgerService>,
    pub clock: Arc<dyn Clock>,
    pub settings: EthWatcherSettings,
}

impl std::fmt::Debug for EthWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EthWatcher").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl EthWatcher {
    /// One pass: scan new blocks, then confirm, then re-check recent credits.
    pub async fn tick(&self) -> Result<TickReport, WatchError> {
        let head = self.rpc.block_number().await?;
        let mut report = TickReport { scanned_to: head, ..TickReport::default() };
        let (mut next, last_hash) = match self.store.cursor(CHAIN).await? {
            Some(c) => c,
            None => (self.settings.start_block.unwrap_or(head), None),
        };
        // A reorganisation below the cursor: rescan the last `confirmations` blocks.
        if let (Some(expected), Some(prev)) = (last_hash.as_deref(), next.checked_sub(1)) {
            let now = self.rpc.block(prev).await?.map(|b| b.hash);
            if now.as_deref() != Some(expected) {
                tracing::warn!(block = prev, "ethereum reorganisation below the cursor; rescanning");
                next = next.saturating_sub(self.settings.confirmations.max(1));
            }
        }
        let until = head.min(next.saturating_add(MAX_BLOCKS_PER_TICK - 1));
        let mut n = next;
        while n <= until {
            let Some(block) = self.rpc.block(n).await? else { break };
            let candidates: Vec<String> =
                block.transactions.iter().filter(|t| t.value > 0).filter_map(|t| t.to.map(|a| a.to_string())).collect();
            if !candidates.is_empty() {
                let owners = self.store.owners_of(CHAIN, &candidates).await?;
                for tx in block.transactions.iter().filter(|t| t.value > 0) {
                    let Some(to) = tx.to.map(|a| a.to_string()) else { continue };
                    let Some((_, owner)) = owners.iter().find(|(a, _)| *a == to) else { continue };
                    let d = self.deposit("ETH", &tx.hash, 0, to, owner, tx.value, &block);
                    self.book().seen(&d, &mut report).await?;
                }
            }
            if !self.tokens.is_empty() {
                self.scan_token_transfers(&block, &mut report).await?;
            }
            n += 1;
            self.store.set_cursor(CHAIN, n, Some(&block.hash)).await?;
        }
        if let Some(h) = head.checked_sub(n.saturating_sub(1)) {
            metrics::gauge!("chain_watcher_lag_blocks", "chain" => CHAIN).set(h as f64);
        }

        let canonical = |n: u64| async move { Ok(self.rpc.block(n).await?.map(|b| b.hash)) };
        self.book().confirm(head, self.settings.confirmations, REORG_WINDOW, &mut report, canonical).await?;
        Ok(report)
    }

    fn book(&self) -> DepositBook<'_> {
        DepositBook { chain: CHAIN, store: self.store.as_ref(), ledger: &self.ledger, clock: self.clock.as_ref() }
    }

    #[allow(clippy::too_many_arguments)]
    fn deposit(
        &self,
        asset: &str,
        tx_hash: &str,
        log_index: u32,
        address: String,
        owner: &str,
        amount: u128,
        block: &pb_chains::eth_rpc::Block,
    ) -> Deposit {
        Deposit {
            id: new_id("dep"),
            chain: CHAIN.into(),
            asset: asset.into(),
            tx_hash: tx_hash.into(),
            log_index,
            address,
            owner: owner.into(),
            amount,
            block_number: block.number,
            block_hash: block.hash.clone(),
            status: "pending".into(),
            transfer_id: None,
            seen_at: self.clock.now_ms(),
            decided_at: None,
        }
    }

    /// Token deposits in one block: `Transfer` logs of the watched contracts to deposit addresses.
    async fn scan_token_transfers(
        &self,
        block: &pb_chains::eth_rpc::Block,
        report: &mut TickReport,
    ) -> Result<(), WatchError> {
        let contracts: Vec<pb_chains::EthAddress> = self.tokens.iter().map(|(_, c)| *c).collect();
        let transfers = self.rpc.token_transfers(&block.hash, &contracts).await?;
        if transfers.is_empty() {
            return Ok(());
        }
        let candidates: Vec<String> = transfers.iter().map(|t| t.to.to_string()).collect();
        let owners = self.store.owners_of(CHAIN, &candidates).await?;
        for t in transfers.iter().filter(|t| t.amount > 0) {
            let to = t.to.to_string();
            let Some((_, owner)) = owners.iter().find(|(a, _)| *a == to) else { continue };
            let Some((asset, _)) = self.tokens.iter().find(|(_, c)| *c == t.token) else { continue };
            // Native transfers use 0; logs are offset by one so both fit one key space.
            let d = self.deposit(asset, &t.tx_hash, t.log_index.saturating_add(1), to, owner, t.amount, block);
            self.book().seen(&d, report).await?;
        }
        Ok(())
    }

    /// Runs `tick` every `poll` while this instance holds the lease.
    pub async fn run(self, leases: Arc<dyn LeaseStore>, holder: String, stop: tokio::sync::watch::Receiver<bool>) {
        let lease = LeaseLoop { lease: LEASE, leases, holder, clock: self.clock.as_ref(), poll: self.settings.poll };
        lease.run(stop, || async { self.tick().await.map(|_| ()) }).await;
    }
}
