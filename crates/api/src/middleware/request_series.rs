//! The request series (`http_requests_total`, `http_request_duration_seconds`), their handles
//! kept by route, method and status.
//!
//! `metrics::counter!` with labels builds its key per call: the three labels printed and copied
//! into it, then hashed and compared in the recorder's registry; with the histogram, two
//! lookups and about a dozen allocations on every request (bench/RESULTS.md). A handle found
//! here records straight into the series. Handles live with the router, not in a static, so
//! they belong to the recorder that was in effect when the router first saw the series (a
//! test's local recorder, or the process's).

use axum::http::Method;
use metrics::{Counter, Histogram};
use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

pub const REQUESTS_TOTAL: &str = "http_requests_total";
pub const REQUEST_DURATION: &str = "http_request_duration_seconds";

#[derive(Debug)]
struct Series {
    method: Method,
    status: u16,
    count: Counter,
    duration: Histogram,
}

/// By route template; each route has a handful of methods and statuses, scanned in turn.
#[derive(Debug, Default)]
pub struct RequestSeries(RwLock<HashMap<Box<str>, Vec<Series>>>);

/// A method outside HTTP's standard ones is counted as `OTHER`: clients choose methods
/// freely, and each would otherwise be a series of its own, kept for the process's life.
fn labelled(method: &Method) -> &Method {
    static OTHER: std::sync::LazyLock<Method> =
        std::sync::LazyLock::new(|| Method::from_bytes(b"OTHER").unwrap_or_default());
    let standard = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    if standard.contains(method) { method } else { &OTHER }
}

impl RequestSeries {
    /// Counts one request and records how long it took.
    pub fn record(&self, method: &Method, route: &str, status: u16, elapsed: Duration) {
        let method = labelled(method);
        let found = |s: &&Series| s.status == status && s.method == *method;
        {
            let routes = self.0.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(s) = routes.get(route).and_then(|all| all.iter().find(found)) {
                s.count.increment(1);
                s.duration.record(elapsed);
                return;
            }
        }
        let mut routes = self.0.write().unwrap_or_else(PoisonError::into_inner);
        let all = routes.entry(route.into()).or_default();
        // Another request may have added it between the two locks.
        if !all.iter().any(|s| found(&s)) {
            let labels = [("method", method.to_string()), ("route", route.to_owned()), ("status", status.to_string())];
            all.push(Series {
                method: method.clone(),
                status,
                count: metrics::counter!(REQUESTS_TOTAL, &labels),
                duration: metrics::histogram!(REQUEST_DURATION, &labels),
            });
        }
        if let Some(s) = all.iter().find(found) {
            s.count.increment(1);
            s.duration.record(elapsed);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn each_series_counts_its_own_requests_and_unusual_methods_share_one() {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            let series = RequestSeries::default();
            let ms = Duration::from_millis(3);
            for _ in 0..3 {
                series.record(&Method::POST, "/v1/transfers", 201, ms);
            }
            series.record(&Method::POST, "/v1/transfers", 402, ms);
            series.record(&Method::GET, "/v1/transfers/{id}", 200, ms);
            series.record(&Method::from_bytes(b"PURGE").unwrap(), "unmatched", 405, ms);
            series.record(&Method::from_bytes(b"X-RANDOM-1").unwrap(), "unmatched", 405, ms);
        });
        let text = handle.render();
        for line in [
            r#"http_requests_total{method="POST",route="/v1/transfers",status="201"} 3"#,
            r#"http_requests_total{method="POST",route="/v1/transfers",status="402"} 1"#,
            r#"http_requests_total{method="GET",route="/v1/transfers/{id}",status="200"} 1"#,
            r#"http_requests_total{method="OTHER",route="unmatched",status="405"} 2"#,
            r#"http_request_duration_seconds_count{method="POST",route="/v1/transfers",status="201"} 3"#,
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
    }
}
