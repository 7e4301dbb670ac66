//! What the ledger needs from the system of record. Both stores implement it with the same
//! shape: one transaction per batch, accounts locked in id order, the engine deciding, every
//! result (and the idempotency record) written before the single commit.

use super::account::{Account, AccountId};
use super::adjustment::{Adjustment, AdjustmentStatus, Decision};
use super::asset::AssetCode;
use super::engine::PendingState;
use super::transfer::{Transfer, TransferError, TransferId, TransferRequest};
use crate::store::StoreError;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// An `Idempotency-Key` claim: scoped to its owner, with a fingerprint of the request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    pub owner: String,
    pub key: String,
    pub fingerprint: Vec<u8>,
}

/// One client request: one transfer, a resolution, or a whole batch (linked or not).
#[derive(Debug, Clone)]
pub struct Command {
    pub idempotency: Option<Idempotency>,
    pub requests: Vec<TransferRequest>,
}

pub type Results = Vec<Result<Transfer, TransferError>>;

/// What became of a command. Failures are results too: a key whose first attempt failed for
/// insufficient funds replays that failure, even after funds arrive (TigerBeetle's
/// `id_already_failed`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CommandOutcome {
    Executed(Results),
    Replayed(Results),
    /// The key was used before with a different request.
    KeyReused,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created<T> {
    New(T),
    Replayed(T),
    KeyReused,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseOutcome {
    Closed(Box<Account>),
    /// Only an account at zero, with nothing pending, can close.
    NotEmpty,
    AlreadyClosed,
    NotFound,
}

/// A committed transfer row as `verify` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainedTransfer {
    pub seq: i64,
    pub transfer: Transfer,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
    /// The seq of the journal's previous row naming the debit (credit) account, None for its
    /// first: each account's history is a chain back from `Account::last_seq`, so a store can
    /// read it at commit without an index per side (ledger.md, "History").
    pub debit_prev: Option<i64>,
    pub credit_prev: Option<i64>,
}

#[async_trait]
pub trait LedgerStore: Send + Sync + std::fmt::Debug + 'static {
    async fn create_account(
        &self,
        account: Account,
        idempotency: Option<Idempotency>,
    ) -> Result<Created<Account>, StoreError>;
    async fn account(&self, id: AccountId) -> Result<Option<Account>, StoreError>;
    /// Accounts of these owners, oldest first, after `starting_after`.
    async fn accounts_of(
        &self,
        owners: &[String],
        starting_after: Option<AccountId>,
        limit: u32,
    ) -> Result<Vec<Account>, StoreError>;
    /// The bank's own account of `code` for `asset`, created on first use.
    async fn system_account(&self, code: &str, asset: &AssetCode, now_ms: i64) -> Result<Account, StoreError>;
    async fn close_account(&self, id: AccountId) -> Result<CloseOutcome, StoreError>;

    /// Executes commands in order, in one transaction.
    async fn execute(&self, commands: &[Command], now_ms: i64) -> Result<Vec<CommandOutcome>, StoreError>;

    /// Whether a batch can be sent while the one before it is still in the database, queued
    /// behind it at no cost (PostgreSQL with its view of the ledger: store-postgres
    /// pipeline.rs). The micro-batcher then keeps a second batch of any size in flight.
    fn pipelines_batches(&self) -> bool {
        false
    }

    /// A transfer and, for a pending one, whether it is still pending.
    async fn transfer(&self, id: TransferId) -> Result<Option<(Transfer, Option<PendingState>)>, StoreError>;
    /// Transfers touching an account, newest first, before `starting_after`.
    async fn account_transfers(
        &self,
        id: AccountId,
        starting_after: Option<TransferId>,
        limit: u32,
    ) -> Result<Vec<Transfer>, StoreError>;
    /// An account's posted movements (single-phase transfers and captures) created in
    /// `[from_ms, to_ms)`, in commit order, at most `limit`: a statement's lines.
    async fn posted_between(
        &self,
        id: AccountId,
        from_ms: i64,
        to_ms: i64,
        limit: u32,
    ) -> Result<Vec<Transfer>, StoreError>;
    /// The account's last posted movement created before `before_ms`: its balance after is a
    /// statement's opening balance.
    async fn last_posted_before(&self, id: AccountId, before_ms: i64) -> Result<Option<Transfer>, StoreError>;
    /// Pending transfers past their expiry and not yet resolved.
    async fn expired_pending(&self, now_ms: i64, limit: u32) -> Result<Vec<TransferId>, StoreError>;

    /// Everything `verify` needs, in commit order.
    async fn verification_data(&self) -> Result<(Vec<Account>, Vec<ChainedTransfer>), StoreError>;

    /// Forgets up to `limit` Idempotency-Keys taken before `created_before_ms` (for the
    /// retention worker; which of the old ones go first is not promised) and says how many
    /// went. A request under a forgotten key is a new request. Journal rows are untouched.
    async fn forget_idempotency_keys(&self, created_before_ms: i64, limit: u32) -> Result<u64, StoreError>;
}

/// The transactional outbox (see `outbox`: the journal itself): journal rows after a position,
/// from which the relay derives events, and each consumer's cursor.
#[async_trait]
pub trait OutboxStore: Send + Sync + std::fmt::Debug + 'static {
    /// Journal rows with `seq` after `position`, in seq order.
    async fn journal_after(&self, position: i64, limit: u32) -> Result<Vec<ChainedTransfer>, StoreError>;
    /// The last position written (0 when empty): the journal head's seq.
    async fn last_position(&self) -> Result<i64, StoreError>;
    async fn cursor(&self, consumer: &str) -> Result<i64, StoreError>;
    async fn set_cursor(&self, consumer: &str, position: i64) -> Result<(), StoreError>;
}

/// Staff corrections awaiting a second pair of eyes (see `adjustment`).
#[async_trait]
pub trait AdjustmentStore: Send + Sync + std::fmt::Debug + 'static {
    async fn create_adjustment(&self, a: &Adjustment) -> Result<(), StoreError>;
    async fn adjustment(&self, id: &str) -> Result<Option<Adjustment>, StoreError>;
    /// Newest first, after `starting_after`, optionally of one status.
    async fn adjustments(
        &self,
        status: Option<AdjustmentStatus>,
        starting_after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Adjustment>, StoreError>;
    /// Records the decision if the adjustment is still pending approval; false if it was not.
    async fn decide_adjustment(&self, id: &str, decision: &Decision) -> Result<bool, StoreError>;
}
