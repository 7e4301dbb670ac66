//! The system of record. One trait per concern lives here; `pb-store-postgres` and
//! `pb-store-sqlite` implement them all, and one story-level test suite runs against both.

use crate::health::{ComponentCheck, PoolStats};
use async_trait::async_trait;

/// A failure of the storage layer. Its text is for the log only: the API maps it to a 5xx
/// without detail (see `api.md`, "5xx only for ours, never with internal detail").
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("database error: {0}")]
    Other(String),
}

/// What `migrate` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    pub backend: &'static str,
    /// Versions known to the binary.
    pub known: Vec<i64>,
    /// Versions applied by this run (empty when the schema was already current).
    pub applied: Vec<i64>,
}

/// Operations every store offers, whatever the database.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Applies the embedded migrations that have not run yet. Safe to call from several
    /// instances at once: the database serialises them (advisory lock / write lock).
    async fn migrate(&self) -> Result<MigrationReport, StoreError>;

    /// Probes every pool (primary, and the read replica when there is one).
    async fn check(&self) -> Vec<ComponentCheck>;

    /// Pool occupancy for metrics.
    fn pool_stats(&self) -> Vec<PoolStats>;

    /// How far the read replica's replay is behind, in seconds; `None` without a replica.
    async fn replica_lag_seconds(&self) -> Option<f64> {
        None
    }

    /// Closes the pools; called on graceful shutdown.
    async fn close(&self);
}

/// A lease held by one instance for a worker that must run once across the cluster (chain
/// watcher, withdrawal sender, schedulers; see architecture.md). Taken over by any instance
/// once it expires, so a dead holder blocks nobody for longer than `ttl`.
#[async_trait]
pub trait LeaseStore: Send + Sync + std::fmt::Debug + 'static {
    /// Takes or renews `name` for `holder` until `now_ms + ttl_ms` (unix ms, from the domain's
    /// clock). True when `holder` now holds it.
    async fn try_acquire_lease(&self, name: &str, holder: &str, now_ms: i64, ttl_ms: i64) -> Result<bool, StoreError>;
    /// Gives the lease up early (graceful shutdown), if `holder` still holds it.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError>;
}
