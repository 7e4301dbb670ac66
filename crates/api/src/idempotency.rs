//! `Idempotency-Key` (api.md, ledger.md): required on every POST that creates or moves
//! something. The key is scoped to the caller; the request is fingerprinted (method, path and
//! canonical JSON body), so a retry replays the first answer and a different body under the
//! same key is refused. Keys are remembered for `IDEMPOTENCY_KEY_RETENTION_HOURS` (30 days by
//! default; docs/ledger.md), after which the same key is a new request.

use crate::error::ApiError;
use crate::error_code::ErrorCode;
use axum::extract::{FromRequest, Request};
use axum::http::HeaderValue;
use pb_domain::identity::caller::{Caller, Principal};
use pb_domain::ledger::store::Idempotency;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED: &str = "idempotent-replayed";

/// A JSON body with its idempotency key and fingerprint.
#[derive(Debug)]
pub struct Idempotent<T> {
    pub key: String,
    pub fingerprint: Vec<u8>,
    pub body: T,
}

impl<T> Idempotent<T> {
    /// The claim, scoped to who is calling (a person, or a business's API key).
    pub fn claim(&self, caller: &Caller) -> Idempotency {
        let owner = match &caller.principal {
            Principal::Session { user_id, .. } => user_id.clone(),
            Principal::ApiKey { key_id, .. } => key_id.clone(),
        };
        Idempotency { owner, key: self.key.clone(), fingerprint: self.fingerprint.clone() }
    }
}

fn valid_key(k: &str) -> bool {
    (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic())
}

impl<S, T> FromRequest<S> for Idempotent<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let key = req.headers().get(HEADER).and_then(|v| v.to_str().ok()).map(str::trim).map(str::to_owned);
        let key = match key {
            Some(k) if valid_key(&k) => k,
            Some(_) => {
                return Err(ApiError::new(
                    ErrorCode::IdempotencyKeyMissing,
                    "Idempotency-Key must be 1 to 255 printable ASCII characters",
                )
                .with_param("Idempotency-Key"));
            }
            None => return Err(ApiError::of(ErrorCode::IdempotencyKeyMissing).with_param("Idempotency-Key")),
        };
        let method = req.method().to_string();
        let path = req.uri().path().to_owned();
        let json_type = crate::extract::is_json(req.headers());
        let bytes = crate::extract::body_bytes(req, state).await?;
        // A POST without a body (void, close) is an empty object.
        let value = if bytes.is_empty() {
            serde_json::Value::Object(serde_json::Map::new())
        } else if !json_type {
            return Err(ApiError::of(ErrorCode::UnsupportedMediaType));
        } else {
            crate::extract::refuse_nul(&bytes)?;
            serde_json::from_slice(&bytes).map_err(|e| ApiError::new(ErrorCode::InvalidJson, e.to_string()))?
        };
        let mut h = Sha256::new();
        h.update(method.as_bytes());
        h.update(b" ");
        h.update(path.as_bytes());
        h.update(b"\n");
        // serde_json's map is ordered by key, so this text is canonical; printed straight into
        // the hash, not into a string first (every request that moves money comes through here).
        serde_json::to_writer(&mut h, &value).map_err(|e| ApiError::internal(format!("fingerprint: {e}")))?;
        let body = serde_json::from_value(value).map_err(|e| {
            let message = e.to_string();
            let param = message.split('`').nth(1).filter(|_| message.contains("field")).map(str::to_owned);
            let err = ApiError::new(ErrorCode::ValidationFailed, message);
            match param {
                Some(p) => err.with_param(p),
                None => err,
            }
        })?;
        Ok(Self { key, fingerprint: h.finalize().to_vec(), body })
    }
}

/// Marks a replayed response.
pub fn mark_replayed(headers: &mut axum::http::HeaderMap, replayed: bool) {
    if replayed {
        headers.insert(REPLAYED, HeaderValue::from_static("true"));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    async fn fingerprint(path: &str, body: &'static str) -> Vec<u8> {
        let req = Request::builder()
            .method("POST")
            .uri(path)
            .header(HEADER, "k1")
            .header(axum::http::header::CONTENT_TYPE, "application/json")
            .body(axum::body::Body::from(body))
            .unwrap();
        Idempotent::<serde_json::Value>::from_request(req, &()).await.unwrap().fingerprint
    }

    /// Fingerprints are stored with their keys and compared across releases: the hashed text
    /// must stay exactly `METHOD path\ncanonical JSON` (keys sorted, no spaces).
    #[tokio::test]
    async fn the_fingerprint_is_of_the_canonical_request() {
        let expected = Sha256::digest(
            br#"POST /v1/transfers
{"amount":"1.00","to":{"account_id":"a"}}"#,
        )
        .to_vec();
        assert_eq!(fingerprint("/v1/transfers", r#"{"amount":"1.00","to":{"account_id":"a"}}"#).await, expected);
        let reordered = "{ \"to\" : {\"account_id\": \"a\"},\n \"amount\": \"1.00\" }";
        assert_eq!(fingerprint("/v1/transfers", reordered).await, expected, "same body, other order and spacing");
        assert_ne!(fingerprint("/v1/transfers", r#"{"amount":"2.00","to":{"account_id":"a"}}"#).await, expected);
        assert_ne!(fingerprint("/v1/transfers/batch", r#"{"amount":"1.00","to":{"account_id":"a"}}"#).await, expected);
    }
}
