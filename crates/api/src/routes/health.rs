//! Liveness and readiness, for load balancers and orchestrators.

use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use pb_domain::ComponentCheck;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the process answers.
    #[schema(example = "ok")]
    pub status: &'static str,
    pub version: &'static str,
}

/// Liveness: the process is up and serving HTTP. Checks nothing else, so a database outage does
/// not make an orchestrator restart every instance.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, description = "The process is alive", body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health { status: "ok", version: env!("CARGO_PKG_VERSION") })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Check {
    /// `database`, `database_replica`, `cache`, …
    pub name: &'static str,
    /// `sqlite`, `postgres`, `redis`, `in_process`.
    pub backend: &'static str,
    /// `up` or `down`.
    pub status: &'static str,
    pub latency_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready`, `not_ready` (a dependency is down) or `draining` (shutting down).
    pub status: &'static str,
    pub checks: Vec<Check>,
}

impl From<ComponentCheck> for Check {
    fn from(c: ComponentCheck) -> Self {
        Self {
            name: c.name,
            backend: c.backend,
            status: if c.up { "up" } else { "down" },
            latency_ms: c.latency_ms,
            detail: c.detail,
        }
    }
}

/// Readiness: every dependency answers (database, replica, cache). 503 names what is down.
#[utoipa::path(get, path = "/ready", tag = "operations", responses(
    (status = 200, description = "Ready to serve", body = Readiness),
    (status = 503, description = "A dependency is down, or the instance is shutting down", body = Readiness)))]
pub async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let checks = probe_all(&state).await;
    let all_up = checks.iter().all(|c| c.up);
    for c in checks.iter().filter(|c| !c.up) {
        tracing::warn!(
            component = c.name,
            backend = c.backend,
            detail = c.detail.as_deref().unwrap_or(""),
            "not ready"
        );
    }
    let status = match (state.is_draining(), all_up) {
        (true, _) => "draining",
        (false, true) => "ready",
        (false, false) => "not_ready",
    };
    let code = if status == "ready" { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(Readiness { status, checks: checks.into_iter().map(Check::from).collect() }))
}

/// Probes every dependency and records `dependency_up{dependency}` (1 or 0) for alerting.
pub async fn probe_all(state: &AppState) -> Vec<ComponentCheck> {
    let (mut checks, cache) = tokio::join!(state.store().check(), probe_cache(state));
    checks.push(cache);
    for c in &checks {
        metrics::gauge!("dependency_up", "dependency" => c.name).set(if c.up { 1.0 } else { 0.0 });
    }
    checks
}

async fn probe_cache(state: &AppState) -> ComponentCheck {
    let cache = state.cache();
    let started = std::time::Instant::now();
    let result = cache.ping().await;
    ComponentCheck {
        name: "cache",
        backend: cache.backend(),
        up: result.is_ok(),
        latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        detail: result.err().map(|e| e.to_string()),
    }
}
