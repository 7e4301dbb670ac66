//! The story-level suite: the real server on 127.0.0.1:0, over HTTP, on the embedded default
//! (SQLite + in-process cache) and on the production shape (a fresh PostgreSQL database + Redis).
//! One binary for the whole crate keeps link time down.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod helpers;
mod people;

mod cache_restart;
mod chain_deposits;
mod chain_reorgs;
mod chain_reserves;
mod chain_solana;
mod chain_support;
mod chain_tokens;
mod chain_withdrawals;
mod crash;
mod crash_database;
mod custody;
mod errors;
mod health;
mod identity;
mod ledger;
mod ledger_records;
mod log_secrecy;
mod modes;
mod processes;
mod route_sweep;
mod schema_fuzz;
