//! The Ethereum withdrawal sender (one instance at a time, by lease). For each requested
//! withdrawal, in order: take the hot wallet's next nonce (the larger of ours and the node's
//! pending count, so concurrent withdrawals get consecutive nonces and none collide), sign an
//! EIP-1559 transfer, store it, then broadcast the stored bytes (a crash re-sends the same
//! transaction). Then track: confirmed with enough blocks → capture the holds; reverted or
//! refused → void them; not mined for `stuck_after` → replace it at the same nonce with
//! higher fees (any of the hashes may be the one mined).

use crate::CustodyService;
use crate::settlement::Settlement;
use pb_chains::eth_rpc::{EthRpc, RpcError, hex_bytes, to_hex};
use pb_chains::eth_tx::{Eip1559, address_of};
use pb_chains::{EthAddress, erc20};
use pb_domain::custody::{CustodyStore, Withdrawal};
use pb_domain::{Clock, LeaseStore, StoreError};
use pb_ledger::{LeaseLoop, LedgerService};
use std::sync::Arc;
use std::time::Duration;

const CHAIN: &str = "ethereum";
/// Gas limit for an ERC-20 transfer (a plain one uses ~35–52k; headroom for token logic).
const TOKEN_GAS: u64 = 100_000;
pub const LEASE: &str = "withdrawal-sender-ethereum";

#[derive(Debug, Clone)]
pub struct EthSenderSettings {
    pub chain_id: u64,
    pub confirmations: u64,
    pub stuck_after: Duration,
    pub poll: Duration,
}

pub struct EthSender {
    pub rpc: EthRpc,
    pub store: Arc<dyn CustodyStore>,
    pub custody: Arc<CustodyService>,
    pub ledger: Arc<LedgerService>,
    pub clock: Arc<dyn Clock>,
    pub settings: EthSenderSettings,
}

impl std::fmt::Debug for EthSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EthSender").field("settings", &self.settings).finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("{0}")]
    Rpc(#[from] RpcError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Other(String),
}

/// Errors from the node that no retry will fix: the withdrawal fails and its holds are voided.
fn permanent(e: &RpcError) -> bool {
    match e {
        RpcError::Node { message, .. } => {
            let m = message.to_ascii_lowercase();
            m.contains("insufficient funds") || m.contains("intrinsic gas") || m.contains("exceeds block gas limit")
        }
        _ => false,
    }
}

impl EthSender {
    fn hot_address(&self) -> Result<EthAddress, SendError> {
        let key = self.custody.ethereum_hot_key().map_err(|e| SendError::Other(e.to_string()))?;
        address_of(&key).map_err(|e| SendError::Other(e.to_string()))
    }

    async fn record_gas(&self, tx_hash: &str) -> Result<(), SendError> {
        if let Some(wei) = self.rpc.gas_cost(tx_hash).await? {
            self.ledger
                .record_network_gas(CHAIN, "ETH", tx_hash, wei)
                .await
                .map_err(|e| SendError::Other(e.to_string()))?;
        }
        Ok(())
    }

    fn settlement(&self) -> Settlement<'_> {
        Settlement { chain: CHAIN, ledger: &self.ledger, store: self.store.as_ref(), clock: self.clock.as_ref() }
    }

    async fn fail(&self, w: Withdrawal, from_status: &str, code: &str, detail: String) -> Result<(), SendError> {
        self.settlement().failed(w, from_status, code, detail).await
    }

    async fn fees(&self, bump_from: Option<(u128, u128)>) -> Result<(u128, u128), SendError> {
        let tip = self.rpc.max_priority_fee().await?.max(1);
        let base = self.rpc.gas_price().await?;
        let (mut max_fee, mut tip) = (base.saturating_mul(2).saturating_add(tip), tip);
        if let Some((old_max, old_tip)) = bump_from {
            // Replacement rule (geth txpool): at least +10% on both; we add 25%.
            max_fee = max_fee.max(old_max.saturating_add(old_max / 4 + 1));
            tip = tip.max(old_tip.saturating_add(old_tip / 4 + 1));
        }
        Ok((max_fee, tip))
    }

    fn sign(&self, w: &Withdrawal, nonce: u64, max_fee: u128, tip: u128) -> Result<(Vec<u8>, String), SendError> {
        let key = self.custody.ethereum_hot_key().map_err(|e| SendError::Other(e.to_string()))?;
        let to = EthAddress::parse(&w.to_address).map_err(|e| SendError::Other(e.to_string()))?;
        // ETH is the transaction's value; a token is a `transfer` call to its contract.
        let (to, value, data, gas_limit) = match self.custody.token_contract(&w.asset) {
            Some(contract) => (contract, 0, erc20::transfer_call(&to, w.amount), TOKEN_GAS),
            None => (to, w.amount, Vec::new(), 21_000),
        };
        let tx = Eip1559 {
            chain_id: self.settings.chain_id,
            nonce,
            max_priority_fee_per_gas: tip,
            max_fee_per_gas: max_fee,
            gas_limit,
            to,
            value,
            data,
        };
        let (raw, hash) = tx.sign(&key).map_err(|e| SendError::Other(e.to_string()))?;
        Ok((raw, to_hex(&hash)))
    }

    async fn broadcast(&self, mut w: Withdrawal) -> Result<(), SendError> {
        let raw = hex_bytes(w.raw_tx.as_deref().unwrap_or_default())?;
        match self.rpc.send_raw(&raw).await {
            Ok(_) => {}
            // Sent before a crash (pending or already mined): carry on tracking it. Checked before
            // any verdict, since a mined transaction sent again draws "nonce too low" and worse.
            Err(_) if self.node_knows(w.tx_hash.as_deref()).await? => {}
            Err(RpcError::Node { message, .. }) if message.to_ascii_lowercase().contains("nonce too low") => {
                // The nonce went to another transaction and ours was never seen: it can never be
                // mined, so it is signed again with the next free nonce.
                tracing::warn!(withdrawal = %w.id, nonce = w.nonce, "nonce already used elsewhere; signing again");
                let mut again = w.clone();
                again.status = "requested".into();
                (again.nonce, again.raw_tx, again.tx_hash, again.max_fee, again.tip) = (None, None, None, None, None);
                again.updated_at = self.clock.now_ms();
                self.store.update_withdrawal(&again, "signed").await?;
                return Ok(());
            }
            Err(e) if permanent(&e) => return self.fail(w, "signed", "network_refused", e.to_string()).await,
            Err(e) => return Err(e.into()),
        }
        let hot = self.hot_address()?;
        if let Some(n) = w.nonce {
            self.store.set_next_nonce(CHAIN, &hot.to_string(), n + 1).await?;
        }
        w.status = "broadcast".into();
        w.updated_at = self.clock.now_ms();
        self.store.update_withdrawal(&w, "signed").await?;
        tracing::info!(withdrawal = %w.id, tx = w.tx_hash.as_deref().unwrap_or(""), nonce = w.nonce, "withdrawal broadcast");
        Ok(())
    }

    /// Whether the node has seen this transaction (in its pool or mined).
    async fn node_knows(&self, tx_hash: Option<&str>) -> Result<bool, SendError> {
        let Some(hash) = tx_hash else { return Ok(false) };
        Ok(!self.rpc.call("eth_getTransactionByHash", serde_json::json!([hash])).await?.is_null())
    }

    /// One pass: re-send signed ones, sign and send requested ones, track broadcast ones.
    pub async fn tick(&self) -> Result<(), SendError> {
        for w in self.store.withdrawals_with_status(CHAIN, "signed", 100).await? {
            self.broadcast(w).await?;
        }
        let hot = self.hot_address()?;
        for mut w in self.store.withdrawals_with_status(CHAIN, "requested", 100).await? {
            let ours = self.store.next_nonce(CHAIN, &hot.to_string()).await?.unwrap_or(0);
            let nonce = ours.max(self.rpc.pending_nonce(&hot).await?);
            let (max_fee, tip) = self.fees(None).await?;
            let (raw, hash) = self.sign(&w, nonce, max_fee, tip)?;
            w.status = "signed".into();
            w.nonce = Some(nonce);
            w.raw_tx = Some(to_hex(&raw));
            w.tx_hash = Some(hash);
            w.max_fee = Some(max_fee);
            w.tip = Some(tip);
            w.updated_at = self.clock.now_ms();
            if self.store.update_withdrawal(&w, "requested").await? {
                self.broadcast(w).await?;
            }
        }
        let head = self.rpc.block_number().await?;
        let now = self.clock.now_ms();
        let mut oldest_pending_ms: i64 = 0;
        for mut w in self.store.withdrawals_with_status(CHAIN, "broadcast", 500).await? {
            let mut mined = None;
            let current = w.tx_hash.clone().unwrap_or_default();
            for h in std::iter::once(current.as_str()).chain(w.old_hashes.split(',').filter(|s| !s.is_empty())) {
                if let Some(r) = self.rpc.receipt_status(h).await? {
                    mined = Some((h.to_owned(), r));
                    break;
                }
            }
            match mined {
                Some((hash, (true, block))) if head + 1 >= block + self.settings.confirmations => {
                    self.record_gas(&hash).await?;
                    self.settlement().confirmed(w, hash).await?;
                }
                Some((_, (true, _))) => {}
                Some((hash, (false, _))) => {
                    self.record_gas(&hash).await?;
                    let detail = format!("transaction {hash} reverted");
                    w.tx_hash = Some(hash);
                    self.fail(w, "broadcast", "reverted", detail).await?;
                }
                None if now - w.updated_at
                    > i64::try_from(self.settings.stuck_after.as_millis()).unwrap_or(i64::MAX) =>
                {
                    // Stuck: the same nonce again with higher fees.
                    let (Some(nonce), Some(old_max), Some(old_tip)) = (w.nonce, w.max_fee, w.tip) else { continue };
                    let (max_fee, tip) = self.fees(Some((old_max, old_tip))).await?;
                    let (raw, hash) = self.sign(&w, nonce, max_fee, tip)?;
                    match self.rpc.send_raw(&raw).await {
                        Ok(_) => {
                            w.old_hashes = [w.old_hashes.as_str(), current.as_str()]
                                .iter()
                                .filter(|s| !s.is_empty())
                                .copied()
                                .collect::<Vec<_>>()
                                .join(",");
                            w.raw_tx = Some(to_hex(&raw));
                            w.tx_hash = Some(hash);
                            w.max_fee = Some(max_fee);
                            w.tip = Some(tip);
                            w.updated_at = now;
                            self.store.update_withdrawal(&w, "broadcast").await?;
                            tracing::warn!(withdrawal = %w.id, nonce, "withdrawal stuck; replaced with higher fees");
                        }
                        Err(e) => tracing::warn!(withdrawal = %w.id, error = %e, "fee bump refused; will retry"),
                    }
                }
                None => oldest_pending_ms = oldest_pending_ms.max(now - w.created_at),
            }
        }
        metrics::gauge!("withdrawal_oldest_pending_seconds", "chain" => CHAIN).set((oldest_pending_ms / 1000) as f64);
        self.sweep().await
    }

    /// Moves credited deposits from deposit addresses into the hot wallet, so withdrawals can
    /// be paid from one place. The gas is ledgered like a withdrawal's; dust below twice the
    /// gas cost stays where it is (it still counts in the reserves).
    async fn sweep(&self) -> Result<(), SendError> {
        let hot = self.hot_address()?;
        for a in self.store.funded_deposit_addresses(CHAIN).await? {
            if let Some(tx) = self.store.open_sweep(CHAIN, &a.address).await? {
                match self.rpc.receipt_status(&tx).await? {
                    Some((ok, _)) => {
                        self.record_gas(&tx).await?;
                        self.store.finish_sweep(&tx, if ok { "confirmed" } else { "failed" }).await?;
                        metrics::counter!("chain_sweeps_total", "chain" => CHAIN).increment(1);
                    }
                    // Recorded but unknown to the node (a crash between recording and sending,
                    // or dropped from the pool): give it up and sweep afresh.
                    None if self.rpc.call("eth_getTransactionByHash", serde_json::json!([tx])).await?.is_null() => {
                        self.store.finish_sweep(&tx, "failed").await?;
                    }
                    None => continue,
                }
            }
            let from = EthAddress::parse(&a.address).map_err(|e| SendError::Other(e.to_string()))?;
            // Tokens first (they need the address's ETH for gas); ETH once no token is left.
            if self.sweep_tokens(&a, &from, &hot).await? {
                continue;
            }
            let balance = self.rpc.balance(&from).await?;
            let (max_fee, tip) = self.fees(None).await?;
            let gas = 21_000u128.saturating_mul(max_fee);
            if balance <= gas.saturating_mul(2) {
                continue;
            }
            let key = self.custody.ethereum_deposit_key(a.index).map_err(|e| SendError::Other(e.to_string()))?;
            let tx = Eip1559 {
                chain_id: self.settings.chain_id,
                nonce: self.rpc.pending_nonce(&from).await?,
                max_priority_fee_per_gas: tip,
                max_fee_per_gas: max_fee,
                gas_limit: 21_000,
                to: hot,
                value: balance - gas,
                data: Vec::new(),
            };
            let (raw, hash) = tx.sign(&key).map_err(|e| SendError::Other(e.to_string()))?;
            let hash = to_hex(&hash);
            // Recorded first: a crash after sending still finds and settles the sweep.
            self.store.record_sweep(CHAIN, &a.address, &hash, balance - gas, self.clock.now_ms()).await?;
            if let Err(e) = self.rpc.send_raw(&raw).await {
                self.store.finish_sweep(&hash, "failed").await?;
                tracing::warn!(address = %a.address, error = %e, "sweep refused; will retry");
            }
        }
        Ok(())
    }

    /// Sweeps one token balance of a deposit address, topping up its gas from the hot wallet
    /// first when needed. True while the address still holds tokens (so its ETH stays for gas).
    async fn sweep_tokens(
        &self,
        a: &pb_domain::custody::DepositAddress,
        from: &EthAddress,
        hot: &EthAddress,
    ) -> Result<bool, SendError> {
        for (asset, contract) in self.custody.tokens() {
            let balance = self.rpc.token_balance(contract, from).await?;
            if balance == 0 {
                continue;
            }
            let (max_fee, tip) = self.fees(None).await?;
            let gas = u128::from(TOKEN_GAS).saturating_mul(max_fee);
            let now = self.clock.now_ms();
            if self.rpc.balance(from).await? < gas {
                // Gas top-up from the hot wallet, on the hot wallet's nonce counter.
                let key = self.custody.ethereum_hot_key().map_err(|e| SendError::Other(e.to_string()))?;
                let ours = self.store.next_nonce(CHAIN, &hot.to_string()).await?.unwrap_or(0);
                let nonce = ours.max(self.rpc.pending_nonce(hot).await?);
                let tx = Eip1559 {
                    chain_id: self.settings.chain_id,
                    nonce,
                    max_priority_fee_per_gas: tip,
                    max_fee_per_gas: max_fee,
                    gas_limit: 21_000,
                    to: *from,
                    value: gas.saturating_mul(2),
                    data: Vec::new(),
                };
                let (raw, hash) = tx.sign(&key).map_err(|e| SendError::Other(e.to_string()))?;
                let hash = to_hex(&hash);
                self.store.record_sweep(CHAIN, &a.address, &hash, 0, now).await?;
                match self.rpc.send_raw(&raw).await {
                    Ok(_) => self.store.set_next_nonce(CHAIN, &hot.to_string(), nonce + 1).await?,
                    Err(e) => {
                        self.store.finish_sweep(&hash, "failed").await?;
                        tracing::warn!(address = %a.address, error = %e, "gas top-up refused; will retry");
                    }
                }
                return Ok(true);
            }
            let key = self.custody.ethereum_deposit_key(a.index).map_err(|e| SendError::Other(e.to_string()))?;
            let tx = Eip1559 {
                chain_id: self.settings.chain_id,
                nonce: self.rpc.pending_nonce(from).await?,
                max_priority_fee_per_gas: tip,
                max_fee_per_gas: max_fee,
                gas_limit: TOKEN_GAS,
                to: *contract,
                value: 0,
                data: erc20::transfer_call(hot, balance),
            };
            let (raw, hash) = tx.sign(&key).map_err(|e| SendError::Other(e.to_string()))?;
            let hash = to_hex(&hash);
            self.store.record_sweep(CHAIN, &a.address, &hash, balance, now).await?;
            if let Err(e) = self.rpc.send_raw(&raw).await {
                self.store.finish_sweep(&hash, "failed").await?;
                tracing::warn!(address = %a.address, asset = %asset, error = %e, "token sweep refused; will retry");
            }
            return Ok(true);
        }
        Ok(false)
    }

    pub async fn run(self, leases: Arc<dyn LeaseStore>, holder: String, stop: tokio::sync::watch::Receiver<bool>) {
        let lease = LeaseLoop::new(LEASE, leases, holder, self.settings.poll).with_clock(self.clock.as_ref());
        lease.run(stop, || self.tick()).await;
    }
}
