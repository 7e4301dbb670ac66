//! The deposit watcher (issue 5, "Deposits"), one per chain and one active instance at a time
//! (lease `chain-watcher-<chain>`): reads blocks from a stored cursor through the chain's
//! `ChainScanner`, records every transfer to a deposit address once as `pending`, and credits it
//! when it is `confirmations` deep and its block is still canonical (`DepositBook`). The cursor
//! keeps the last block read as `height:hash`; when a reorganisation replaced that block, the
//! watcher reads again from `confirmations` before it, and re-seen pending deposits move to
//! their new block.

use crate::deposits::DepositBook;
use crate::scanner::{ChainScanner, ScannedBlock};
use pb_chains::jsonrpc::RpcError;
use pb_domain::custody::{CustodyStore, Deposit};
use pb_domain::identity::ids::new_id;
use pb_domain::{Clock, LeaseStore, StoreError};
use pb_ledger::{LeaseLoop, LedgerService};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct WatcherSettings {
    /// Heights on top of a deposit's before it is credited.
    pub confirmations: u64,
    /// First height to read when there is no cursor yet; `None`: the head at first start.
    pub start: Option<u64>,
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

pub struct DepositWatcher {
    pub scanner: Box<dyn ChainScanner>,
    pub store: Arc<dyn CustodyStore>,
    pub ledger: Arc<LedgerService>,
    pub clock: Arc<dyn Clock>,
    pub settings: WatcherSettings,
}

impl std::fmt::Debug for DepositWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DepositWatcher")
            .field("chain", &self.scanner.chain())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// The watcher's lease name on a chain.
pub fn lease_name(chain: &str) -> String {
    format!("chain-watcher-{chain}")
}

/// The last block read: `height:hash`; an older cursor kept only the hash of the block just
/// below the next height.
fn parse_marker(marker: Option<&str>, next: u64) -> Option<(u64, &str)> {
    let marker = marker?;
    match marker.split_once(':') {
        Some((height, hash)) => Some((height.parse().ok()?, hash)),
        None => Some((next.checked_sub(1)?, marker)),
    }
}

impl DepositWatcher {
    fn book(&self) -> DepositBook<'_> {
        DepositBook {
            chain: self.scanner.chain(),
            store: self.store.as_ref(),
            ledger: &self.ledger,
            clock: self.clock.as_ref(),
        }
    }

    /// One pass: read new blocks, then credit what is deep enough, then re-check recent credits.
    pub async fn tick(&self) -> Result<TickReport, WatchError> {
        let chain = self.scanner.chain();
        let head = self.scanner.head().await?;
        let mut report = TickReport { scanned_to: head, ..TickReport::default() };
        let (mut next, mut marker) = match self.store.cursor(chain).await? {
            Some(c) => c,
            None => (self.settings.start.unwrap_or(head), None),
        };
        if let Some((height, hash)) = parse_marker(marker.as_deref(), next)
            && self.scanner.block_hash(height).await?.as_deref() != Some(hash)
        {
            tracing::warn!(chain, height, "reorganisation below the cursor; reading again");
            next = height.saturating_sub(self.settings.confirmations.max(1));
            marker = None;
        }
        if next > head.saturating_add(self.scanner.heights_per_tick()) {
            // Heads do not go backwards: a lagging node, or another chain behind the same URL
            // (a restarted local node needs a fresh database). Wait rather than rescan.
            tracing::warn!(chain, next, head, "the watcher's cursor is far ahead of the node's head; waiting");
        }
        if next <= head {
            let until = head.min(next.saturating_add(self.scanner.heights_per_tick() - 1));
            let mut read_to = until;
            for height in self.scanner.heights(next, until).await? {
                let Some(block) = self.scanner.scan(height).await? else {
                    // Listed (or below the head) but not served yet: read it next tick.
                    read_to = height.saturating_sub(1);
                    break;
                };
                self.record(&block, &mut report).await?;
                marker = Some(format!("{height}:{}", block.hash));
                self.store.set_cursor(chain, height + 1, marker.as_deref()).await?;
            }
            if read_to + 1 > next {
                self.store.set_cursor(chain, read_to + 1, marker.as_deref()).await?;
            }
            metrics::gauge!("chain_watcher_lag_blocks", "chain" => chain).set(head.saturating_sub(read_to) as f64);
        }
        let canonical = |height: u64| async move { Ok(self.scanner.block_hash(height).await?) };
        let window = self.scanner.reorg_window();
        self.book().confirm(head, self.settings.confirmations, window, &mut report, canonical).await?;
        Ok(report)
    }

    /// Records the block's transfers to deposit addresses.
    async fn record(&self, block: &ScannedBlock, report: &mut TickReport) -> Result<(), WatchError> {
        if block.transfers.is_empty() {
            return Ok(());
        }
        let chain = self.scanner.chain();
        let candidates: Vec<String> = block.transfers.iter().map(|t| t.to.clone()).collect();
        let owners = self.store.owners_of(chain, &candidates).await?;
        for t in &block.transfers {
            let Some((_, owner)) = owners.iter().find(|(a, _)| *a == t.to) else { continue };
            if let Some(why) = t.not_creditable {
                tracing::warn!(chain, tx = %t.tx_hash, asset = %t.asset, why, "transfer to a deposit address not credited; staff review");
                metrics::counter!("chain_deposits_not_creditable_total", "chain" => chain).increment(1);
                continue;
            }
            let d = Deposit {
                id: new_id("dep"),
                chain: chain.into(),
                asset: t.asset.clone(),
                tx_hash: t.tx_hash.clone(),
                log_index: t.index,
                address: t.to.clone(),
                owner: owner.clone(),
                amount: t.amount,
                block_number: block.height,
                block_hash: block.hash.clone(),
                status: "pending".into(),
                transfer_id: None,
                seen_at: self.clock.now_ms(),
                decided_at: None,
            };
            self.book().seen(&d, report).await?;
        }
        Ok(())
    }

    pub async fn run(self, leases: Arc<dyn LeaseStore>, holder: String, stop: tokio::sync::watch::Receiver<bool>) {
        let lease = LeaseLoop::new(&lease_name(self.scanner.chain()), leases, holder, self.settings.poll)
            .with_clock(self.clock.as_ref());
        lease.run(stop, || async { self.tick().await.map(|_| ()) }).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_markers_name_the_height_of_the_last_block() {
        assert_eq!(parse_marker(Some("42:abc"), 50), Some((42, "abc")));
        assert_eq!(parse_marker(Some("0xabc"), 50), Some((49, "0xabc")), "an older cursor: the block below next");
        assert_eq!(parse_marker(None, 50), None);
        assert_eq!(parse_marker(Some("0xabc"), 0), None);
    }
}
