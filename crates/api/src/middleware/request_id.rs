//! Request ids: taken from a well-formed incoming `X-Request-Id` (a load balancer's) or made
//! here, returned in the response header, held in a task-local for error bodies and log lines.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;
use std::future::Future;

pub static HEADER: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request this task is serving, if any.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Accept only short, plain ids: anything else could forge log lines or bloat them.
fn acceptable(value: &HeaderValue) -> Option<String> {
    let s = value.to_str().ok()?;
    let ok = (8..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then(|| s.to_owned())
}

pub fn generate() -> String {
    format!("req_{}", uuid::Uuid::now_v7().simple())
}

/// The request's id: a well-formed incoming one, or a new one.
pub fn of(request: &Request) -> String {
    request.headers().get(&HEADER).and_then(acceptable).unwrap_or_else(generate)
}

/// Runs the rest of the request with `id` as its task's request id, and returns the id in
/// the response's header.
pub async fn around(id: String, inner: impl Future<Output = Response>) -> Response {
    let mut response = REQUEST_ID.scope(id.clone(), inner).await;
    // The id's bytes become the header's without a copy; they are checked as any header is.
    if let Ok(value) = HeaderValue::from_maybe_shared(bytes::Bytes::from(id)) {
        response.headers_mut().insert(HEADER.clone(), value);
    }
    response
}
