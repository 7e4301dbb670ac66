//! Staff corrections (issue 4, "Staff"): the ledger is never edited; a correction is a new
//! transfer between a customer account and the bank's `adjustment` account, proposed by one
//! staff member (maker) and approved by another (checker) — the four-eyes rule.

use super::account::AccountId;
use super::amount::Amount;
use super::asset::AssetCode;
use super::transfer::TransferId;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Money to the customer account.
    Credit,
    /// Money from the customer account.
    Debit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentStatus {
    PendingApproval,
    /// Approved and executed: `transfer_id` holds the correction.
    Posted,
    /// Approved, but the ledger refused it (`failure` says why, e.g. insufficient funds).
    Failed,
    Rejected,
}

impl AdjustmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingApproval => "pending_approval",
            Self::Posted => "posted",
            Self::Failed => "failed",
            Self::Rejected => "rejected",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::PendingApproval, Self::Posted, Self::Failed, Self::Rejected].into_iter().find(|x| x.as_str() == s)
    }
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Credit => "credit",
            Self::Debit => "debit",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Credit, Self::Debit].into_iter().find(|x| x.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustment {
    /// `adj_<uuidv7 hex>`.
    pub id: String,
    pub account_id: AccountId,
    pub asset: AssetCode,
    pub amount: Amount,
    pub direction: Direction,
    pub reason: String,
    /// The transfer this corrects, if any.
    pub corrects: Option<TransferId>,
    pub status: AdjustmentStatus,
    pub maker: String,
    pub checker: Option<String>,
    pub transfer_id: Option<TransferId>,
    /// The ledger's failure code when `Failed`.
    pub failure: Option<String>,
    pub created_at: i64,
    pub decided_at: Option<i64>,
}

/// The checker's decision, written only while the adjustment is still pending approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub status: AdjustmentStatus,
    pub checker: String,
    pub transfer_id: Option<TransferId>,
    pub failure: Option<String>,
    pub decided_at: i64,
}

/// The four-eyes rule: nobody approves their own proposal.
pub fn may_decide(adjustment: &Adjustment, checker: &str) -> bool {
    adjustment.maker != checker
}
