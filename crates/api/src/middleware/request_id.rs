//! Request ids: taken from a well-formed incoming `X-Request-Id` (a load balancer's) or made
//! here, returned in the response header, held in a task-local for error bodies and log lines.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

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

pub async fn layer(request: Request, next: Next) -> Response {
    let id = request.headers().get(&HEADER).and_then(acceptable).unwrap_or_else(generate);
    let mut response = REQUEST_ID.scope(id.clone(), next.run(request)).await;
    // The id's bytes become the header's without a copy; they are checked as any header is.
    if let Ok(value) = HeaderValue::from_maybe_shared(bytes::Bytes::from(id)) {
        response.headers_mut().insert(HEADER.clone(), value);
    }
    response
}
