//! The last line of the error model: any error response that is not already JSON (a framework
//! rejection, a timeout, a caught panic, an unmatched method) is replaced by a JSON error with a
//! stable code. Handlers never need this; it exists so that nothing can answer HTML or text.

use crate::error::{ApiError, code_for_status};
use crate::error_code::ErrorCode;
use axum::http::header;
use axum::response::{IntoResponse, Response};

/// The response as it is when it is a success or JSON already; else a JSON error in its place.
pub fn ensure_json(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
        return response;
    }
    let code = code_for_status(status);
    let mut replaced = ApiError::of(code).into_response();
    // Keep the original status (e.g. 400 for an unusual framework rejection) and any headers
    // the client needs, such as `Allow` on a 405 or `Retry-After`.
    *replaced.status_mut() = status;
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = response.headers().get(&name) {
            replaced.headers_mut().insert(name, value.clone());
        }
    }
    if code == ErrorCode::InternalError {
        tracing::error!(status = status.as_u16(), "non-JSON error response replaced");
    }
    replaced
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("application/problem+json"))
}
