//! Security headers on every response (OWASP Secure Headers Project recommendations).
//! The CSP allows only same-origin scripts; inline styles are allowed for the vendored API docs
//! page and the web app's CSS-in-JS, never inline scripts.

use axum::http::{HeaderName, HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'; report-to csp-endpoint";

pub fn layers() -> Vec<SetResponseHeaderLayer<HeaderValue>> {
    let fixed: [(HeaderName, &'static str); 10] = [
        // API answers hold personal data: no shared cache may keep them. Static assets set
        // their own Cache-Control, which `if_not_present` leaves alone.
        (header::CACHE_CONTROL, "no-store"),
        // Where browsers send CSP violation reports (Reporting API; see routes::csp_reports).
        (HeaderName::from_static("reporting-endpoints"), "csp-endpoint=\"/v1/security/csp-reports\""),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        // Browsers ignore it over plain HTTP; behind the TLS load balancer it pins HTTPS.
        (header::STRICT_TRANSPORT_SECURITY, "max-age=63072000; includeSubDomains"),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (HeaderName::from_static("cross-origin-opener-policy"), "same-origin"),
        (HeaderName::from_static("cross-origin-resource-policy"), "same-origin"),
        (HeaderName::from_static("permissions-policy"), "camera=(), microphone=(), geolocation=(), payment=()"),
    ];
    fixed
        .into_iter()
        .map(|(name, value)| SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value)))
        .collect()
}
