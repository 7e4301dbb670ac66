//! PostgreSQL store: the production system of record, with an optional read replica for
//! read-only queries (`DATABASE_REPLICA_URL`).
#![forbid(unsafe_code)]

mod batch_connection;
mod custody;
mod idempotency;
mod identity;
mod lease;
mod ledger;
mod ledger_view;
mod migrations;
mod numeric;
mod pipeline;
mod store;

pub use store::{PgStore, PgStoreOptions};
