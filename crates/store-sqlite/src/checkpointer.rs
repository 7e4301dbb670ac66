//! Checkpoints the WAL from a connection of its own, so that the ledger's writer does not.
//!
//! Why: SQLite checkpoints automatically inside the COMMIT that takes the WAL past
//! `wal_autocheckpoint` pages (1,000 by default), on whichever connection committed: nearly
//! always the ledger's one writer. Every few batches, the ledger's serial section then also
//! copied the WAL's pages into the database file and synced both; under the uniform benchmark
//! that was 13% of the writer thread's CPU, beside the waits for the syncs (bench/RESULTS.md).
//! A PASSIVE checkpoint from another connection runs beside the writer: it copies what no
//! reader still needs and waits for no one (sqlite.org/c3ref/wal_checkpoint_v2.html), and the
//! writer starts the WAL again from its beginning once it has all been copied
//! (sqlite.org/wal.html, "Checkpointing"). The automatic checkpoint stays as a backstop at
//! `BACKSTOP_PAGES`. Under a steady stream of batches the WAL can reach it, since the writer
//! starts the WAL again only if a checkpoint copied all of it between two of its commits; the
//! commit that crosses it then copies only what came since this task's last checkpoint.

use sqlx::SqlitePool;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// How often the WAL is checkpointed: a few dozen batches' pages at full load, and a no-op
/// costing microseconds when nothing was written.
const EVERY: Duration = Duration::from_millis(100);

/// `wal_autocheckpoint` for every connection (64 MiB of 4 KiB pages): the most the WAL holds
/// before a commit checkpoints.
pub(crate) const BACKSTOP_PAGES: u32 = 16 * 1024;

/// What the checkpoints did: for tests, and for an operator's look at a running store.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    runs: AtomicU64,
    /// The last run's frames in the WAL, and of them those copied into the database file.
    wal_frames: AtomicI64,
    copied: AtomicI64,
}

impl Progress {
    /// Checkpoints run since the store opened; the last one's frames in the WAL and copied.
    pub(crate) fn last(&self) -> (u64, i64, i64) {
        (
            self.runs.load(Ordering::Acquire),
            self.wal_frames.load(Ordering::Relaxed),
            self.copied.load(Ordering::Relaxed),
        )
    }
}

/// The running task; it stops when the last clone of the store is dropped.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    task: tokio::task::AbortHandle,
    pub(crate) progress: Arc<Progress>,
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Checkpointer {
    /// Starts checkpointing on `pool` (not the writer's), on the current runtime.
    pub(crate) fn start(pool: SqlitePool) -> Self {
        let progress = Arc::new(Progress::default());
        let task = tokio::spawn(run(pool, progress.clone())).abort_handle();
        Self { task, progress }
    }
}

async fn run(pool: SqlitePool, progress: Arc<Progress>) {
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        // (busy, frames in the WAL, frames copied into the database file).
        match sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)").fetch_one(&pool).await {
            // -1s: another connection's checkpoint (a commit's backstop) was running.
            Ok((_, wal_frames, copied)) if wal_frames < 0 || copied < 0 => {}
            Ok((_, wal_frames, copied)) => {
                progress.wal_frames.store(wal_frames, Ordering::Relaxed);
                progress.copied.store(copied, Ordering::Relaxed);
                progress.runs.fetch_add(1, Ordering::Release);
                metrics::counter!("sqlite_wal_checkpoints_total", "result" => "ok").increment(1);
                metrics::gauge!("sqlite_wal_frames").set(wal_frames as f64);
            }
            Err(sqlx::Error::PoolClosed) => return,
            // The backstop checkpoints meanwhile; the next tick tries again.
            Err(e) => {
                metrics::counter!("sqlite_wal_checkpoints_total", "result" => "failed").increment(1);
                tracing::warn!(error = %e, "WAL checkpoint failed");
            }
        }
    }
}
