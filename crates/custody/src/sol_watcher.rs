//! The Solana deposit watcher (issue 5, "Deposits"): one instance at a time (lease) reads
//! confirmed blocks from a stored slot cursor and records every balance increase of a deposit
//! address — lamports on the address itself, SPL tokens in its associated token account — read
//! from the transaction's pre/post balances (chains.md: scanning by signature would also return
//! transactions that merely mention the address). Deposits are credited `confirmations` slots
//! later if their block is still the one at that slot (`DepositBook`).

use crate::deposits::DepositBook;
use crate::worker::LeaseLoop;
use crate::{SolToken, TickReport, WatchError};
use pb_chains::SolAddress;
use pb_chains::sol_programs::associated_token_address;
use pb_chains::sol_rpc::{Block, SolRpc};
use pb_domain::custody::{CustodyStore, Deposit};
use pb_domain::identity::ids::new_id;
use pb_domain::{Clock, LeaseStore};
use pb_ledger::LedgerService;
use std::sync::Arc;
use std::time::Duration;

const CHAIN: &str = "solana";
pub const LEASE: &str = "chain-watcher-solana";
/// Slots read per tick (about 3 minutes of mainnet), so an outage catches up in steps.
const MAX_SLOTS_PER_TICK: u64 = 500;
/// How far back (slots) credited deposits are re-checked: past finality on mainnet.
const REORG_WINDOW: u64 = 150;

#[derive(Debug, Clone)]
pub struct SolWatcherSettings {
    /// Slots on top of a deposit's before it is credited (32 ≈ finalized on mainnet).
    pub confirmations: u64,
    /// First slot to read when there is no cursor yet; `None`: the current slot at first start.
    pub start_slot: Option<u64>,
    pub poll: Duration,
}

pub struct SolWatcher {
    pub rpc: SolRpc,
    pub tokens: Vec<SolToken>,
    pub store: Arc<dyn CustodyStore>,
    pub ledger: Arc<LedgerService>,
    pub clock: Arc<dyn Clock>,
    pub settings: SolWatcherSettings,
}

impl std::fmt::Debug for SolWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SolWatcher").field("settings", &self.settings).finish_non_exhaustive()
    }
}

/// The cursor keeps the last block read as `slot:blockhash`: slots can be skipped, so the block
/// to re-check is not always the one just below the next slot.
fn parse_marker(marker: Option<&str>) -> Option<(u64, &str)> {
    let (slot, hash) = marker?.split_once(':')?;
    Some((slot.parse().ok()?, hash))
}

impl SolWatcher {
    fn book(&self) -> DepositBook<'_> {
        DepositBook { chain: CHAIN, store: self.store.as_ref(), ledger: &self.ledger, clock: self.clock.as_ref() }
    }

    /// One pass: read new blocks, then credit what is deep enough, then re-check recent credits.
    pub async fn tick(&self) -> Result<TickReport, WatchError> {
        let head = self.rpc.slot().await?;
        let mut report = TickReport { scanned_to: head, ..TickReport::default() };
        let (mut next, mut marker) = match self.store.cursor(CHAIN).await? {
            Some(c) => c,
            None => (self.settings.start_slot.unwrap_or(head), None),
        };
        // A fork replaced the last block read: read again from `confirmations` slots before it.
        if let Some((slot, hash)) = parse_marker(marker.as_deref()) {
            let now = self.rpc.block(slot).await?.map(|b| b.blockhash);
            if now.as_deref() != Some(hash) {
                tracing::warn!(slot, "solana fork below the cursor; reading again");
                next = slot.saturating_sub(self.settings.confirmations.max(1));
                marker = None;
            }
        }
        if next <= head {
            let until = head.min(next.saturating_add(MAX_SLOTS_PER_TICK - 1));
            let mut read_to = until;
            for slot in self.rpc.blocks(next, until).await? {
                let Some(block) = self.rpc.block(slot).await? else {
                    // Listed but not served yet: stop here and read it next tick.
                    read_to = slot.saturating_sub(1);
                    break;
                };
                self.scan(&block, &mut report).await?;
                marker = Some(format!("{slot}:{}", block.blockhash));
                self.store.set_cursor(CHAIN, slot + 1, marker.as_deref()).await?;
            }
            if read_to + 1 > next {
                self.store.set_cursor(CHAIN, read_to + 1, marker.as_deref()).await?;
            }
            metrics::gauge!("chain_watcher_lag_blocks", "chain" => CHAIN).set(head.saturating_sub(read_to) as f64);
        }
        let canonical = |slot: u64| async move { Ok(self.rpc.block(slot).await?.map(|b| b.blockhash)) };
        self.book().confirm(head, self.settings.confirmations, REORG_WINDOW, &mut report, canonical).await?;
        Ok(report)
    }

    /// Deposits in one block: increases of deposit addresses' SOL, and of the watched tokens in
    /// their associated token accounts.
    async fn scan(&self, block: &Block, report: &mut TickReport) -> Result<(), WatchError> {
        let increases: Vec<_> =
            block.transactions.iter().flat_map(|tx| tx.increases().into_iter().map(move |i| (tx, i))).collect();
        if increases.is_empty() {
            return Ok(());
        }
        let wallets: Vec<String> = increases.iter().map(|(_, i)| i.wallet.clone()).collect();
        let owners = self.store.owners_of(CHAIN, &wallets).await?;
        for (tx, inc) in increases {
            let Some((_, owner)) = owners.iter().find(|(a, _)| *a == inc.wallet) else { continue };
            let asset = match &inc.mint {
                None => "SOL".to_owned(),
                Some(mint) => {
                    let Some(token) = self.tokens.iter().find(|t| t.mint.to_string() == *mint) else { continue };
                    // Only the associated account is swept and counted in reserves.
                    let Ok(wallet) = SolAddress::parse(&inc.wallet) else { continue };
                    if associated_token_address(&wallet, &token.mint).to_string() != inc.account {
                        tracing::warn!(account = %inc.account, "token deposit to a non-associated token account ignored");
                        continue;
                    }
                    token.asset.clone()
                }
            };
            let d = Deposit {
                id: new_id("dep"),
                chain: CHAIN.into(),
                asset,
                tx_hash: tx.signature.clone(),
                // The account's index in the transaction: one deposit per account per transaction.
                log_index: u32::try_from(inc.account_index).unwrap_or(u32::MAX),
                address: inc.wallet.clone(),
                owner: owner.clone(),
                amount: u128::from(inc.amount),
                block_number: block.slot,
                block_hash: block.blockhash.clone(),
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
        let lease = LeaseLoop { lease: LEASE, leases, holder, clock: self.clock.as_ref(), poll: self.settings.poll };
        lease.run(stop, || async { self.tick().await.map(|_| ()) }).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_markers_carry_the_slot_of_the_last_block() {
        assert_eq!(parse_marker(Some("42:abc")), Some((42, "abc")));
        assert_eq!(parse_marker(Some("0xabc")), None);
        assert_eq!(parse_marker(None), None);
    }
}
