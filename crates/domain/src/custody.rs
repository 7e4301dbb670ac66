//! Custody records (issue 5): the deployment's sealed master seed and the deposit addresses
//! derived from it. Keys never live here, only the seed sealed with a key derived from
//! SECRET_KEY; addresses are public.

use crate::store::StoreError;
use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositAddress {
    /// `ethereum` or `solana`.
    pub chain: String,
    /// EIP-55 or base58, as shown to customers.
    pub address: String,
    /// The customer (or business) whose deposits arrive here.
    pub owner: String,
    /// The derivation index (m/44'/60'/0'/0/i; m/44'/501'/i'/0').
    pub index: u32,
    pub created_at: i64,
}

/// A transfer to a deposit address, seen on chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deposit {
    /// `dep_<uuidv7 hex>`.
    pub id: String,
    pub chain: String,
    /// The ledger asset credited (ETH, USDC-ETH, SOL, USDC-SOL).
    pub asset: String,
    pub tx_hash: String,
    /// Position within the transaction (0 for a native transfer; the log index for a token).
    pub log_index: u32,
    pub address: String,
    pub owner: String,
    /// Smallest units (wei, lamports, token base units).
    pub amount: u128,
    pub block_number: u64,
    pub block_hash: String,
    /// `pending`, `credited`, `dropped` (reorged before credit) or `reorged` (after: suspense).
    pub status: String,
    pub transfer_id: Option<String>,
    pub seen_at: i64,
    pub decided_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withdrawal {
    /// `wd_<hold transfer uuid hex>`: one per ledger hold.
    pub id: String,
    pub owner: String,
    pub account_id: String,
    pub chain: String,
    pub asset: String,
    pub to_address: String,
    pub amount: u128,
    /// What the customer pays for the network fee (configured), held with the amount.
    pub fee: u128,
    /// The ledger holds (amount, and fee when non-zero), `tr_…` comma-separated.
    pub hold_ids: String,
    /// `requested` → `signed` → `broadcast` → `confirmed`, or `failed` (holds voided).
    pub status: String,
    pub nonce: Option<u64>,
    pub raw_tx: Option<String>,
    pub tx_hash: Option<String>,
    pub old_hashes: String,
    pub max_fee: Option<u128>,
    pub tip: Option<u128>,
    pub failure: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[async_trait]
pub trait CustodyStore: Send + Sync + std::fmt::Debug + 'static {
    async fn sealed_seed(&self) -> Result<Option<String>, StoreError>;
    /// Stores the sealed seed if none exists yet; false if one does (it is never replaced).
    async fn store_sealed_seed(&self, sealed: &str, now_ms: i64) -> Result<bool, StoreError>;
    async fn deposit_address(&self, chain: &str, owner: &str) -> Result<Option<DepositAddress>, StoreError>;
    async fn deposit_addresses_of(&self, owners: &[String]) -> Result<Vec<DepositAddress>, StoreError>;
    /// A fresh derivation index for `chain` (atomic; a burnt index is harmless).
    async fn next_derivation_index(&self, chain: &str) -> Result<u32, StoreError>;
    /// Inserts, or returns the owner's existing address on this chain when a concurrent
    /// request created it first.
    async fn insert_deposit_address(&self, a: &DepositAddress) -> Result<DepositAddress, StoreError>;

    /// Owners of these addresses on `chain`: (address, owner).
    async fn owners_of(&self, chain: &str, addresses: &[String]) -> Result<Vec<(String, String)>, StoreError>;

    /// The next block to scan and the hash of the one before it; `None` before the first scan.
    async fn cursor(&self, chain: &str) -> Result<Option<(u64, Option<String>)>, StoreError>;
    async fn set_cursor(&self, chain: &str, next_block: u64, last_hash: Option<&str>) -> Result<(), StoreError>;
    /// A pending deposit re-seen in another block after a reorganisation moves there.
    async fn rebase_pending_deposit(
        &self,
        chain: &str,
        tx_hash: &str,
        log_index: u32,
        block_number: u64,
        block_hash: &str,
    ) -> Result<(), StoreError>;
    /// Records a deposit once; false if (chain, tx, log index) was already recorded.
    async fn record_deposit(&self, d: &Deposit) -> Result<bool, StoreError>;
    async fn deposits_with_status(&self, chain: &str, status: &str, limit: u32) -> Result<Vec<Deposit>, StoreError>;
    /// Moves a deposit from `from` to `to` status; false if it was not in `from`.
    async fn decide_deposit(
        &self,
        id: &str,
        from: &str,
        to: &str,
        transfer_id: Option<&str>,
        now_ms: i64,
    ) -> Result<bool, StoreError>;
    /// Deposits of these owners, newest first.
    async fn deposits_of(&self, owners: &[String], limit: u32) -> Result<Vec<Deposit>, StoreError>;

    /// Inserts once; returns the stored row (the existing one on a retry).
    async fn create_withdrawal(&self, w: &Withdrawal) -> Result<Withdrawal, StoreError>;
    async fn withdrawal(&self, id: &str) -> Result<Option<Withdrawal>, StoreError>;
    async fn withdrawals_of(&self, owners: &[String], limit: u32) -> Result<Vec<Withdrawal>, StoreError>;
    async fn withdrawals_with_status(
        &self,
        chain: &str,
        status: &str,
        limit: u32,
    ) -> Result<Vec<Withdrawal>, StoreError>;
    /// Writes the row's mutable fields if its status is still `expected_status`.
    async fn update_withdrawal(&self, w: &Withdrawal, expected_status: &str) -> Result<bool, StoreError>;
    /// What `owner` asked to withdraw of `asset` since `since_ms`: every withdrawal not failed
    /// (for the rolling withdrawal limit).
    async fn withdrawn_since(&self, owner: &str, asset: &str, since_ms: i64) -> Result<u128, StoreError>;
    /// Whether the ledger already holds a record of this Idempotency-Key: the request is a retry,
    /// which replays its first answer rather than being checked against limits again.
    async fn idempotency_key_used(&self, owner: &str, key: &str) -> Result<bool, StoreError>;
    async fn next_nonce(&self, chain: &str, address: &str) -> Result<Option<u64>, StoreError>;
    async fn set_next_nonce(&self, chain: &str, address: &str, next: u64) -> Result<(), StoreError>;

    /// Deposit addresses on `chain` that have received credited deposits (sweep candidates).
    async fn funded_deposit_addresses(&self, chain: &str) -> Result<Vec<DepositAddress>, StoreError>;
    /// Every deposit address on `chain` (for reserves).
    async fn all_deposit_addresses(&self, chain: &str) -> Result<Vec<DepositAddress>, StoreError>;
    /// The open (broadcast, not yet mined) sweep of an address: its transaction hash.
    async fn open_sweep(&self, chain: &str, address: &str) -> Result<Option<String>, StoreError>;
    async fn record_sweep(
        &self,
        chain: &str,
        address: &str,
        tx_hash: &str,
        amount: u128,
        now_ms: i64,
    ) -> Result<(), StoreError>;
    async fn finish_sweep(&self, tx_hash: &str, status: &str) -> Result<(), StoreError>;
}
