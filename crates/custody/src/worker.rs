//! The loop every custody worker runs: tick every `poll` while this instance holds the
//! worker's lease (one active instance across servers), stop between ticks.

use pb_domain::{Clock, LeaseStore};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// How long a lease lasts without renewal: another instance takes over after this.
const LEASE_TTL_MS: i64 = 30_000;

pub(crate) struct LeaseLoop<'a> {
    pub lease: String,
    pub leases: Arc<dyn LeaseStore>,
    pub holder: String,
    pub clock: &'a dyn Clock,
    pub poll: Duration,
}

impl LeaseLoop<'_> {
    pub async fn run<F, Fut, E>(self, mut stop: tokio::sync::watch::Receiver<bool>, mut tick: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        let mut interval = tokio::time::interval(self.poll);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // Stops between ticks, never in the middle of one: a lease renewal or a batch in flight
            // finishes before the server hands the lease over.
            tokio::select! {
                _ = interval.tick() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            match self.leases.try_acquire_lease(&self.lease, &self.holder, self.clock.now_ms(), LEASE_TTL_MS).await {
                Ok(true) => {
                    if let Err(e) = tick().await {
                        tracing::warn!(worker = %self.lease, error = %e, "custody worker tick failed; will retry");
                    }
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(worker = %self.lease, error = %e, "custody worker lease unavailable"),
            }
        }
    }
}
