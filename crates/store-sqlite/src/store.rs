use crate::checkpointer::{self, Checkpointer};
use crate::migrations;
use async_trait::async_trait;
use pb_domain::ledger::recent_journal::{self, RecentJournal};
use pb_domain::{ComponentCheck, MigrationReport, PoolStats, Store, StoreError};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The writer's page cache (SQLite's default is 2,000 KiB): room for the pages that batches
/// touch (10,000 accounts and the journal's indexes fill about 30 MiB), allocated as used.
const WRITER_CACHE_KIB: u32 = 32 * 1024;

/// The embedded default's store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
    /// One connection for the ledger's writes (its batches, accounts, adjustments, the outbox
    /// cursor) and the leases:
    /// - SQLite has one writer at a time anyway. Writers on the pool's connections wait for it
    ///   in SQLite's busy handler, which sleeps and polls (up to 100 ms a time), so under a
    ///   stream of batches a lease renewal or a cursor write waited more than a second; here
    ///   they queue for the connection in turn.
    /// - Its page cache stays warm: in WAL mode a connection drops its whole cache when it
    ///   begins a transaction after another connection wrote (sqlite.org/wal.html), so batches
    ///   spread over the pool read their pages back from the OS every time.
    pub(crate) writer: SqlitePool,
    /// The journal rows this instance committed lately, which the outbox relay reads instead
    /// of the database when it can (pb_domain::ledger::recent_journal).
    pub(crate) recent: Arc<RecentJournal>,
    /// Checkpoints the WAL beside the writer (checkpointer.rs), while any clone is alive.
    checkpointer: Arc<Checkpointer>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`.
    ///
    /// WAL lets readers proceed while one writer commits; `synchronous = FULL` because this file
    /// holds money and NORMAL may lose the last commits on power failure (sqlite.org/wal.html).
    /// A task of the store's checkpoints the WAL (checkpointer.rs): the commits do only as a
    /// backstop.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("wal_autocheckpoint", checkpointer::BACKSTOP_PAGES.to_string());
        let unavailable = |e: sqlx::Error| StoreError::Unavailable(format!("opening {}: {e}", path.display()));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await
            .map_err(unavailable)?;
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(
                options
                    .pragma("cache_size", format!("-{}", WRITER_CACHE_KIB))
                    // A batch's multi-row statements keep their statement journals (the pages
                    // to restore if one fails half-way) in memory: past 64 KiB, SQLite spilled
                    // each to a temporary file it created, wrote and deleted within the batch
                    // (sqlite.org/tempfiles.html, 2.5).
                    .pragma("temp_store", "memory"),
            )
            .await
            .map_err(unavailable)?;
        let checkpointer = Arc::new(Checkpointer::start(pool.clone()));
        Ok(Self { pool, writer, recent: Arc::new(RecentJournal::new(recent_journal::DEFAULT_CAPACITY)), checkpointer })
    }

    /// The background checkpoints so far, and the last one's frames in the WAL and copied
    /// into the database file (checkpointer.rs).
    pub fn wal_checkpoints(&self) -> (u64, i64, i64) {
        self.checkpointer.progress.last()
    }

    /// The pool, for the store's own modules and for tests that look behind the API.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> Result<MigrationReport, StoreError> {
        let migrator = migrations::migrator();
        let before: Vec<i64> = applied_versions(&self.pool).await;
        migrator.run(&self.pool).await.map_err(|e| StoreError::Migration(e.to_string()))?;
        let after = applied_versions(&self.pool).await;
        Ok(MigrationReport {
            backend: "sqlite",
            known: migrations::known_versions(),
            applied: after.into_iter().filter(|v| !before.contains(v)).collect(),
        })
    }

    async fn check(&self) -> Vec<ComponentCheck> {
        let started = Instant::now();
        let result = sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ()).map_err(|e| e.to_string());
        vec![ComponentCheck {
            name: "database",
            backend: "sqlite",
            up: result.is_ok(),
            latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            detail: result.err(),
        }]
    }

    fn pool_stats(&self) -> Vec<PoolStats> {
        vec![stats("primary", &self.pool), stats("writer", &self.writer)]
    }

    async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }
}

fn stats(name: &'static str, pool: &SqlitePool) -> PoolStats {
    PoolStats {
        pool: name,
        size: pool.size(),
        idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
        max: pool.options().get_max_connections(),
    }
}

async fn applied_versions(pool: &SqlitePool) -> Vec<i64> {
    // Absent before the first migration: an error here simply means "none applied".
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(pool)
        .await
        .unwrap_or_default()
}
