//! Ledger use cases (issue 4). Every balance change goes through `execute`, which hands the
//! command to this instance's micro-batcher; the store commits each batch in one transaction.
#![forbid(unsafe_code)]

mod account_facts;
mod adjustments;
mod batcher;
mod chain_deposits;
mod chain_gas;
mod chain_withdrawals;
mod error;
mod expiry;
mod idempotency_retention;
mod lease_loop;
mod relay;
mod service;
mod statement;
mod thread_priority;
mod verifier;

pub use adjustments::Proposal;
pub use batcher::{Batcher, BatcherSettings};
pub use chain_deposits::ChainCredit;
pub use error::LedgerError;
pub use expiry::{LEASE as EXPIRY_LEASE, expire_holds};
pub use idempotency_retention::{LEASE as IDEMPOTENCY_RETENTION_LEASE, forget_idempotency_keys, forget_once};
pub use lease_loop::{LEASE_TTL_MS, LeaseLoop};
pub use relay::{CHANNEL as EVENTS_CHANNEL, LEASE as RELAY_LEASE, relay_once, relay_outbox};
pub use service::{LedgerService, NewAccount, Recipient, Single, TransferInput};
pub use statement::{MAX_STATEMENT_LINES, Statement, StatementLine};
pub use verifier::{LEASE as VERIFY_LEASE, verify_periodically};
