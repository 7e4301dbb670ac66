//! One JSON log line and the Prometheus series per request. The path is logged without its
//! query string (tokens such as `?token=` must never reach a log), and metrics are labelled
//! by the route template so ids in paths do not explode the series count.

use crate::middleware::request_id;
use crate::middleware::request_series::RequestSeries;
use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// Where `route_template` leaves the matched route for `around`. `around` runs outside the
/// router (app.rs says why), so it never sees the request after routing. Not on the response: a
/// response made outside the route (a timeout, a caught panic, an error `json_errors`
/// replaced) carries none of the route's extensions.
#[derive(Debug, Clone, Default)]
struct RouteSlot(Arc<OnceLock<MatchedPath>>);

/// Inside the router, around each route: fills the slot before the handler runs, so even a
/// request abandoned on timeout is counted under its route.
pub async fn route_template(request: Request, next: Next) -> Response {
    if let (Some(slot), Some(route)) =
        (request.extensions().get::<RouteSlot>(), request.extensions().get::<MatchedPath>())
    {
        let _ = slot.0.set(route.clone());
    }
    next.run(request).await
}

/// Runs the rest of the request (`inner`), then counts it in its series and writes its line.
pub async fn around<F>(series: &RequestSeries, mut request: Request, inner: impl FnOnce(Request) -> F) -> Response
where
    F: Future<Output = Response>,
{
    let started = Instant::now();
    let method = request.method().clone();
    // A clone of the parsed URI shares its bytes; the path is read from it only for a line
    // that is written.
    let uri = request.uri().clone();
    let slot = RouteSlot::default();
    request.extensions_mut().insert(slot.clone());

    let response = inner(request).await;
    let route = slot.0.get().map_or("unmatched", MatchedPath::as_str);

    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    series.record(&method, route, status, elapsed);

    let duration_ms = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX) / 1000;
    // Field values are evaluated only when the line is enabled (in production, warn and up).
    let request_id = || request_id::current().unwrap_or_default();
    let path = uri.path();
    if status >= 500 {
        tracing::error!(target: "access", request_id = %request_id(), %method, %route, %path, status, duration_ms, "request");
    } else {
        tracing::info!(target: "access", request_id = %request_id(), %method, %route, %path, status, duration_ms, "request");
    }
    response
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::http::StatusCode;
    use axum::middleware::{from_fn, from_fn_with_state};
    use axum::routing::get;
    use std::time::Duration;
    use tower::{ServiceBuilder, ServiceExt};
    use tower_http::timeout::TimeoutLayer;

    /// As app.rs stacks them: the edge outside the router, a timeout between the two. The
    /// timeout's 503 is made outside the route, and is still counted under the route.
    #[test]
    fn a_request_abandoned_on_timeout_is_counted_under_its_route() {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        metrics::with_local_recorder(&recorder, || {
            rt.block_on(async {
                let slow = || async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                };
                let routes = Router::new().route("/slow/{id}", get(slow)).layer(from_fn(route_template));
                let app = ServiceBuilder::new()
                    .layer(from_fn_with_state(Arc::new(RequestSeries::default()), crate::middleware::edge::layer))
                    .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, Duration::from_millis(20)))
                    .service(routes);
                for path in ["/slow/abc", "/nowhere"] {
                    let request = axum::http::Request::get(path).body(Body::empty()).unwrap();
                    app.clone().oneshot(request).await.unwrap();
                }
            });
        });
        let text = handle.render();
        assert!(text.contains(r#"http_requests_total{method="GET",route="/slow/{id}",status="503"} 1"#), "{text}");
        assert!(text.contains(r#"http_requests_total{method="GET",route="unmatched",status="404"} 1"#), "{text}");
    }
}
