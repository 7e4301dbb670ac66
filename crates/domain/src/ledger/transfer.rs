//! Transfers: immutable movements between two accounts of one asset (ledger.md, "Transfer").

use super::account::AccountId;
use super::amount::Amount;
use super::asset::AssetCode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A UUIDv7; shown in the API as `tr_<32 hex>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TransferId(pub uuid::Uuid);

impl TransferId {
    pub fn new() -> Self {
        Self(uuid::Uuid::now_v7())
    }
    pub fn to_api(self) -> String {
        format!("tr_{}", self.0.simple())
    }
    pub fn from_api(s: &str) -> Option<Self> {
        s.strip_prefix("tr_").filter(|h| h.len() == 32).and_then(|h| uuid::Uuid::try_parse(h).ok()).map(Self)
    }
}

impl Default for TransferId {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TransferFlags {
    /// Reserve now, resolve later with a post or a void.
    pub pending: bool,
    /// Resolves `pending_id` by posting (all or part of) it.
    pub post_pending: bool,
    /// Resolves `pending_id` by releasing it.
    pub void_pending: bool,
    /// This transfer and the next succeed or fail together.
    pub linked: bool,
}

impl TransferFlags {
    pub const fn bits(self) -> i64 {
        (self.pending as i64)
            | ((self.post_pending as i64) << 1)
            | ((self.void_pending as i64) << 2)
            | ((self.linked as i64) << 3)
    }
    pub const fn from_bits(bits: i64) -> Self {
        Self { pending: bits & 1 != 0, post_pending: bits & 2 != 0, void_pending: bits & 4 != 0, linked: bits & 8 != 0 }
    }
}

/// What a caller asks for. For post/void, the accounts and asset come from the pending transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferRequest {
    pub id: TransferId,
    pub debit_account_id: AccountId,
    pub credit_account_id: AccountId,
    /// For a post: the amount to post (≤ the pending amount), `None` for all of it.
    pub amount: Option<Amount>,
    pub asset: Option<AssetCode>,
    /// Why: `p2p`, `deposit`, `withdrawal`, `fee`, `adjustment`, `expiry`, …
    pub code: String,
    pub flags: TransferFlags,
    pub pending_id: Option<TransferId>,
    /// For a pending transfer: it voids itself after this long.
    pub timeout_ms: Option<i64>,
    pub description: Option<String>,
    pub metadata: BTreeMap<String, String>,
}

/// A committed transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    pub id: TransferId,
    pub debit_account_id: AccountId,
    pub credit_account_id: AccountId,
    pub amount: u128,
    pub asset: String,
    pub code: String,
    pub flags: TransferFlags,
    pub pending_id: Option<TransferId>,
    pub expires_at: Option<i64>,
    pub description: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// Posted balance of each side after this transfer, when it changed posted balances.
    pub debit_balance_after: Option<i128>,
    pub credit_balance_after: Option<i128>,
    pub created_at: i64,
}

/// Stable failure codes (TigerBeetle's CreateTransferResult, named for this API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum TransferError {
    #[error("another transfer in the same atomic batch failed")]
    LinkedEventFailed,
    #[error("the last transfer of an atomic batch must not be linked")]
    LinkedEventChainOpen,
    #[error("debit and credit accounts must differ")]
    AccountsMustBeDifferent,
    #[error("the debit account does not exist")]
    DebitAccountNotFound,
    #[error("the credit account does not exist")]
    CreditAccountNotFound,
    #[error("the accounts hold different assets")]
    AccountsMustHaveTheSameAsset,
    #[error("the transfer's asset differs from the accounts'")]
    TransferMustHaveTheSameAssetAsAccounts,
    #[error("the debit account is closed")]
    DebitAccountClosed,
    #[error("the credit account is closed")]
    CreditAccountClosed,
    #[error("amount is required")]
    AmountRequired,
    #[error("insufficient funds")]
    InsufficientFunds,
    #[error("the credit account may not receive more than it has paid out")]
    ExceedsDebits,
    #[error("the pending transfer does not exist")]
    PendingTransferNotFound,
    #[error("the referenced transfer is not a pending transfer")]
    PendingTransferNotPending,
    #[error("the pending transfer was already posted")]
    PendingTransferAlreadyPosted,
    #[error("the pending transfer was already voided")]
    PendingTransferAlreadyVoided,
    #[error("the pending transfer has expired")]
    PendingTransferExpired,
    #[error("the amount exceeds the pending transfer's amount")]
    ExceedsPendingTransferAmount,
    #[error("flags are contradictory")]
    FlagsAreMutuallyExclusive,
    #[error("a counter would overflow")]
    Overflow,
}

impl TransferError {
    pub const fn code(self) -> &'static str {
        match self {
            Self::LinkedEventFailed => "linked_event_failed",
            Self::LinkedEventChainOpen => "linked_event_chain_open",
            Self::AccountsMustBeDifferent => "accounts_must_be_different",
            Self::DebitAccountNotFound => "debit_account_not_found",
            Self::CreditAccountNotFound => "credit_account_not_found",
            Self::AccountsMustHaveTheSameAsset => "accounts_must_have_the_same_asset",
            Self::TransferMustHaveTheSameAssetAsAccounts => "transfer_must_have_the_same_asset_as_accounts",
            Self::DebitAccountClosed => "debit_account_closed",
            Self::CreditAccountClosed => "credit_account_closed",
            Self::AmountRequired => "amount_required",
            Self::InsufficientFunds => "insufficient_funds",
            Self::ExceedsDebits => "exceeds_debits",
            Self::PendingTransferNotFound => "pending_transfer_not_found",
            Self::PendingTransferNotPending => "pending_transfer_not_pending",
            Self::PendingTransferAlreadyPosted => "pending_transfer_already_posted",
            Self::PendingTransferAlreadyVoided => "pending_transfer_already_voided",
            Self::PendingTransferExpired => "pending_transfer_expired",
            Self::ExceedsPendingTransferAmount => "exceeds_pending_transfer_amount",
            Self::FlagsAreMutuallyExclusive => "flags_are_mutually_exclusive",
            Self::Overflow => "overflow",
        }
    }
}
