//! The catalogue of stable error codes, so clients can discover what they may switch on.

use crate::error::ApiError;
use crate::error_code::{ErrorCode, ErrorType};
use crate::extract::ApiPath;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorCodeInfo {
    pub object: &'static str,
    #[schema(example = "validation_failed")]
    pub code: &'static str,
    #[serde(rename = "type")]
    pub kind: ErrorType,
    pub http_status: u16,
    pub description: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorCodeList {
    pub object: &'static str,
    pub data: Vec<ErrorCodeInfo>,
    pub has_more: bool,
}

fn info(code: ErrorCode) -> ErrorCodeInfo {
    ErrorCodeInfo {
        object: "error_code",
        code: code.as_str(),
        kind: code.kind(),
        http_status: code.status().as_u16(),
        description: code.description(),
    }
}

/// Every stable error code, with its HTTP status and meaning.
#[utoipa::path(get, path = "/v1/error-codes", tag = "meta",
    responses((status = 200, body = ErrorCodeList)))]
pub async fn list() -> Json<ErrorCodeList> {
    Json(ErrorCodeList { object: "list", data: ErrorCode::ALL.iter().copied().map(info).collect(), has_more: false })
}

/// One error code. The code must be snake_case (`invalid_path_parameter` otherwise).
#[utoipa::path(get, path = "/v1/error-codes/{code}", tag = "meta",
    params(("code" = String, Path, description = "A snake_case error code")),
    responses(
        (status = 200, body = ErrorCodeInfo),
        (status = 400, description = "Not a snake_case code", body = crate::error::ErrorBody),
        (status = 404, description = "No such code", body = crate::error::ErrorBody)))]
pub async fn get(ApiPath(code): ApiPath<CodeParam>) -> Result<Json<ErrorCodeInfo>, ApiError> {
    ErrorCode::parse(&code.0).map(|c| Json(info(c))).ok_or_else(|| ApiError::not_found("error code"))
}

/// A path segment that must look like an error code: parsed at the edge, so the handler never
/// sees an arbitrary string.
#[derive(Debug)]
pub struct CodeParam(String);

impl<'de> serde::Deserialize<'de> for CodeParam {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let valid = (1..=64).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if valid { Ok(Self(s)) } else { Err(serde::de::Error::custom("code must be snake_case, 1 to 64 characters")) }
    }
}
