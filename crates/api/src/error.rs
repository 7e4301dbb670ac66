//! One error type for every route (api.md): `{"error": {type, code, message, param?, request_id}}`.
//! Details of a 5xx go to the log only; the body says "internal_error" and the request id.

use crate::error_code::{ErrorCode, ErrorType};
use crate::middleware::request_id;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::borrow::Cow;
use std::time::Duration;
use utoipa::ToSchema;

#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: Cow<'static, str>,
    pub param: Option<String>,
    pub retry_after: Option<Duration>,
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    #[serde(rename = "type")]
    pub kind: ErrorType,
    /// Stable snake_case code; see `GET /v1/error-codes`.
    #[schema(value_type = String, example = "validation_failed")]
    pub code: ErrorCode,
    /// For humans; may change between releases.
    pub message: String,
    /// The request field or parameter at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// Quote this id to support; it is in the `X-Request-Id` header and in our logs.
    pub request_id: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self { code, message: message.into(), param: None, retry_after: None }
    }

    /// The error with its catalogue description as message.
    pub fn of(code: ErrorCode) -> Self {
        Self::new(code, code.description())
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    pub fn rate_limited(retry_after: Duration) -> Self {
        Self { retry_after: Some(retry_after), ..Self::of(ErrorCode::RateLimited) }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("No such {what}."))
    }

    /// A failure of ours: the detail is logged with the request id and never sent.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::of(ErrorCode::InternalError)
    }

    /// A dependency (the database, the cache) is down or out of connections. `Retry-After: 1`
    /// (RFC 9110, 10.2.3) so clients back off rather than hammer an instance that is
    /// recovering; the request is safe to retry under its idempotency key.
    pub fn unavailable(detail: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %detail, "dependency unavailable");
        Self { retry_after: Some(Duration::from_secs(1)), ..Self::of(ErrorCode::ServiceUnavailable) }
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                kind: self.code.kind(),
                code: self.code,
                message: self.message.to_string(),
                param: self.param.clone(),
                request_id: request_id::current().unwrap_or_default(),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.code.status(), Json(self.body())).into_response();
        if let Some(after) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(after.as_secs().max(1)));
        }
        response
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for ApiError {}

/// For error responses made outside a handler (framework rejections, timeouts): the code that
/// best describes a bare status.
pub fn code_for_status(status: StatusCode) -> ErrorCode {
    match status {
        StatusCode::NOT_FOUND => ErrorCode::RouteNotFound,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::UNPROCESSABLE_ENTITY => ErrorCode::ValidationFailed,
        StatusCode::TOO_MANY_REQUESTS => ErrorCode::RateLimited,
        StatusCode::UNAUTHORIZED => ErrorCode::Unauthenticated,
        StatusCode::FORBIDDEN => ErrorCode::Forbidden,
        StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => ErrorCode::RequestTimeout,
        StatusCode::SERVICE_UNAVAILABLE => ErrorCode::ServiceUnavailable,
        s if s.is_client_error() => ErrorCode::ValidationFailed,
        _ => ErrorCode::InternalError,
    }
}
