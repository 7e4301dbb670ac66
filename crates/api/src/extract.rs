//! Extractors whose rejections are [`ApiError`]s, so a malformed body, a wrong content type or
//! a bad path or query parameter gets the one JSON error model instead of axum's plain text.

use crate::error::ApiError;
use crate::error_code::ErrorCode;
use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

/// `Json<T>` with API errors.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::of(ErrorCode::UnsupportedMediaType));
        }
        let bytes = body_bytes(req, state).await?;
        refuse_nul(&bytes)?;
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

/// `application/json`, or any `application/…+json` (the browser's `application/reports+json`).
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .and_then(|m| m.split_once('/'))
        .is_some_and(|(kind, sub)| {
            // Media types are case-insensitive (RFC 9110, 8.3.1); compared without a copy, as
            // every request that moves money comes through here.
            let json_suffix = sub.len() > 5
                && sub.is_char_boundary(sub.len() - 5)
                && sub[sub.len() - 5..].eq_ignore_ascii_case("+json");
            kind.eq_ignore_ascii_case("application") && (sub.eq_ignore_ascii_case("json") || json_suffix)
        })
}

/// The whole body, within the route's size limit.
pub(crate) async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::of(ErrorCode::PayloadTooLarge)
        } else {
            ApiError::new(ErrorCode::InvalidJson, r.body_text())
        }
    })
}

/// Text in a request never holds U+0000: PostgreSQL's `text` cannot store it (a query carrying
/// one fails, which would be a 500), and no name, address, key or description needs it. So a
/// body, path or query holding one is refused at the edge, on every backend alike.
///
/// JSON can write U+0000 only as the escape `\u0000` (a raw control character in a string is a
/// syntax error, which the parser reports); preceded by an escaped backslash (`\\u0000`) it is
/// the six characters, and allowed.
pub(crate) fn refuse_nul(json: &[u8]) -> Result<(), ApiError> {
    let mut from = 0;
    while let Some(offset) = json[from..].windows(6).position(|w| w == b"\\u0000") {
        let at = from + offset;
        let backslashes = json[..=at].iter().rev().take_while(|&&b| b == b'\\').count();
        if backslashes % 2 == 1 {
            return Err(ApiError::new(ErrorCode::ValidationFailed, NUL_MESSAGE));
        }
        from = at + 1;
    }
    Ok(())
}

const NUL_MESSAGE: &str = "Text must not contain the NUL character (U+0000).";

/// `%00` in a path or query: U+0000 once decoded (see [`refuse_nul`]).
fn has_encoded_nul(text: &str) -> bool {
    text.contains("%00")
}

fn json_rejection(rejection: &JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::of(ErrorCode::UnsupportedMediaType),
        JsonRejection::JsonSyntaxError(e) => ApiError::new(ErrorCode::InvalidJson, inner_source(e)),
        JsonRejection::JsonDataError(e) => {
            // serde's text names the field and the expectation ("missing field `asset`"),
            // which is what the caller needs; it echoes only the caller's own input.
            let detail = inner_source(e);
            let param = field_from_serde(&detail);
            let error = ApiError::new(ErrorCode::ValidationFailed, detail);
            match param {
                Some(p) => error.with_param(p),
                None => error,
            }
        }
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::of(ErrorCode::PayloadTooLarge),
        other => ApiError::new(ErrorCode::InvalidJson, other.body_text()),
    }
}

/// axum wraps serde's error; the innermost source is the useful sentence.
fn inner_source(e: &dyn std::error::Error) -> String {
    let mut current: &dyn std::error::Error = e;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

/// Pulls the field name out of serde messages such as "missing field `asset` at line 1".
fn field_from_serde(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    let field = &message[start..start + len];
    (message.contains("field") && !field.is_empty()).then(|| field.to_owned())
}

/// `Path<T>` with API errors.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if has_encoded_nul(parts.uri.path()) {
            return Err(ApiError::new(ErrorCode::InvalidPathParameter, NUL_MESSAGE));
        }
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(rejection) => Err(path_rejection(&rejection)),
        }
    }
}

fn path_rejection(rejection: &PathRejection) -> ApiError {
    match rejection {
        PathRejection::FailedToDeserializePathParams(e) => {
            ApiError::new(ErrorCode::InvalidPathParameter, e.body_text())
        }
        // A route declared without parameters asked for some: a bug of ours.
        other => ApiError::internal(other.body_text()),
    }
}

/// `Query<T>` with API errors.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if parts.uri.query().is_some_and(has_encoded_nul) {
            return Err(ApiError::new(ErrorCode::InvalidQueryParameter, NUL_MESSAGE));
        }
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(query_rejection(&rejection)),
        }
    }
}

fn query_rejection(rejection: &QueryRejection) -> ApiError {
    let detail = inner_source(rejection);
    let param = field_from_serde(&detail);
    let error = ApiError::new(ErrorCode::InvalidQueryParameter, detail);
    match param {
        Some(p) => error.with_param(p),
        None => error,
    }
}

#[cfg(test)]
mod tests {
    use super::{field_from_serde, refuse_nul};

    #[test]
    fn json_media_types_in_any_case() {
        use axum::http::{HeaderMap, HeaderValue, header};
        let with = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(v));
            super::is_json(&h)
        };
        for yes in
            ["application/json", "Application/JSON; charset=utf-8", "application/reports+json", "application/x+JSON"]
        {
            assert!(with(yes), "{yes}");
        }
        for no in ["text/plain", "application/jsonx", "application/+json", "text/json", "json", "application/xml"] {
            assert!(!with(no), "{no}");
        }
        assert!(!super::is_json(&HeaderMap::new()));
    }

    #[test]
    fn nul_is_found_only_where_json_decodes_to_it() {
        assert!(refuse_nul(br#"{"name": "a\u0000b"}"#).is_err());
        assert!(refuse_nul(br#"{"name": "\\\u0000"}"#).is_err(), "an escaped backslash, then NUL");
        assert!(refuse_nul(br#"{"a\u0000": 1}"#).is_err(), "in a key too");
        assert!(refuse_nul(br#"{"name": "\\u0000"}"#).is_ok(), "a backslash, then the text u0000");
        assert!(refuse_nul(br#"{"name": "u0000 \u00e9"}"#).is_ok());
        assert!(refuse_nul(b"").is_ok());
    }

    #[test]
    fn finds_the_field_in_serde_messages() {
        assert_eq!(field_from_serde("missing field `asset` at line 1 column 2").as_deref(), Some("asset"));
        assert_eq!(field_from_serde("unknown field `x`, expected `y`").as_deref(), Some("x"));
        assert_eq!(field_from_serde("invalid type: string `a`"), None);
    }
}

/// The caller's IP address (see [`crate::state::client_ip`]); `None` only when the server was
/// not started with connection info (some tests).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<std::net::IpAddr>);

impl FromRequestParts<crate::state::AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &crate::state::AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
        let forwarded = parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
        Ok(Self(crate::state::client_ip(peer, forwarded, state.settings().trusted_proxy_hops)))
    }
}
