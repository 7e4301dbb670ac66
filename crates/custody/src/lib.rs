//! Custody (issue 5): which chains are on, the master seed, and deposit addresses. Chains are
//! on when their RPC endpoint is configured (`ETHEREUM_RPC_URL`, `SOLANA_RPC_URL`); with none,
//! every custody route answers `custody_disabled`.
#![forbid(unsafe_code)]

mod deposits;
mod eth_scanner;
mod eth_sender;
mod reserves;
mod scanner;
mod seed;
mod service;
mod settlement;
mod sol_scanner;
mod sol_sender;
mod watcher;
mod withdrawals;

pub use eth_scanner::EthScanner;
pub use eth_sender::{EthSender, EthSenderSettings, LEASE as ETH_SENDER_LEASE, SendError};
pub use reserves::{Reserve, ReservesError, ethereum_reserves, ethereum_token_reserves, solana_reserves};
pub use scanner::{ChainScanner, ScannedBlock, SeenTransfer};
pub use seed::{SeedSource, seal_new_seed, unlock_seed};
pub use service::{CustodyError, CustodyService, SolToken, SolanaCustody, WithdrawalLimits};
pub use sol_scanner::SolScanner;
pub use sol_sender::{LEASE as SOL_SENDER_LEASE, SolSender, SolSenderSettings};
pub use watcher::{DepositWatcher, TickReport, WatchError, WatcherSettings, lease_name as watcher_lease};
pub use withdrawals::{WithdrawalError, WithdrawalRequest};
