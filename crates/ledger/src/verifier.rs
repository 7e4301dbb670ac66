//! `ledger verify`, on a schedule inside the service (one instance at a time, by lease), so an
//! alert fires when an invariant or the hash chain breaks without anyone running the command.
//! Gauges: `ledger_verify_ok` (1 or 0) and `ledger_verify_last_run_timestamp_seconds`.

use crate::LedgerService;
use crate::lease_loop::LeaseLoop;
use pb_domain::{Clock, LeaseStore, SystemClock};
use std::sync::Arc;
use std::time::Duration;

pub const LEASE: &str = "ledger-verify";

pub async fn verify_periodically(
    ledger: Arc<LedgerService>,
    leases: Arc<dyn LeaseStore>,
    holder: String,
    every: Duration,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let ledger = ledger.as_ref();
    LeaseLoop::new(LEASE, leases, holder, every)
        .held_for_each_period()
        .run(stop, move || async move {
            let started = SystemClock.now_ms();
            let report = ledger.verify().await?;
            metrics::gauge!("ledger_verify_ok").set(if report.ok() { 1.0 } else { 0.0 });
            metrics::gauge!("ledger_verify_last_run_timestamp_seconds").set((started / 1000) as f64);
            if report.ok() {
                tracing::info!(transfers = report.transfers, "ledger verified");
            } else {
                tracing::error!(problems = ?report.problems, "LEDGER VERIFY FAILED");
            }
            Ok::<_, crate::LedgerError>(())
        })
        .await
}
