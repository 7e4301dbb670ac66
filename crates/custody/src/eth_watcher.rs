//! The Ethereum deposit watcher (issue 5, "Deposits"): one instance at a time (lease) scans
//! blocks from a stored cursor, records transfers to deposit addresses as `pending`, and credits
//! each once it has the configured confirmations and its block is still canonical.
//! Reorganisations: below the cursor, the cursor rewinds and pending deposits move to their new
//! block; a pending deposit whose block vanished is dropped; a credited one whose block vanished
//! is marked `reorged` and raised for staff (alert + suspense), never silently reversed.

use pb_chains::eth_rpc::{EthRpc, RpcError};
use pb_domain::custody::{CustodyStore, Deposit};
use pb_domain::identity::ids::new_id;
use pb_domain::ledger::Amount;
use pb_domain::{Clock, LeaseStore, StoreError};
use pb_ledger::{ChainCredit, LedgerService};
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
                    let d = Deposit {
                        id: new_id("dep"),
                        chain: CHAIN.into(),
                        asset: "ETH".into(),
                        tx_hash: tx.hash.clone(),
                        log_index: 0,
                        address: to,
                        owner: owner.clone(),
                        amount: tx.value,
                        block_number: block.number,
                        block_hash: block.hash.clone(),
                        status: "pending".into(),
                        transfer_id: None,
                        seen_at: self.clock.now_ms(),
                        decided_at: None,
                    };
                    if self.store.record_deposit(&d).await? {
                        report.seen += 1;
                        tracing::info!(deposit = %d.id, block = d.block_number, "ethereum deposit seen");
                    } else {
                        self.store.rebase_pending_deposit(CHAIN, &d.tx_hash, 0, d.block_number, &d.block_hash).await?;
                    }
                }
            }
            if !self.tokens.is_empty() {
                report.seen += self.scan_token_transfers(&block).await?;
            }
            n += 1;
            self.store.set_cursor(CHAIN, n, Some(&block.hash)).await?;
        }
        if let Some(h) = head.checked_sub(n.saturating_sub(1)) {
            metrics::gauge!("chain_watcher_lag_blocks", "chain" => CHAIN).set(h as f64);
        }

        // Confirm: credit what is deep enough and still on the canonical chain.
        for d in self.store.deposits_with_status(CHAIN, "pending", 500).await? {
            if head + 1 < d.block_number + self.settings.confirmations {
                continue;
            }
            let canonical = self.rpc.block(d.block_number).await?.map(|b| b.hash);
            let now = self.clock.now_ms();
            if canonical.as_deref() != Some(d.block_hash.as_str()) {
                if self.store.decide_deposit(&d.id, "pending", "dropped", None, now).await? {
                    report.dropped += 1;
                    tracing::warn!(deposit = %d.id, "ethereum deposit's block left the chain before credit; dropped");
                }
                continue;
            }
            let Ok(amount) = Amount::new(d.amount) else { continue };
            let credit = ChainCredit {
                chain: CHAIN,
                deposit_id: &d.id,
                owner: &d.owner,
                asset: &d.asset,
                amount,
                tx_hash: &d.tx_hash,
            };
            match self.ledger.credit_chain_deposit(credit).await {
                Ok(Ok(t)) => {
                    if self.store.decide_deposit(&d.id, "pending", "credited", Some(&t.id.to_api()), now).await? {
                        report.credited += 1;
                        metrics::counter!("chain_deposits_credited_total", "chain" => CHAIN).increment(1);
                        let waited = Duration::from_millis(u64::try_from(now - d.seen_at).unwrap_or(0));
                        metrics::histogram!("chain_deposit_confirmation_seconds", "chain" => CHAIN).record(waited);
                    }
                }
                Ok(Err(refused)) => {
                    tracing::error!(deposit = %d.id, code = refused.code(), "ledger refused a deposit credit")
                }
                Err(e) => tracing::warn!(deposit = %d.id, error = %e, "crediting a deposit failed; will retry"),
            }
        }

        // Credited deposits whose block vanished: raise for staff; never reverse silently.
        for d in self.store.deposits_with_status(CHAIN, "credited", 500).await? {
            if d.block_number + REORG_WINDOW < head {
                continue;
            }
            let canonical = self.rpc.block(d.block_number).await?.map(|b| b.hash);
            if canonical.as_deref() != Some(d.block_hash.as_str())
                && self.store.decide_deposit(&d.id, "credited", "reorged", None, self.clock.now_ms()).await?
            {
                report.reorged += 1;
                metrics::counter!("chain_deposits_reorged_after_credit_total", "chain" => CHAIN).increment(1);
                tracing::error!(deposit = %d.id, "CREDITED DEPOSIT REORGANISED AWAY: suspense for staff review");
            }
        }
        Ok(report)
    }

    /// Token deposits in one block: `Transfer` logs of the watched contracts to deposit addresses.
    async fn scan_token_transfers(&self, block: &pb_chains::eth_rpc::Block) -> Result<usize, WatchError> {
        let contracts: Vec<pb_chains::EthAddress> = self.tokens.iter().map(|(_, c)| *c).collect();
        let transfers = self.rpc.token_transfers(&block.hash, &contracts).await?;
        if transfers.is_empty() {
            return Ok(0);
        }
        let candidates: Vec<String> = transfers.iter().map(|t| t.to.to_string()).collect();
        let owners = self.store.owners_of(CHAIN, &candidates).await?;
        let mut seen = 0;
        for t in transfers.iter().filter(|t| t.amount > 0) {
            let to = t.to.to_string();
            let Some((_, owner)) = owners.iter().find(|(a, _)| *a == to) else { continue };
            let Some((asset, _)) = self.tokens.iter().find(|(_, c)| *c == t.token) else { continue };
            let d = Deposit {
                id: new_id("dep"),
                chain: CHAIN.into(),
                asset: asset.clone(),
                tx_hash: t.tx_hash.clone(),
                // Native transfers use 0; logs are offset by one so both fit one key space.
                log_index: t.log_index.saturating_add(1),
                address: to,
                owner: owner.clone(),
                amount: t.amount,
                block_number: block.number,
                block_hash: block.hash.clone(),
                status: "pending".into(),
                transfer_id: None,
                seen_at: self.clock.now_ms(),
                decided_at: None,
            };
            if self.store.record_deposit(&d).await? {
                seen += 1;
                tracing::info!(deposit = %d.id, asset = %d.asset, block = d.block_number, "token deposit seen");
            } else {
                self.store
                    .rebase_pending_deposit(CHAIN, &d.tx_hash, d.log_index, d.block_number, &d.block_hash)
                    .await?;
            }
        }
        Ok(seen)
    }

    /// Runs `tick` every `poll` while this instance holds the lease.
    pub async fn run(self, leases: Arc<dyn LeaseStore>, holder: String, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(self.settings.poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // Stops between ticks, never in the middle of one: a lease renewal or a batch in flight
            // finishes before the server hands the lease over.
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            match leases.try_acquire_lease(LEASE, &holder, self.clock.now_ms(), 30_000).await {
                Ok(true) => {
                    if let Err(e) = self.tick().await {
                        tracing::warn!(error = %e, "ethereum watcher tick failed; will retry");
                    }
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "ethereum watcher lease unavailable"),
            }
        }
    }
}
