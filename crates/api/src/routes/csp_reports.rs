//! Receives Content-Security-Policy violation reports from browsers (W3C Reporting API,
//! `Content-Type: application/reports+json`, announced by the `Reporting-Endpoints` header).
//! Anyone can post here, so it is rate limited per client address and logs only a summary.

use crate::error::ApiError;
use crate::error_code::ErrorCode;
use crate::extract::{ApiJson, ClientIp};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use pb_domain::{RateLimit, RateLimitDecision};
use serde::Deserialize;
use std::time::Duration;
use utoipa::ToSchema;

const PER_CLIENT: RateLimit = RateLimit::new(60, Duration::from_secs(60));
const MAX_REPORTS: usize = 100;

/// One report as the Reporting API sends it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Report {
    /// `csp-violation` for CSP reports.
    #[serde(rename = "type")]
    pub kind: String,
    /// The page that raised it.
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub body: Option<ViolationBody>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ViolationBody {
    #[serde(default)]
    pub effective_directive: Option<String>,
    #[serde(default, rename = "blockedURL")]
    pub blocked_url: Option<String>,
    #[serde(default)]
    pub disposition: Option<String>,
}

/// Directives become a metric label only from this fixed set, so a client cannot mint series.
fn metric_label(directive: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "default-src",
        "script-src",
        "script-src-elem",
        "script-src-attr",
        "style-src",
        "style-src-elem",
        "style-src-attr",
        "img-src",
        "connect-src",
        "font-src",
        "object-src",
        "frame-src",
        "frame-ancestors",
        "form-action",
        "base-uri",
        "worker-src",
        "manifest-src",
        "media-src",
    ];
    KNOWN.iter().copied().find(|k| *k == directive).unwrap_or("other")
}

/// Strips query and fragment: reported URLs may carry tokens.
fn without_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or("")
}

/// Accepts a batch of CSP violation reports.
#[utoipa::path(post, path = "/v1/security/csp-reports", tag = "security",
    request_body(content = Vec<Report>, content_type = "application/reports+json"),
    responses(
        (status = 204, description = "Accepted"),
        (status = 400, description = "Malformed JSON", body = crate::error::ErrorBody),
        (status = 415, description = "Not a JSON content type", body = crate::error::ErrorBody),
        (status = 422, description = "Not a list of reports", body = crate::error::ErrorBody),
        (status = 429, description = "Too many reports from this client", body = crate::error::ErrorBody)))]
pub async fn receive(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(reports): ApiJson<Vec<Report>>,
) -> Result<StatusCode, ApiError> {
    let key = ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    match PER_CLIENT.hit(state.cache(), "csp_reports", &key).await {
        Ok(RateLimitDecision::Allowed { .. }) => {}
        Ok(RateLimitDecision::Limited { retry_after }) => return Err(ApiError::rate_limited(retry_after)),
        // Losing a report is better than refusing the page's browser: let it through.
        Err(e) => tracing::warn!(error = %e, "rate limiter unavailable for csp reports"),
    }
    if reports.len() > MAX_REPORTS {
        return Err(ApiError::new(ErrorCode::ValidationFailed, format!("at most {MAX_REPORTS} reports per request")));
    }
    for report in reports.iter().filter(|r| r.kind == "csp-violation") {
        let body = report.body.as_ref();
        let directive = body.and_then(|b| b.effective_directive.as_deref()).unwrap_or("unknown");
        metrics::counter!("csp_reports_total", "directive" => metric_label(directive)).increment(1);
        tracing::warn!(
            directive,
            blocked = body.and_then(|b| b.blocked_url.as_deref()).map(without_query).unwrap_or(""),
            page = report.url.as_deref().map(without_query).unwrap_or(""),
            disposition = body.and_then(|b| b.disposition.as_deref()).unwrap_or(""),
            "csp violation"
        );
    }
    Ok(StatusCode::NO_CONTENT)
}
