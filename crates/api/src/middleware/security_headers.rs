//! Security headers on every response (OWASP Secure Headers Project recommendations).
//! The CSP allows only same-origin scripts; inline styles are allowed for the vendored API docs
//! page and the web app's CSS-in-JS, never inline scripts.
//!
//! One middleware sets them all. Ten `SetResponseHeaderLayer`s did the same, but axum wraps
//! each route in every router layer and clones that stack per request: ten layers deeper.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'; report-to csp-endpoint";

// Values built at compile time: `HeaderValue::from_static` checks every byte, and called per
// response it was the middleware's largest cost (the CSP alone is ~300 bytes; bench/RESULTS.md).
const HEADERS: [(HeaderName, HeaderValue); 10] = [
    // API answers hold personal data: no shared cache may keep them. Static assets set
    // their own Cache-Control, which is left alone (as every header a handler set).
    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    // Where browsers send CSP violation reports (Reporting API; see routes::csp_reports).
    (
        HeaderName::from_static("reporting-endpoints"),
        HeaderValue::from_static("csp-endpoint=\"/v1/security/csp-reports\""),
    ),
    (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
    // Browsers ignore it over plain HTTP; behind the TLS load balancer it pins HTTPS.
    (header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=63072000; includeSubDomains")),
    (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY)),
    (HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin")),
    (HeaderName::from_static("cross-origin-resource-policy"), HeaderValue::from_static("same-origin")),
    (
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    ),
];

/// Adds each header the response does not already carry.
pub async fn layer(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in HEADERS {
        if !headers.contains_key(&name) {
            headers.insert(name, value);
        }
    }
    response
}
