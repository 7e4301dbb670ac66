//! The ledger: multi-asset double-entry accounts and transfers (ledger.md), after
//! TigerBeetle's model (docs/reference/account.md, transfer.md). Pure: the engine decides
//! each transfer's outcome from the state it is given; stores lock, load and write.

pub mod account;
pub mod adjustment;
pub mod amount;
pub mod asset;
pub mod batch;
pub mod engine;
pub mod hash;
pub mod outbox;
pub mod recent_journal;
pub mod store;
pub mod stored_outcome;
pub mod transfer;
pub mod verify;

pub use account::{Account, AccountFlags, AccountId, Balances};
pub use amount::{Amount, AmountError, to_decimal};
pub use asset::{Asset, AssetCode, AssetRegistry};
pub use engine::{PendingState, PendingTransfer, execute};
pub use transfer::{Transfer, TransferError, TransferFlags, TransferId, TransferRequest};
