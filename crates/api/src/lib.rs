//! Protocol Bank's HTTP API: routes, the error model, middleware and the OpenAPI document.
//! Handlers translate HTTP into typed domain calls; they hold no business rules.
#![forbid(unsafe_code)]

pub mod app;
pub mod auth;
pub mod dto;
pub mod error;
pub mod error_code;
pub mod extract;
pub mod idempotency;
mod identity_errors;
mod ledger_errors;
pub mod middleware;
pub mod routes;
pub mod state;

pub use app::{openapi, router};
pub use error::ApiError;
pub use error_code::ErrorCode;
pub use state::{ApiSettings, AppState, Services};
