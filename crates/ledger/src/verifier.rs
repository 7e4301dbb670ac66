//! `ledger verify`, on a schedule inside the service (one instance at a time, by lease), so an
//! alert fires when an invariant or the hash chain breaks without anyone running the command.
//! Gauges: `ledger_verify_ok` (1 or 0) and `ledger_verify_last_run_timestamp_seconds`.

use crate::LedgerService;
use pb_domain::{Clock, LeaseStore, SystemClock};
use std::sync::Arc;
use std::time::Duration;

pub const LEASE: &str = "ledger-verify";

pub async fn verify_periodically(
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
        let now = SystemClock.now_ms();
        // The lease outlives the run so another instance does not repeat it at once.
        match leases.try_acquire_lease(LEASE, &holder, now, i64::try_from(every.as_millis()).unwrap_or(i64::MAX)).await
        {
            Ok(true) => match ledger.verify().await {
                Ok(report) => {
                    metrics::gauge!("ledger_verify_ok").set(if report.ok() { 1.0 } else { 0.0 });
                    metrics::gauge!("ledger_verify_last_run_timestamp_seconds").set((now / 1000) as f64);
                    if report.ok() {
                        tracing::info!(transfers = report.transfers, "ledger verified");
                    } else {
                        tracing::error!(problems = ?report.problems, "LEDGER VERIFY FAILED");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "ledger verify could not run"),
            },
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "ledger-verify lease unavailable"),
        }
    }
}
