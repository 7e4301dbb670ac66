//! Holds void themselves when their timeout passes: one instance at a time (lease) voids the
//! expired ones through the same batcher as every other transfer.

use crate::LedgerService;
use pb_domain::{Clock, LeaseStore, SystemClock};
use std::sync::Arc;
use std::time::Duration;

pub const LEASE: &str = "ledger-hold-expiry";

pub async fn expire_holds(
    ledger: Arc<LedgerService>,
    leases: Arc<dyn LeaseStore>,
    holder: String,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // Stops between ticks, never in the middle of one: a lease renewal or a batch in flight
        // finishes before the server hands the lease over.
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        match leases.try_acquire_lease(LEASE, &holder, SystemClock.now_ms(), 30_000).await {
            Ok(true) => match ledger.void_expired(500).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(voided = n, "expired holds voided"),
                Err(e) => tracing::warn!(error = %e, "voiding expired holds failed"),
            },
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "hold-expiry lease unavailable"),
        }
    }
}
