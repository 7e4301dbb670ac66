//! Shared test infrastructure. Tests talk to the real servers on 127.0.0.1 (PostgreSQL and Redis,
//! started by `.ci/run` when they are down); every test gets its own database or namespace, so
//! tests run in parallel without seeing each other.
#![forbid(unsafe_code)]
#![allow(clippy::unwrap_used)] // test support: a failed precondition should stop the test loudly

pub mod anvil;
pub mod contracts;
pub mod migrations;
pub mod node;
pub mod postgres;
pub mod postgres_cluster;
pub mod redis;
pub mod redis_server;
pub mod solana;
pub mod tempdir;

pub use tempdir::TempDir;
