//! Behaviour every implementation of a domain trait must show. Each store or cache crate runs
//! these against its implementation, so SQLite, PostgreSQL, Redis and in-process agree.

pub mod cache;
pub mod ledger;
pub mod ledger_records;
pub mod store;
