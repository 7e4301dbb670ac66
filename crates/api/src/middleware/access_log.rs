//! One JSON log line and the Prometheus series per request. The path is logged without its
//! query string (tokens such as `?token=` must never reach a log), and metrics are labelled
//! by the route template so ids in paths do not explode the series count.

use crate::middleware::request_id::RequestId;
use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;

pub const REQUESTS_TOTAL: &str = "http_requests_total";
pub const REQUEST_DURATION: &str = "http_request_duration_seconds";

pub async fn layer(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let route =
        request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let request_id = request.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();

    let response = next.run(request).await;

    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let labels = [("method", method.to_string()), ("route", route.clone()), ("status", status.to_string())];
    metrics::counter!(REQUESTS_TOTAL, &labels).increment(1);
    metrics::histogram!(REQUEST_DURATION, &labels).record(elapsed);

    let duration_ms = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX) / 1000;
    if status >= 500 {
        tracing::error!(target: "access", %request_id, %method, %route, %path, status, duration_ms, "request");
    } else {
        tracing::info!(target: "access", %request_id, %method, %route, %path, status, duration_ms, "request");
    }
    response
}
