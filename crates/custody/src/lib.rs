//! Custody (issue 5): which chains are on, the master seed, and deposit addresses. Chains are
//! on when their RPC endpoint is configured (`ETHEREUM_RPC_URL`, `SOLANA_RPC_URL`); with none,
//! every custody route answers `custody_disabled`.
#![forbid(unsafe_code)]

mod seed;
mod service;

pub use seed::{SeedSource, seal_new_seed, unlock_seed};
pub use service::{CustodyError, CustodyService};
