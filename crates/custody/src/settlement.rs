//! How a withdrawal ends, on either chain: confirmed → its ledger holds are captured; failed
//! (refused by the network or failed on chain) → voided, the money back in the customer's
//! account. Each settles once: the ledger keys it by withdrawal, the row by its expected status.

use crate::SendError;
use pb_domain::Clock;
use pb_domain::custody::{CustodyStore, Withdrawal};
use pb_domain::ledger::transfer::TransferId;
use pb_ledger::LedgerService;

pub(crate) struct Settlement<'a> {
    pub chain: &'static str,
    pub ledger: &'a LedgerService,
    pub store: &'a dyn CustodyStore,
    pub clock: &'a dyn Clock,
}

fn holds(w: &Withdrawal) -> Vec<TransferId> {
    w.hold_ids.split(',').filter_map(TransferId::from_api).collect()
}

impl Settlement<'_> {
    /// Captures the holds of `w`, confirmed on chain by transaction `tx`.
    pub async fn confirmed(&self, mut w: Withdrawal, tx: String) -> Result<(), SendError> {
        self.ledger.settle_withdrawal(&w.id, &holds(&w), true).await.map_err(|e| SendError::Other(e.to_string()))?;
        w.status = "confirmed".into();
        w.tx_hash = Some(tx);
        w.updated_at = self.clock.now_ms();
        self.store.update_withdrawal(&w, "broadcast").await?;
        metrics::counter!("withdrawals_total", "chain" => self.chain, "result" => "confirmed").increment(1);
        Ok(())
    }

    /// Voids the holds of `w`. `code` is what the customer sees (`network_refused`, `reverted`);
    /// the node's own words (`detail`) go to the log only.
    pub async fn failed(
        &self,
        mut w: Withdrawal,
        from_status: &str,
        code: &str,
        detail: String,
    ) -> Result<(), SendError> {
        self.ledger.settle_withdrawal(&w.id, &holds(&w), false).await.map_err(|e| SendError::Other(e.to_string()))?;
        w.status = "failed".into();
        w.failure = Some(code.to_owned());
        if from_status != "broadcast" {
            // Refused before it reached the chain: there is no transaction to point at.
            w.tx_hash = None;
            w.raw_tx = None;
        }
        w.updated_at = self.clock.now_ms();
        self.store.update_withdrawal(&w, from_status).await?;
        metrics::counter!("withdrawals_total", "chain" => self.chain, "result" => "failed").increment(1);
        tracing::warn!(chain = self.chain, withdrawal = %w.id, code, detail = %detail, "withdrawal failed; holds voided");
        Ok(())
    }
}
