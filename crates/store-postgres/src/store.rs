use crate::ledger_view::LedgerView;
use crate::migrations;
use async_trait::async_trait;
use pb_domain::ledger::recent_journal::{self, RecentJournal};
use pb_domain::{ComponentCheck, MigrationReport, PoolStats, Store, StoreError};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How to reach PostgreSQL. URLs hold passwords: this type has no `Debug` of them.
pub struct PgStoreOptions<'a> {
    pub primary_url: &'a str,
    pub replica_url: Option<&'a str>,
    pub max_connections: u32,
    /// Connections kept for ledger batches alone (one per batch worker), beside the pool.
    pub batch_connections: u32,
    pub acquire_timeout: Duration,
    /// Accounts this instance keeps in its view of the ledger (ledger_view.rs); 0: none.
    pub ledger_view_accounts: usize,
}

impl std::fmt::Debug for PgStoreOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStoreOptions")
            .field("primary_url", &"[redacted]")
            .field("replica_url", &self.replica_url.map(|_| "[redacted]"))
            .field("max_connections", &self.max_connections)
            .field("batch_connections", &self.batch_connections)
            .field("ledger_view_accounts", &self.ledger_view_accounts)
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct PgStore {
    pub(crate) pool: PgPool,
    /// Ledger batches only: one connection per batch in flight (`batch_connections`), each a
    /// pool of its own. A batch on a connection of the shared pool ran on whichever of its
    /// backends was idle longest (sqlx hands idle connections out first in, first out), so each
    /// batch started in a cold backend process; the same backends, and their caches, kept warm
    /// gave 12,928 -> 13,654 transfers/s, five runs each (bench/RESULTS.md). So a batch takes
    /// the first free lane: one batch at a time always runs on the first. A batch decided
    /// from the view takes a lane (its place among the batches in flight) but not its
    /// connection: its statement goes on the pipeline.
    pub(crate) lanes: Arc<[Lane]>,
    /// Read-only queries that tolerate replication lag go here; the primary when unset.
    pub(crate) replica: Option<PgPool>,
    /// The head and accounts as of this instance's last ledger batch, which lets the next
    /// batch skip a round trip (ledger_view.rs).
    pub(crate) view: Arc<LedgerView>,
    /// Held by a ledger batch from its start until it is decided: batches are decided one at a
    /// time, in the order they take the journal head, each from the view as the one before
    /// leaves it, while up to `batch_connections` of them are in PostgreSQL (ledger.rs).
    pub(crate) decide: Arc<tokio::sync::Mutex<()>>,
    /// The connection batches decided from the view are pipelined on (pipeline.rs).
    pub(crate) pipeline: Arc<crate::pipeline::Pipeline>,
    /// The journal rows this instance committed lately, which the outbox relay reads instead
    /// of the database when it can (pb_domain::ledger::recent_journal).
    pub(crate) recent: Arc<RecentJournal>,
}

/// A connection for ledger batches, taken by one batch at a time.
#[derive(Debug, Clone)]
pub(crate) struct Lane {
    pub(crate) pool: PgPool,
    taken: Arc<tokio::sync::Mutex<()>>,
}

impl PgStore {
    /// The first free lane (held until the guard drops), or the first lane once it is free.
    pub(crate) async fn lane(&self) -> (&PgPool, tokio::sync::OwnedMutexGuard<()>) {
        for lane in self.lanes.iter() {
            if let Ok(taken) = lane.taken.clone().try_lock_owned() {
                return (&lane.pool, taken);
            }
        }
        let first = &self.lanes[0];
        (&first.pool, first.taken.clone().lock_owned().await)
    }

    /// Creates the pools lazily: the process starts (and `/ready` reports what is down) even
    /// when the database is not answering yet.
    pub fn connect(options: &PgStoreOptions<'_>) -> Result<Self, StoreError> {
        let pool = pool(options.primary_url, options)?;
        let lanes = (0..options.batch_connections.max(1))
            .map(|_| {
                let pool =
                    self::options(options).max_connections(1).connect_lazy_with(connect_options(options.primary_url)?);
                Ok(Lane { pool, taken: Arc::new(tokio::sync::Mutex::new(())) })
            })
            .collect::<Result<Vec<Lane>, StoreError>>()?;
        let replica = options.replica_url.map(|url| pool_readonly(url, options)).transpose()?;
        let pipeline_pool =
            self::options(options).max_connections(1).connect_lazy_with(connect_options(options.primary_url)?);
        Ok(Self {
            pipeline: Arc::new(crate::pipeline::Pipeline::new(pipeline_pool)),
            pool,
            lanes: lanes.into(),
            replica,
            view: Arc::new(LedgerView::new(options.ledger_view_accounts)),
            decide: Arc::new(tokio::sync::Mutex::new(())),
            recent: Arc::new(RecentJournal::new(recent_journal::DEFAULT_CAPACITY)),
        })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Ledger batches decided from this instance's view (ledger_view.rs) since it started, and
    /// of those the ones PostgreSQL refused because the ledger had moved (also the metric
    /// `ledger_batch_reads_total`, by `from`).
    pub fn ledger_view_totals(&self) -> (u64, u64) {
        self.view.totals()
    }

    /// The pool for read-only queries: the replica when configured.
    pub fn read_pool(&self) -> &PgPool {
        self.replica.as_ref().unwrap_or(&self.pool)
    }
}

fn connect_options(url: &str) -> Result<PgConnectOptions, StoreError> {
    // The URL's text may hold a password: never put it in the error.
    PgConnectOptions::from_str(url)
        .map(|o| o.application_name("protocol-bank"))
        .map_err(|_| StoreError::Unavailable("DATABASE_URL is not a valid postgres:// URL".into()))
}

/// A connection idle this long is pinged before use; one in steady use is not.
pub(crate) const PING_IF_IDLE: Duration = Duration::from_secs(1);

/// sqlx pings every connection before handing it out by default: a round trip more for every
/// query, and a ledger batch's transaction is only five. Like HikariCP's alive-bypass window,
/// only a connection that sat idle (where a restart or failover may have broken it) is
/// checked; one that breaks while in steady use fails its query, which callers see as
/// `Unavailable`. On release, the patched pool pings only a connection with something still
/// owed (third_party/README.md), for the same reason.
fn options(options: &PgStoreOptions<'_>) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(options.max_connections)
        .acquire_timeout(options.acquire_timeout)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_IF_IDLE {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
}

fn pool(url: &str, o: &PgStoreOptions<'_>) -> Result<PgPool, StoreError> {
    Ok(options(o).connect_lazy_with(connect_options(url)?))
}

fn pool_readonly(url: &str, o: &PgStoreOptions<'_>) -> Result<PgPool, StoreError> {
    // Belt and braces: a replica URL that points at a primary by mistake still cannot write.
    let connect = connect_options(url)?.options([("default_transaction_read_only", "on")]);
    Ok(options(o).connect_lazy_with(connect))
}

async fn probe(name: &'static str, pool: &PgPool) -> ComponentCheck {
    let started = Instant::now();
    let result = describe(sqlx::query("SELECT 1").execute(pool).await);
    ComponentCheck {
        name,
        backend: "postgres",
        up: result.is_ok(),
        latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        detail: result.err(),
    }
}

fn describe<T>(result: Result<T, sqlx::Error>) -> Result<(), String> {
    // sqlx errors on connect name the host and the reason, never the password.
    result.map(|_| ()).map_err(|e| match e {
        sqlx::Error::PoolTimedOut => "timed out waiting for a connection".to_string(),
        other => other.to_string(),
    })
}

fn stats(name: &'static str, pool: &PgPool) -> PoolStats {
    PoolStats {
        pool: name,
        size: pool.size(),
        idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
        max: pool.options().get_max_connections(),
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> Result<MigrationReport, StoreError> {
        // One session holds an advisory lock around reading what is applied, applying, and
        // reading again, so instances that start together apply each migration once and each
        // reports truly what it did. (sqlx's migrator takes the same kind of lock; advisory
        // locks are re-entrant within a session.)
        let mut conn = self.pool.acquire().await.map_err(|e| StoreError::Unavailable(e.to_string()))?;
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *conn)
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let result = async {
            let before = applied_versions(&mut conn).await;
            migrations::migrator()
                .run_direct(None, &mut *conn, false)
                .await
                .map_err(|e| StoreError::Migration(e.to_string()))?;
            let after = applied_versions(&mut conn).await;
            Ok(MigrationReport {
                backend: "postgres",
                known: migrations::known_versions(),
                applied: after.into_iter().filter(|v| !before.contains(v)).collect(),
            })
        }
        .await;
        let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)").bind(MIGRATION_LOCK).execute(&mut *conn).await;
        if unlocked.is_err() {
            // Never hand a connection that may still hold the lock back to the pool.
            drop(conn.detach());
        }
        result
    }

    async fn check(&self) -> Vec<ComponentCheck> {
        let mut checks = vec![probe("database", &self.pool).await];
        if let Some(replica) = &self.replica {
            checks.push(probe("database_replica", replica).await);
        }
        checks
    }

    async fn replica_lag_seconds(&self) -> Option<f64> {
        // Zero when everything received has been replayed (an idle primary is not lag).
        let replica = self.replica.as_ref()?;
        sqlx::query_scalar::<_, f64>(
            "SELECT CASE WHEN pg_last_wal_receive_lsn() IS NULL OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
                    THEN 0 ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END::float8",
        )
        .fetch_one(replica)
        .await
        .ok()
    }

    fn pool_stats(&self) -> Vec<PoolStats> {
        let mut all = vec![stats("primary", &self.pool)];
        if let Some(replica) = &self.replica {
            all.push(stats("replica", replica));
        }
        all
    }

    async fn close(&self) {
        for lane in self.lanes.iter() {
            lane.pool.close().await;
        }
        self.pool.close().await;
        if let Some(replica) = &self.replica {
            replica.close().await;
        }
    }
}

/// Key of the advisory lock that serialises migrations ("pbmigrat" in ASCII).
const MIGRATION_LOCK: i64 = 0x7062_6d69_6772_6174;

async fn applied_versions(conn: &mut sqlx::PgConnection) -> Vec<i64> {
    // Absent before the first migration: an error here means "none applied".
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(conn)
        .await
        .unwrap_or_default()
}
