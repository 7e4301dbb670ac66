//! Ledger use cases (issue 4). Every balance change goes through `execute`, which hands the
//! command to this instance's micro-batcher; the store commits each batch in one transaction.
#![forbid(unsafe_code)]

mod adjustments;
mod batcher;
mod error;
mod expiry;
mod relay;
mod service;
mod statement;
mod verifier;

pub use adjustments::Proposal;
pub use batcher::{Batcher, BatcherSettings};
pub use error::LedgerError;
pub use expiry::expire_holds;
pub use relay::{CHANNEL as EVENTS_CHANNEL, relay_once, relay_outbox};
pub use service::{LedgerService, NewAccount, Recipient, Single, TransferInput};
pub use statement::{MAX_STATEMENT_LINES, Statement, StatementLine};
pub use verifier::verify_periodically;
