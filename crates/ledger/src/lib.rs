//! Ledger use cases (issue 4). Every balance change goes through `execute`, which hands the
//! command to this instance's micro-batcher; the store commits each batch in one transaction.
#![forbid(unsafe_code)]

mod batcher;
mod error;
mod expiry;
mod service;

pub use batcher::{Batcher, BatcherSettings};
pub use error::LedgerError;
pub use expiry::expire_holds;
pub use service::{LedgerService, NewAccount, Recipient, Single, TransferInput};
