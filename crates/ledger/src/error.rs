use pb_domain::StoreError;
use pb_domain::identity::caller::Denied;
use pb_domain::ledger::adjustment::AdjustmentStatus;
use pb_domain::ledger::transfer::TransferError;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("unknown asset {0}")]
    UnknownAsset(String),
    #[error("no such account")]
    AccountNotFound,
    #[error("no such transfer")]
    TransferNotFound,
    #[error("no customer account in {asset} found for the recipient")]
    RecipientNotFound { asset: String },
    #[error("the account still holds money or has pending transfers")]
    AccountNotEmpty,
    #[error("the account is already closed")]
    AccountClosed,
    #[error("this Idempotency-Key was used with a different request")]
    KeyReused,
    #[error("{0}")]
    Transfer(TransferError),
    #[error("the statement would have more than {max_lines} lines; ask for a shorter period")]
    StatementTooLarge { max_lines: u32 },
    #[error("no such adjustment")]
    AdjustmentNotFound,
    #[error("the adjustment was already decided ({})", .0.as_str())]
    AdjustmentDecided(AdjustmentStatus),
    #[error("an adjustment must be decided by a different staff member than the one who proposed it")]
    FourEyes,
    #[error("{0}")]
    Denied(#[from] Denied),
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl LedgerError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid { field, message: message.into() }
    }
}
