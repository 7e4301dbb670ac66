//! How ledger outcomes become API errors: stable codes for every failure (ledger.md).

use crate::error::ApiError;
use crate::error_code::ErrorCode;
use pb_domain::ledger::transfer::TransferError;
use pb_ledger::LedgerError;

impl From<TransferError> for ApiError {
    fn from(e: TransferError) -> Self {
        use TransferError as T;
        let message = e.to_string();
        let (code, param) = match e {
            T::InsufficientFunds => (ErrorCode::InsufficientFunds, Some("from_account")),
            T::DebitAccountNotFound => (ErrorCode::AccountNotFound, Some("from_account")),
            T::CreditAccountNotFound => (ErrorCode::AccountNotFound, Some("to")),
            T::AccountsMustHaveTheSameAsset | T::TransferMustHaveTheSameAssetAsAccounts => {
                (ErrorCode::AssetMismatch, Some("to"))
            }
            T::DebitAccountClosed => (ErrorCode::AccountClosed, Some("from_account")),
            T::CreditAccountClosed => (ErrorCode::AccountClosed, Some("to")),
            T::AccountsMustBeDifferent => (ErrorCode::SameAccount, Some("to")),
            T::PendingTransferNotFound => (ErrorCode::TransferNotFound, None),
            T::PendingTransferNotPending | T::PendingTransferAlreadyPosted | T::PendingTransferAlreadyVoided => {
                (ErrorCode::HoldNotPending, None)
            }
            T::PendingTransferExpired => (ErrorCode::HoldExpired, None),
            T::ExceedsPendingTransferAmount => (ErrorCode::ExceedsHold, Some("amount")),
            T::LinkedEventFailed | T::LinkedEventChainOpen => (ErrorCode::LinkedTransferFailed, None),
            T::ExceedsDebits | T::Overflow | T::AmountRequired | T::FlagsAreMutuallyExclusive => {
                (ErrorCode::TransferRefused, None)
            }
        };
        let err = ApiError::new(code, message);
        match param {
            Some(p) => err.with_param(p),
            None => err,
        }
    }
}

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::Invalid { field, message } => {
                ApiError::new(ErrorCode::ValidationFailed, message).with_param(field)
            }
            LedgerError::UnknownAsset(a) => {
                ApiError::new(ErrorCode::UnknownAsset, format!("unknown asset {a:?}; see GET /v1/assets"))
                    .with_param("asset")
            }
            LedgerError::AccountNotFound => ApiError::of(ErrorCode::AccountNotFound),
            LedgerError::TransferNotFound => ApiError::of(ErrorCode::TransferNotFound),
            LedgerError::RecipientNotFound { asset } => {
                ApiError::new(ErrorCode::RecipientNotFound, format!("the recipient has no open {asset} account"))
                    .with_param("to")
            }
            LedgerError::AccountNotEmpty => ApiError::of(ErrorCode::AccountNotEmpty),
            LedgerError::AccountClosed => ApiError::of(ErrorCode::AccountClosed),
            LedgerError::KeyReused => ApiError::of(ErrorCode::IdempotencyKeyReused).with_param("Idempotency-Key"),
            LedgerError::Transfer(t) => t.into(),
            e @ LedgerError::StatementTooLarge { .. } => {
                ApiError::new(ErrorCode::StatementTooLarge, e.to_string()).with_param("from")
            }
            LedgerError::AdjustmentNotFound => ApiError::of(ErrorCode::AdjustmentNotFound),
            e @ LedgerError::AdjustmentDecided(_) => ApiError::new(ErrorCode::AdjustmentAlreadyDecided, e.to_string()),
            LedgerError::FourEyes => ApiError::of(ErrorCode::FourEyesRequired),
            LedgerError::Denied(d) => d.into(),
            LedgerError::Store(pb_domain::StoreError::Unavailable(d)) => ApiError::unavailable(d),
            LedgerError::Store(other) => ApiError::internal(other),
        }
    }
}
