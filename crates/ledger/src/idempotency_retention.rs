//! Idempotency-Keys are remembered for `IDEMPOTENCY_KEY_RETENTION_HOURS` and then forgotten, so
//! the table holds a window of requests rather than a row for every money-moving request ever
//! made. A retry inside the window gets the first answer; after it, the same key is a new
//! request (as with Stripe, which keeps keys 24 hours). One instance at a time (lease) deletes
//! the old keys, in short statements of `CHUNK` keys each, so no long transaction or lock
//! stands in the way of the ledger's batches. Counter: `idempotency_keys_forgotten_total`.

use crate::lease_loop::LeaseLoop;
use crate::{LedgerError, LedgerService};
use pb_domain::LeaseStore;
use std::sync::Arc;
use std::time::Duration;

pub const LEASE: &str = "ledger-idempotency-retention";

/// Keys deleted per statement.
const CHUNK: u32 = 5_000;
/// Statements per pass at most: a backlog (the first pass after the setting was lowered, say)
/// goes over several passes instead of one long burst of deletes.
const MAX_CHUNKS: usize = 100;

/// One pass: deletes keys older than `retention`, chunk by chunk, until a chunk comes back
/// short or `MAX_CHUNKS` ran. Returns how many went.
pub async fn forget_once(ledger: &LedgerService, retention: Duration) -> Result<u64, LedgerError> {
    let mut forgotten = 0;
    for _ in 0..MAX_CHUNKS {
        let n = ledger.forget_idempotency_keys(retention, CHUNK).await?;
        forgotten += n;
        if n < u64::from(CHUNK) {
            break;
        }
    }
    Ok(forgotten)
}

pub async fn forget_idempotency_keys(
    ledger: Arc<LedgerService>,
    leases: Arc<dyn LeaseStore>,
    holder: String,
    retention: Duration,
    every: Duration,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let ledger = ledger.as_ref();
    LeaseLoop::new(LEASE, leases, holder, every)
        .held_for_each_period()
        .run(stop, move || async move {
            let n = forget_once(ledger, retention).await?;
            if n > 0 {
                metrics::counter!("idempotency_keys_forgotten_total").increment(n);
                tracing::info!(forgotten = n, "idempotency keys past their retention forgotten");
            }
            Ok::<_, LedgerError>(())
        })
        .await
}
