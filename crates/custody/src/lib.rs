//! Custody (issue 5): which chains are on, the master seed, and deposit addresses. Chains are
//! on when their RPC endpoint is configured (`ETHEREUM_RPC_URL`, `SOLANA_RPC_URL`); with none,
//! every custody route answers `custody_disabled`.
#![forbid(unsafe_code)]

mod eth_sender;
mod eth_watcher;
mod reserves;
mod seed;
mod service;
mod withdrawals;

pub use eth_sender::{EthSender, EthSenderSettings, LEASE as ETH_SENDER_LEASE, SendError};
pub use eth_watcher::{EthWatcher, EthWatcherSettings, LEASE as ETH_WATCHER_LEASE, TickReport, WatchError};
pub use reserves::{Reserve, ReservesError, ethereum_reserves, ethereum_token_reserves};
pub use seed::{SeedSource, seal_new_seed, unlock_seed};
pub use service::{CustodyError, CustodyService};
pub use withdrawals::{WithdrawalError, WithdrawalRequest};
