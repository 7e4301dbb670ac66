//! Holds void themselves when their timeout passes: one instance at a time (lease) voids the
//! expired ones through the same batcher as every other transfer.

use crate::LedgerService;
use crate::lease_loop::LeaseLoop;
use pb_domain::LeaseStore;
use std::sync::Arc;
use std::time::Duration;

pub const LEASE: &str = "ledger-hold-expiry";

pub async fn expire_holds(
    ledger: Arc<LedgerService>,
    leases: Arc<dyn LeaseStore>,
    holder: String,
    every: Duration,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let ledger = ledger.as_ref();
    LeaseLoop::new(LEASE, leases, holder, every)
        .run(stop, move || async move {
            let n = ledger.void_expired(500).await?;
            if n > 0 {
                tracing::info!(voided = n, "expired holds voided");
            }
            Ok::<_, crate::LedgerError>(())
        })
        .await
}
