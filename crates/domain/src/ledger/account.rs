//! Accounts: an asset, an owner, flags and four counters (ledger.md, "Account").

use super::asset::AssetCode;
use serde::Serialize;

/// A UUIDv7; shown in the API as `acct_<32 hex>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
pub struct AccountId(pub uuid::Uuid);

impl AccountId {
    pub fn new() -> Self {
        Self(uuid::Uuid::now_v7())
    }
    pub fn to_api(self) -> String {
        format!("acct_{}", self.0.simple())
    }
    pub fn from_api(s: &str) -> Option<Self> {
        s.strip_prefix("acct_").filter(|h| h.len() == 32).and_then(|h| uuid::Uuid::try_parse(h).ok()).map(Self)
    }
}

impl Default for AccountId {
    fn default() -> Self {
        Self::new()
    }
}

/// TigerBeetle's account flags that apply here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct AccountFlags {
    /// No overdraft: the default for customer accounts.
    pub debits_must_not_exceed_credits: bool,
    /// For accounts that may only be drawn down (e.g. a customer liability seen from the bank).
    pub credits_must_not_exceed_debits: bool,
    pub closed: bool,
}

impl AccountFlags {
    pub const fn bits(self) -> i64 {
        (self.debits_must_not_exceed_credits as i64)
            | ((self.credits_must_not_exceed_debits as i64) << 1)
            | ((self.closed as i64) << 2)
    }
    pub const fn from_bits(bits: i64) -> Self {
        Self {
            debits_must_not_exceed_credits: bits & 1 != 0,
            credits_must_not_exceed_debits: bits & 2 != 0,
            closed: bits & 4 != 0,
        }
    }
}

/// The four counters. Only the ledger engine changes them, only by transfers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Balances {
    pub debits_pending: u128,
    pub debits_posted: u128,
    pub credits_pending: u128,
    pub credits_posted: u128,
}

impl Balances {
    /// Credits minus debits posted (a customer's balance; negative only where overdraft is allowed).
    pub fn posted(&self) -> i128 {
        signed_diff(self.credits_posted, self.debits_posted)
    }

    /// What can still be spent: posted minus pending debits (holds).
    pub fn available(&self) -> i128 {
        signed_diff(self.credits_posted, self.debits_posted.saturating_add(self.debits_pending))
    }

    pub fn pending_debits(&self) -> u128 {
        self.debits_pending
    }

    pub fn is_zero(&self) -> bool {
        *self == Self::default() || (self.posted() == 0 && self.debits_pending == 0 && self.credits_pending == 0)
    }
}

/// a − b as i128, saturating at the bounds (balances that large cannot occur: supply is bounded).
pub fn signed_diff(a: u128, b: u128) -> i128 {
    if a >= b { i128::try_from(a - b).unwrap_or(i128::MAX) } else { i128::try_from(b - a).map_or(i128::MIN, |d| -d) }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    pub id: AccountId,
    pub asset: AssetCode,
    /// `usr_…` or `biz_…` for customers; `bank` for the bank's own accounts.
    pub owner: String,
    /// What kind of account: `customer`, `sandbox_world`, `fee_income`, `suspense`, …
    pub code: String,
    pub name: String,
    pub parent_id: Option<AccountId>,
    pub flags: AccountFlags,
    pub balances: Balances,
    pub created_at: i64,
    /// The seq of the last journal row naming this account (None before its first): where its
    /// history chain starts (`ChainedTransfer::debit_prev`). Not part of what the API shows.
    #[serde(skip)]
    pub last_seq: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_round_trip_and_ids_render() {
        for bits in 0..8 {
            assert_eq!(AccountFlags::from_bits(bits).bits(), bits);
        }
        let id = AccountId::new();
        assert_eq!(AccountId::from_api(&id.to_api()), Some(id));
        assert_eq!(AccountId::from_api("acct_xyz"), None);
    }

    #[test]
    fn balances() {
        let b = Balances { debits_pending: 5, debits_posted: 10, credits_pending: 0, credits_posted: 100 };
        assert_eq!(b.posted(), 90);
        assert_eq!(b.available(), 85);
        assert_eq!(signed_diff(0, u128::MAX), i128::MIN);
    }
}
