//! SQLite store for the embedded default: one file in the data directory, WAL journal.
#![forbid(unsafe_code)]

mod checkpointer;
mod custody;
mod identity;
mod json_rows;
mod lease;
mod ledger;
mod ledger_batch;
mod migrations;
mod store;

pub use store::SqliteStore;
