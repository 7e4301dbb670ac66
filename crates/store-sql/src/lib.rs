//! Statements that SQLite and PostgreSQL both accept (`$n` parameters, `ON CONFLICT`,
//! `RETURNING`; times as integer milliseconds, hashes as bytes), written once and expanded
//! into each store crate by a macro, so the two stores cannot drift apart.
//! Where the databases differ (locking, numeric types for money) the stores write their own.
#![forbid(unsafe_code)]

pub use async_trait::async_trait;
pub use metrics;
pub use serde_json;
pub use sqlx;

mod custody;
pub mod history;
mod identity;
mod ledger_records;

use pb_domain::StoreError;

/// Maps a driver error: connection trouble is `Unavailable`, the rest `Other`.
pub fn store_error(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(e.to_string())
        }
        other => StoreError::Other(other.to_string()),
    }
}

pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error().is_some_and(|d| d.is_unique_violation())
}
