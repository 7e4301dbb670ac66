//! What every chain's deposit watcher does once it has found transfers: record each once,
//! credit it when it is deep enough and its block is still canonical, and watch credited ones
//! for reorganisations. A pending deposit whose block vanished is dropped; a credited one is
//! marked `reorged`, its amount posted to the chain's suspense account and raised for staff
//! (alert `CreditedDepositReorganised`, `GET /v1/admin/deposits?status=reorged`), never
//! silently reversed.

use crate::{TickReport, WatchError};
use pb_domain::Clock;
use pb_domain::custody::{CustodyStore, Deposit};
use pb_domain::ledger::Amount;
use pb_ledger::{ChainCredit, LedgerService};
use std::future::Future;
use std::time::Duration;

pub(crate) struct DepositBook<'a> {
    pub chain: &'static str,
    pub store: &'a dyn CustodyStore,
    pub ledger: &'a LedgerService,
    pub clock: &'a dyn Clock,
}

impl DepositBook<'_> {
    /// Records a deposit seen on chain; re-seen after a reorganisation, it moves to its new block.
    pub async fn seen(&self, d: &Deposit, report: &mut TickReport) -> Result<(), WatchError> {
        if self.store.record_deposit(d).await? {
            report.seen += 1;
            tracing::info!(chain = self.chain, deposit = %d.id, asset = %d.asset, block = d.block_number, "deposit seen");
        } else {
            self.store
                .rebase_pending_deposit(self.chain, &d.tx_hash, d.log_index, d.block_number, &d.block_hash)
                .await?;
        }
        Ok(())
    }

    /// Credits pending deposits with `confirmations` blocks (slots) on top of theirs whose block
    /// is still canonical, then re-checks credits within `reorg_window` of `head`.
    /// `canonical(n)` is the hash of the chain's block at height (slot) `n` now.
    pub async fn confirm<F, Fut>(
        &self,
        head: u64,
        confirmations: u64,
        reorg_window: u64,
        report: &mut TickReport,
        canonical: F,
    ) -> Result<(), WatchError>
    where
        F: Fn(u64) -> Fut,
        Fut: Future<Output = Result<Option<String>, WatchError>>,
    {
        let chain = self.chain;
        for d in self.store.deposits_with_status(chain, "pending", 500).await? {
            if head + 1 < d.block_number + confirmations {
                continue;
            }
            let now_hash = canonical(d.block_number).await?;
            let now = self.clock.now_ms();
            if now_hash.as_deref() != Some(d.block_hash.as_str()) {
                if self.store.decide_deposit(&d.id, "pending", "dropped", None, now).await? {
                    report.dropped += 1;
                    tracing::warn!(chain, deposit = %d.id, "deposit's block left the chain before credit; dropped");
                }
                continue;
            }
            let Ok(amount) = Amount::new(d.amount) else { continue };
            let credit =
                ChainCredit { chain, deposit_id: &d.id, owner: &d.owner, asset: &d.asset, amount, tx_hash: &d.tx_hash };
            match self.ledger.credit_chain_deposit(credit).await {
                Ok(Ok(t)) => {
                    if self.store.decide_deposit(&d.id, "pending", "credited", Some(&t.id.to_api()), now).await? {
                        report.credited += 1;
                        metrics::counter!("chain_deposits_credited_total", "chain" => chain).increment(1);
                        let waited = Duration::from_millis(u64::try_from(now - d.seen_at).unwrap_or(0));
                        metrics::histogram!("chain_deposit_confirmation_seconds", "chain" => chain).record(waited);
                    }
                }
                Ok(Err(refused)) => {
                    tracing::error!(chain, deposit = %d.id, code = refused.code(), "ledger refused a deposit credit")
                }
                Err(e) => tracing::warn!(chain, deposit = %d.id, error = %e, "crediting a deposit failed; will retry"),
            }
        }

        // Credited deposits whose block vanished: raise for staff; never reverse silently.
        for d in self.store.deposits_with_status(chain, "credited", 500).await? {
            if d.block_number + reorg_window < head {
                continue;
            }
            let now_hash = canonical(d.block_number).await?;
            if now_hash.as_deref() == Some(d.block_hash.as_str()) {
                continue;
            }
            // The books first (once per deposit), then the row: a failure retries both next tick.
            let Ok(amount) = Amount::new(d.amount) else { continue };
            let credit =
                ChainCredit { chain, deposit_id: &d.id, owner: &d.owner, asset: &d.asset, amount, tx_hash: &d.tx_hash };
            if let Err(e) = self.ledger.suspend_reorged_deposit(credit).await {
                tracing::warn!(chain, deposit = %d.id, error = %e, "posting a reorganised deposit to suspense failed; will retry");
                continue;
            }
            if self.store.decide_deposit(&d.id, "credited", "reorged", None, self.clock.now_ms()).await? {
                report.reorged += 1;
                metrics::counter!("chain_deposits_reorged_after_credit_total", "chain" => chain).increment(1);
                tracing::error!(chain, deposit = %d.id, "CREDITED DEPOSIT REORGANISED AWAY: posted to suspense for staff review");
            }
        }
        Ok(())
    }
}
