//! Cross-cutting HTTP behaviour, applied to every route in `crate::app`.

pub mod access_log;
pub mod edge;
pub mod json_errors;
pub mod request_id;
pub mod request_series;
pub mod security_headers;
