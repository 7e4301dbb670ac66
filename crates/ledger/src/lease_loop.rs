//! The loop every singleton worker runs (hold expiry, outbox relay, background verify, key
//! retention, the custody workers): tick every `poll`; on each tick, run the job only while
//! this instance holds the worker's lease (one active instance across servers); stop between
//! ticks, never in the middle of one, so a lease renewal or a batch in flight finishes before
//! the server hands the lease over.

use pb_domain::{Clock, LeaseStore, SystemClock};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// How long a lease lasts without renewal, unless a worker says otherwise: another instance
/// takes over after this.
pub const LEASE_TTL_MS: i64 = 30_000;

#[derive(Debug)]
pub struct LeaseLoop<'a> {
    pub lease: String,
    pub leases: Arc<dyn LeaseStore>,
    pub holder: String,
    pub clock: &'a dyn Clock,
    pub poll: Duration,
    /// `LEASE_TTL_MS` for workers that tick often and so renew it; a worker that ticks rarely
    /// holds it for its whole period, so another instance does not repeat the job at once.
    pub ttl_ms: i64,
}

impl LeaseLoop<'static> {
    /// On the system clock, with the lease renewed on every tick (`LEASE_TTL_MS`).
    pub fn new(lease: &str, leases: Arc<dyn LeaseStore>, holder: String, poll: Duration) -> Self {
        Self { lease: lease.to_owned(), leases, holder, clock: &SystemClock, poll, ttl_ms: LEASE_TTL_MS }
    }
}

impl LeaseLoop<'_> {
    /// The same loop on another clock (the custody workers' own, which tests move by hand).
    pub fn with_clock(self, clock: &dyn Clock) -> LeaseLoop<'_> {
        LeaseLoop { clock, ..self }
    }

    /// The lease is held for the whole period between ticks: for a worker that ticks rarely, so
    /// another instance does not repeat the job at once.
    pub fn held_for_each_period(mut self) -> Self {
        self.ttl_ms = i64::try_from(self.poll.as_millis()).unwrap_or(i64::MAX);
        self
    }

    pub async fn run<F, Fut, E>(self, mut stop: tokio::sync::watch::Receiver<bool>, mut job: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        let mut interval = tokio::time::interval(self.poll);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = interval.tick() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            match self.leases.try_acquire_lease(&self.lease, &self.holder, self.clock.now_ms(), self.ttl_ms).await {
                Ok(true) => {
                    if let Err(e) = job().await {
                        tracing::warn!(worker = %self.lease, error = %e, "worker tick failed; will retry");
                    }
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(worker = %self.lease, error = %e, "worker lease unavailable"),
            }
        }
    }
}
