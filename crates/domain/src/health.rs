//! What `/ready` and `/metrics` learn about a dependency (database, cache, later chain RPCs).

use serde::Serialize;

/// The result of probing one dependency. `detail` is for operators: it never holds a secret
/// (connection strings are reduced to scheme and host before they get here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComponentCheck {
    /// Stable name: `database`, `database_replica`, `cache`, …
    pub name: &'static str,
    /// Which implementation answered: `sqlite`, `postgres`, `redis`, `in_process`.
    pub backend: &'static str,
    pub up: bool,
    pub latency_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Connection-pool occupancy, exported as Prometheus gauges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PoolStats {
    /// `primary` or `replica`.
    pub pool: &'static str,
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}
