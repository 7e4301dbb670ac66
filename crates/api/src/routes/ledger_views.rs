//! JSON shapes of ledger objects. Amounts are strings of integer minor units, with the asset
//! beside them (api.md, "Amounts").

use crate::dto::{time, time_opt};
use pb_domain::ledger::account::{Account, AccountId};
use pb_domain::ledger::engine::PendingState;
use pb_domain::ledger::transfer::Transfer;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceView {
    /// Posted: credits minus debits.
    pub posted: String,
    /// Posted minus outgoing holds: what can be spent now.
    pub available: String,
    pub pending_outgoing: String,
    pub pending_incoming: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    pub id: String,
    pub object: &'static str,
    pub asset: String,
    /// Decimal places of the asset's smallest unit.
    pub scale: u8,
    pub name: String,
    pub owner: String,
    pub parent_id: Option<String>,
    /// `open` or `closed`.
    pub status: &'static str,
    pub balance: BalanceView,
    pub created: String,
}

pub fn account_view(a: &Account, scale: u8) -> AccountView {
    let b = a.balances;
    AccountView {
        id: a.id.to_api(),
        object: "account",
        asset: a.asset.to_string(),
        scale,
        name: a.name.clone(),
        owner: a.owner.clone(),
        parent_id: a.parent_id.map(AccountId::to_api),
        status: if a.flags.closed { "closed" } else { "open" },
        balance: BalanceView {
            posted: b.posted().to_string(),
            available: b.available().to_string(),
            pending_outgoing: b.debits_pending.to_string(),
            pending_incoming: b.credits_pending.to_string(),
        },
        created: time(a.created_at),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TransferView {
    pub id: String,
    pub object: &'static str,
    /// `transfer`, `hold`, `capture` or `void`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `posted`; for holds `pending`, `captured` or `voided`.
    pub status: &'static str,
    pub from_account: String,
    pub to_account: String,
    pub amount: String,
    pub asset: String,
    /// Why: `p2p`, `sandbox_deposit`, `capture`, `void`, `expiry`, …
    pub code: String,
    pub description: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// For a capture or void: the hold it resolves.
    pub hold_id: Option<String>,
    /// For a hold: when it voids itself unless captured.
    pub expires_at: Option<String>,
    /// In an account's history: that account's posted balance after this transfer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balance_after: Option<String>,
    pub created: String,
}

pub fn transfer_view(t: &Transfer, state: Option<PendingState>, for_account: Option<AccountId>) -> TransferView {
    let (kind, status) = if t.flags.pending {
        let status = match state {
            Some(PendingState::Posted) => "captured",
            Some(PendingState::Voided) => "voided",
            _ => "pending",
        };
        ("hold", status)
    } else if t.flags.post_pending {
        ("capture", "posted")
    } else if t.flags.void_pending {
        ("void", "posted")
    } else {
        ("transfer", "posted")
    };
    let balance_after = for_account.and_then(|a| {
        if a == t.debit_account_id {
            t.debit_balance_after
        } else if a == t.credit_account_id {
            t.credit_balance_after
        } else {
            None
        }
    });
    TransferView {
        id: t.id.to_api(),
        object: "transfer",
        kind,
        status,
        from_account: t.debit_account_id.to_api(),
        to_account: t.credit_account_id.to_api(),
        amount: t.amount.to_string(),
        asset: t.asset.clone(),
        code: t.code.clone(),
        description: t.description.clone(),
        metadata: t.metadata.clone(),
        hold_id: t.pending_id.map(|p| p.to_api()),
        expires_at: time_opt(t.expires_at),
        balance_after: balance_after.map(|b| b.to_string()),
        created: time(t.created_at),
    }
}
