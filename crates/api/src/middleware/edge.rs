//! The outer edge every request passes, as one middleware: its id, then its log line and
//! series, then the JSON error model, in that order from the outside in (each in its own
//! module). One `from_fn` where there were three: each boxed its future and cloned the boxed
//! service stack below it, per request (bench/RESULTS.md).

use crate::middleware::request_series::RequestSeries;
use crate::middleware::{access_log, json_errors, request_id};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;

pub async fn layer(State(series): State<Arc<RequestSeries>>, request: Request, next: Next) -> Response {
    let id = request_id::of(&request);
    let logged =
        access_log::around(
            &series,
            request,
            |request| async move { json_errors::ensure_json(next.run(request).await) },
        );
    request_id::around(id, logged).await
}
