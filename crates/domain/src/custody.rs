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
}
