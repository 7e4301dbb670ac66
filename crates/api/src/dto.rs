//! Shapes shared by many routes: times, lists, pagination, prefixed ids.

use crate::error::ApiError;
use crate::error_code::ErrorCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// RFC 3339 in UTC, the one time format of the API.
pub fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub fn time_opt(ms: Option<i64>) -> Option<String> {
    ms.map(time)
}

/// `{"object": "list", "data": […], "has_more": bool}` (api.md, "Pagination").
#[derive(Debug, Serialize, ToSchema)]
pub struct List<T> {
    pub object: &'static str,
    pub data: Vec<T>,
    pub has_more: bool,
}

impl<T> List<T> {
    pub fn new(data: Vec<T>, has_more: bool) -> Self {
        Self { object: "list", data, has_more }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1 to 100, default 10.
    pub limit: Option<u32>,
    /// An object id: return what comes after it (older).
    pub starting_after: Option<String>,
}

impl PageQuery {
    /// The validated limit; the store is asked for one more to learn `has_more`.
    pub fn limit(&self) -> Result<u32, ApiError> {
        match self.limit {
            None => Ok(10),
            Some(l) if (1..=100).contains(&l) => Ok(l),
            Some(_) => {
                Err(ApiError::new(ErrorCode::InvalidQueryParameter, "limit must be between 1 and 100")
                    .with_param("limit"))
            }
        }
    }
}

/// Declares a path-parameter type that accepts only ids with the given prefix.
macro_rules! prefixed_id {
    ($name:ident, $prefix:literal) => {
        #[derive(Debug, Clone)]
        pub struct $name(pub String);

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                if pb_domain::identity::ids::is_id($prefix, &s) {
                    Ok(Self(s))
                } else {
                    Err(serde::de::Error::custom(concat!("expected an id like ", $prefix, "_…")))
                }
            }
        }
    };
}

prefixed_id!(SessionId, "ses");
prefixed_id!(ApiKeyId, "key");
prefixed_id!(BusinessId, "biz");
prefixed_id!(UserId, "usr");
prefixed_id!(AdjustmentId, "adj");
