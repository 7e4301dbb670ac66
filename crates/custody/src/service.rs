//! Deposit addresses: one per owner and chain, derived from the master seed on first request.

use pb_chains::{Chain, MasterSeed};
use pb_domain::custody::{CustodyStore, DepositAddress};
use pb_domain::identity::caller::{Caller, Denied};
use pb_domain::{Clock, StoreError};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum CustodyError {
    #[error("crypto custody is not enabled on this server")]
    Disabled,
    #[error("custody on {0} is not enabled on this server")]
    ChainDisabled(&'static str),
    #[error("unknown chain {0:?}: ethereum or solana")]
    UnknownChain(String),
    #[error("custody has no master seed yet: run `protocol-bank custody init`")]
    NoSeed,
    #[error("{0}")]
    Denied(#[from] Denied),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("key derivation failed: {0}")]
    Keys(String),
    #[error("no such withdrawal")]
    WithdrawalNotFound,
}

pub struct CustodyService {
    store: Arc<dyn CustodyStore>,
    seed: Option<MasterSeed>,
    chains: Vec<Chain>,
    clock: Arc<dyn Clock>,
    /// What a customer pays per Ethereum withdrawal for the network fee, in wei.
    eth_withdrawal_fee: u128,
    ethereum_rpc: Option<pb_chains::eth_rpc::EthRpc>,
    /// ERC-20 tokens handled on Ethereum: (ledger asset, contract).
    tokens: Vec<(String, pb_chains::EthAddress)>,
    token_withdrawal_fee: u128,
    solana: Option<SolanaCustody>,
    limits: Option<WithdrawalLimits>,
}

/// Per customer and asset, what may be withdrawn in any 24 hours (smallest units). Checked under
/// a per-customer lock (a lease row, so it holds across instances), so concurrent requests
/// cannot together exceed it.
#[derive(Clone)]
pub struct WithdrawalLimits {
    pub per_day: std::collections::BTreeMap<String, u128>,
    pub leases: Arc<dyn pb_domain::LeaseStore>,
}

impl std::fmt::Debug for WithdrawalLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WithdrawalLimits").field("per_day", &self.per_day).finish_non_exhaustive()
    }
}

/// An SPL token custody handles: the ledger asset, its mint, and the mint's decimals (which
/// `TransferChecked` makes the token program verify).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SolToken {
    pub asset: String,
    pub mint: pb_chains::SolAddress,
    pub decimals: u8,
}

/// Solana custody's settings: the node, the SPL tokens, and what customers pay per withdrawal.
#[derive(Debug, Clone)]
pub struct SolanaCustody {
    pub rpc: pb_chains::sol_rpc::SolRpc,
    pub tokens: Vec<SolToken>,
    /// Lamports per SOL withdrawal.
    pub withdrawal_fee: u128,
    /// Token base units per token withdrawal (it may have to create the recipient's token account).
    pub token_withdrawal_fee: u128,
}

impl std::fmt::Debug for CustodyService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustodyService").field("chains", &self.chains).field("seed", &self.seed.is_some()).finish()
    }
}

impl CustodyService {
    pub fn new(
        store: Arc<dyn CustodyStore>,
        seed: Option<MasterSeed>,
        chains: Vec<Chain>,
        clock: Arc<dyn Clock>,
        eth_withdrawal_fee: u128,
        ethereum_rpc: Option<pb_chains::eth_rpc::EthRpc>,
    ) -> Self {
        Self {
            store,
            seed,
            chains,
            clock,
            eth_withdrawal_fee,
            ethereum_rpc,
            tokens: Vec::new(),
            token_withdrawal_fee: 0,
            solana: None,
            limits: None,
        }
    }

    /// Turns on rolling 24-hour withdrawal limits for the assets named.
    pub fn with_withdrawal_limits(mut self, limits: WithdrawalLimits) -> Self {
        self.limits = Some(limits).filter(|l| !l.per_day.is_empty());
        self
    }

    pub(crate) fn withdrawal_limits(&self) -> Option<&WithdrawalLimits> {
        self.limits.as_ref()
    }

    /// What one customer may withdraw of `asset` in any 24 hours, if limited.
    pub fn daily_withdrawal_limit(&self, asset: &str) -> Option<u128> {
        self.limits.as_ref().and_then(|l| l.per_day.get(asset).copied())
    }

    /// Switches Solana custody on.
    pub fn with_solana(mut self, solana: SolanaCustody) -> Self {
        if !self.chains.contains(&Chain::Solana) {
            self.chains.push(Chain::Solana);
        }
        self.solana = Some(solana);
        self
    }

    pub fn solana(&self) -> Option<&SolanaCustody> {
        self.solana.as_ref()
    }

    /// The SPL token of a ledger asset, if custody handles it.
    pub fn sol_token(&self, asset: &str) -> Option<&SolToken> {
        self.solana.as_ref().and_then(|s| s.tokens.iter().find(|t| t.asset == asset))
    }

    /// The assets custody moves on `chain`: its native coin, then its configured tokens.
    pub fn assets_on(&self, chain: Chain) -> Vec<String> {
        match chain {
            Chain::Ethereum => {
                std::iter::once("ETH".to_owned()).chain(self.tokens.iter().map(|(a, _)| a.clone())).collect()
            }
            Chain::Solana => match &self.solana {
                Some(s) => std::iter::once("SOL".to_owned()).chain(s.tokens.iter().map(|t| t.asset.clone())).collect(),
                None => Vec::new(),
            },
        }
    }

    /// Whether custody moves `asset` on `chain` (its native coin or a configured token).
    pub fn supports(&self, chain: Chain, asset: &str) -> bool {
        match chain {
            Chain::Ethereum => asset == "ETH" || self.token_contract(asset).is_some(),
            Chain::Solana => self.solana.is_some() && (asset == "SOL" || self.sol_token(asset).is_some()),
        }
    }

    /// Adds the ERC-20 tokens custody handles on Ethereum, and their withdrawal fee.
    pub fn with_tokens(mut self, tokens: Vec<(String, pb_chains::EthAddress)>, withdrawal_fee: u128) -> Self {
        self.tokens = tokens;
        self.token_withdrawal_fee = withdrawal_fee;
        self
    }

    pub fn tokens(&self) -> &[(String, pb_chains::EthAddress)] {
        &self.tokens
    }

    /// The contract of a token asset, if custody handles it.
    pub fn token_contract(&self, asset: &str) -> Option<pb_chains::EthAddress> {
        self.tokens.iter().find(|(a, _)| a == asset).map(|(_, c)| *c)
    }

    /// The network fee a customer pays per withdrawal of `asset`, smallest units of that asset.
    pub fn withdrawal_fee_for(&self, chain: Chain, asset: &str) -> u128 {
        match (chain, &self.solana) {
            (Chain::Ethereum, _) if self.token_contract(asset).is_some() => self.token_withdrawal_fee,
            (Chain::Ethereum, _) => self.eth_withdrawal_fee,
            (Chain::Solana, Some(s)) if asset == "SOL" => s.withdrawal_fee,
            (Chain::Solana, Some(s)) => s.token_withdrawal_fee,
            (Chain::Solana, None) => 0,
        }
    }

    /// On-chain holdings against the ledger, per chain that is on.
    pub async fn reserves(
        &self,
        ledger: &pb_ledger::LedgerService,
    ) -> Result<Vec<crate::Reserve>, crate::ReservesError> {
        let mut out = Vec::new();
        if let Some(rpc) = &self.ethereum_rpc {
            out.push(crate::ethereum_reserves(self, ledger, rpc).await?);
            out.extend(crate::ethereum_token_reserves(self, ledger, rpc).await?);
        }
        if let Some(solana) = &self.solana {
            out.extend(crate::solana_reserves(self, ledger, solana).await?);
        }
        Ok(out)
    }

    pub(crate) fn store(&self) -> &dyn CustodyStore {
        self.store.as_ref()
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub(crate) fn enabled_chain(&self, name: &str) -> Result<Chain, CustodyError> {
        self.chain(name)
    }

    /// A deposit address's signing key (for sweeps). Only the sender worker asks.
    pub fn ethereum_deposit_key(&self, index: u32) -> Result<zeroize::Zeroizing<[u8; 32]>, CustodyError> {
        let seed = self.seed.as_ref().ok_or(CustodyError::NoSeed)?;
        seed.ethereum_key(index).map_err(|e| CustodyError::Keys(e.to_string()))
    }

    /// The hot wallet's signing key on Ethereum (index 0). Only the sender worker asks.
    pub fn ethereum_hot_key(&self) -> Result<zeroize::Zeroizing<[u8; 32]>, CustodyError> {
        let seed = self.seed.as_ref().ok_or(CustodyError::NoSeed)?;
        seed.ethereum_key(0).map_err(|e| CustodyError::Keys(e.to_string()))
    }

    /// A Solana deposit address's keypair (it co-signs sweeps). Only the sender worker asks.
    pub fn solana_deposit_keypair(&self, index: u32) -> Result<pb_chains::sol_tx::SolKeypair, CustodyError> {
        let seed = self.seed.as_ref().ok_or(CustodyError::NoSeed)?;
        let secret = seed.solana_key(index).map_err(|e| CustodyError::Keys(e.to_string()))?;
        Ok(pb_chains::sol_tx::SolKeypair::from_secret(&secret))
    }

    /// The hot wallet's keypair on Solana (index 0): pays every fee and sends withdrawals.
    pub fn solana_hot_keypair(&self) -> Result<pb_chains::sol_tx::SolKeypair, CustodyError> {
        self.solana_deposit_keypair(0)
    }

    /// The chains switched on (their RPC endpoints are configured).
    pub fn chains(&self) -> &[Chain] {
        &self.chains
    }

    pub fn has_seed(&self) -> bool {
        self.seed.is_some()
    }

    fn chain(&self, name: &str) -> Result<Chain, CustodyError> {
        if self.chains.is_empty() {
            return Err(CustodyError::Disabled);
        }
        let chain = Chain::parse(name).ok_or_else(|| CustodyError::UnknownChain(name.to_owned()))?;
        if !self.chains.contains(&chain) {
            return Err(CustodyError::ChainDisabled(chain.as_str()));
        }
        Ok(chain)
    }

    /// The owner's deposit address on `chain`, created (derived and stored) on first request.
    /// Only for owners the caller may move money for: a deposit address is where their money
    /// arrives, so it needs a verified customer.
    pub async fn deposit_address(
        &self,
        caller: &Caller,
        owner: &str,
        chain: &str,
    ) -> Result<DepositAddress, CustodyError> {
        let chain = self.chain(chain)?;
        caller.can_move_money(owner)?;
        if let Some(a) = self.store.deposit_address(chain.as_str(), owner).await? {
            return Ok(a);
        }
        let seed = self.seed.as_ref().ok_or(CustodyError::NoSeed)?;
        let index = self.store.next_derivation_index(chain.as_str()).await?;
        let address = match chain {
            Chain::Ethereum => seed.ethereum_address(index).map(|a| a.to_string()),
            Chain::Solana => seed.solana_address(index).map(|a| a.to_string()),
        }
        .map_err(|e| CustodyError::Keys(e.to_string()))?;
        let new = DepositAddress {
            chain: chain.as_str().to_owned(),
            address,
            owner: owner.to_owned(),
            index,
            created_at: self.clock.now_ms(),
        };
        Ok(self.store.insert_deposit_address(&new).await?)
    }

    /// The caller's (and their businesses') deposits, newest first.
    pub async fn deposits(
        &self,
        caller: &Caller,
        limit: u32,
    ) -> Result<Vec<pb_domain::custody::Deposit>, CustodyError> {
        if self.chains.is_empty() {
            return Err(CustodyError::Disabled);
        }
        Ok(self.store.deposits_of(&caller.readable_owners(), limit).await?)
    }

    /// Deposits in `status` on every chain that is on (staff views; the route checks the role).
    pub async fn deposits_in_status(
        &self,
        status: &str,
        limit: u32,
    ) -> Result<Vec<pb_domain::custody::Deposit>, CustodyError> {
        if self.chains.is_empty() {
            return Err(CustodyError::Disabled);
        }
        let mut out = Vec::new();
        for chain in &self.chains {
            out.extend(self.store.deposits_with_status(chain.as_str(), status, limit).await?);
        }
        Ok(out)
    }

    /// The caller's (and their businesses') deposit addresses.
    pub async fn deposit_addresses(&self, caller: &Caller) -> Result<Vec<DepositAddress>, CustodyError> {
        if self.chains.is_empty() {
            return Err(CustodyError::Disabled);
        }
        let owners = caller.readable_owners();
        Ok(self.store.deposit_addresses_of(&owners).await?)
    }
}
