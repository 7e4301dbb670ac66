//! The Solana withdrawal sender (one instance at a time, by lease). A requested withdrawal is
//! signed by the hot wallet against a recent blockhash and stored before it is sent (a crash
//! re-sends the same bytes). Solana has no nonces: a transaction is valid until its blockhash's
//! `lastValidBlockHeight` (kept in the withdrawal's `nonce` field), so an unseen transaction is
//! re-sent until then, and only once that height has passed — when it can never land — is it
//! signed again with a fresh blockhash (the Solana form of replacing a stuck transaction). Any of
//! its signatures may be the one that landed. Confirmed `confirmations` slots deep → capture the
//! holds; failed on chain or refused by the node's simulation → void them.

use crate::CustodyService;
use crate::settlement::Settlement;
use crate::{SendError, SolToken};
use base64::Engine as _;
use pb_chains::SolAddress;
use pb_chains::jsonrpc::RpcError;
use pb_chains::sol_programs::{
    LAMPORTS_PER_SIGNATURE, TOKEN_ACCOUNT_LEN, associated_token_address, create_associated_token_account, memo,
    system_transfer, token_transfer_checked,
};
use pb_chains::sol_rpc::SolRpc;
use pb_chains::sol_tx::{Instruction, SolKeypair, sign};
use pb_domain::custody::{CustodyStore, Withdrawal};
use pb_domain::{Clock, LeaseStore};
use pb_ledger::{LeaseLoop, LedgerService};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CHAIN: &str = "solana";
pub const LEASE: &str = "withdrawal-sender-solana";
/// Blocks a blockhash stays valid for (the runtime's MAX_PROCESSING_AGE).
const MAX_BLOCKHASH_AGE: u64 = 150;
/// Below this many lamports a deposit address is not worth a sweep (it pays one signature).
const SWEEP_MIN_LAMPORTS: u64 = 4 * LAMPORTS_PER_SIGNATURE;

#[derive(Debug, Clone)]
pub struct SolSenderSettings {
    pub confirmations: u64,
    pub poll: Duration,
}

pub struct SolSender {
    pub rpc: SolRpc,
    pub store: Arc<dyn CustodyStore>,
    pub custody: Arc<CustodyService>,
    pub ledger: Arc<LedgerService>,
    pub clock: Arc<dyn Clock>,
    pub settings: SolSenderSettings,
    /// Open sweeps' last valid block heights: an open sweep the node does not know is given up
    /// (and the address swept again) only once it can no longer land.
    pub sweeps: Mutex<HashMap<String, u64>>,
}

impl std::fmt::Debug for SolSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SolSender").field("settings", &self.settings).finish_non_exhaustive()
    }
}

/// A refusal from the node's preflight simulation that no retry fixes (an empty hot wallet, a
/// recipient below rent exemption): the withdrawal fails and its holds are voided. An unknown
/// blockhash is not one of them: the transaction is simply re-signed later.
fn permanent(e: &RpcError) -> bool {
    match e {
        RpcError::Node { code: -32002, message, .. } => !message.to_ascii_lowercase().contains("blockhash not found"),
        _ => false,
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn other(e: impl std::fmt::Display) -> SendError {
    SendError::Other(e.to_string())
}

impl SolSender {
    fn hot(&self) -> Result<SolKeypair, SendError> {
        self.custody.solana_hot_keypair().map_err(other)
    }

    fn token(&self, asset: &str) -> Option<SolToken> {
        self.custody.sol_token(asset).cloned()
    }

    /// What a landed transaction cost the bank beyond the SOL it meant to send out: the fee, and
    /// rent for any token account it created — the lamports that left `bank_accounts` (the hot
    /// wallet, and a deposit address in a sweep) less `sent_out`. Ledgered once per signature.
    async fn record_cost(&self, signature: &str, bank_accounts: &[String], sent_out: u64) -> Result<(), SendError> {
        let Some(tx) = self.rpc.transaction(signature).await? else { return Ok(()) };
        let mut spent: i128 = 0;
        for (i, key) in tx.account_keys.iter().enumerate() {
            if bank_accounts.contains(key) {
                let pre = i128::from(tx.pre_balances.get(i).copied().unwrap_or(0));
                let post = i128::from(tx.post_balances.get(i).copied().unwrap_or(0));
                spent += pre - post;
            }
        }
        if let Ok(cost) = u128::try_from(spent - i128::from(sent_out)) {
            self.ledger.record_network_gas(CHAIN, "SOL", signature, cost).await.map_err(other)?;
        }
        Ok(())
    }

    /// The SOL a withdrawal moves out of the hot wallet itself (0 for tokens).
    fn lamports_sent(&self, w: &Withdrawal) -> u64 {
        if w.asset == "SOL" { u64::try_from(w.amount).unwrap_or(0) } else { 0 }
    }

    fn settlement(&self) -> Settlement<'_> {
        Settlement { chain: CHAIN, ledger: &self.ledger, store: self.store.as_ref(), clock: self.clock.as_ref() }
    }

    async fn fail(&self, w: Withdrawal, from_status: &str, code: &str, detail: String) -> Result<(), SendError> {
        self.settlement().failed(w, from_status, code, detail).await
    }

    fn instructions(&self, w: &Withdrawal, hot: &SolKeypair) -> Result<Vec<Instruction>, SendError> {
        let to = SolAddress::parse(&w.to_address).map_err(other)?;
        let amount = u64::try_from(w.amount).map_err(other)?;
        let mut out = match self.token(&w.asset) {
            // The recipient's token account is created if missing (the hot wallet pays its rent).
            Some(t) => vec![
                create_associated_token_account(hot.address(), to, t.mint),
                token_transfer_checked(
                    associated_token_address(&hot.address(), &t.mint),
                    t.mint,
                    associated_token_address(&to, &t.mint),
                    hot.address(),
                    amount,
                    t.decimals,
                ),
            ],
            None => vec![system_transfer(hot.address(), to, amount)],
        };
        out.push(memo(&w.id));
        Ok(out)
    }

    /// Signs `w` against a fresh blockhash; the caller stores it before sending.
    async fn sign(&self, w: &mut Withdrawal) -> Result<(), SendError> {
        let hot = self.hot()?;
        let instructions = self.instructions(w, &hot)?;
        let (blockhash, last_valid) = self.rpc.latest_blockhash().await?;
        let signed = sign(&hot, &[], &instructions, &blockhash).map_err(other)?;
        if let Some(old) = w.tx_hash.take() {
            w.old_hashes = [w.old_hashes.as_str(), old.as_str()]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(",");
        }
        w.raw_tx = Some(b64(&signed.bytes));
        w.tx_hash = Some(signed.signature);
        w.nonce = Some(last_valid);
        w.updated_at = self.clock.now_ms();
        Ok(())
    }

    async fn send_stored(&self, w: &Withdrawal) -> Result<(), RpcError> {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(w.raw_tx.as_deref().unwrap_or_default())
            .map_err(|e| RpcError::Malformed { chain: CHAIN, detail: e.to_string() })?;
        self.rpc.send(&raw).await.map(|_| ())
    }

    /// Whether the cluster has this signature (landed, successfully or not).
    async fn landed(&self, signature: Option<&str>) -> Result<bool, SendError> {
        let Some(sig) = signature else { return Ok(false) };
        Ok(self.rpc.signature_statuses(&[sig.to_owned()]).await?.pop().flatten().is_some())
    }

    async fn broadcast(&self, mut w: Withdrawal) -> Result<(), SendError> {
        match self.send_stored(&w).await {
            // A refusal is final only if the transaction did not land already (sent before a
            // crash: the node's simulation then says it "has already been processed").
            Err(e) if permanent(&e) && !self.landed(w.tx_hash.as_deref()).await? => {
                return self.fail(w, "signed", "network_refused", e.to_string()).await;
            }
            // Anything else: tracked as sent; re-sent until its blockhash expires, then re-signed.
            Err(e) => tracing::warn!(withdrawal = %w.id, error = %e, "withdrawal send failed; will re-send"),
            Ok(()) => {}
        }
        w.status = "broadcast".into();
        w.updated_at = self.clock.now_ms();
        self.store.update_withdrawal(&w, "signed").await?;
        tracing::info!(withdrawal = %w.id, signature = w.tx_hash.as_deref().unwrap_or(""), "withdrawal broadcast");
        Ok(())
    }

    /// One pass: send signed ones, sign and send requested ones, track broadcast ones, sweep.
    pub async fn tick(&self) -> Result<(), SendError> {
        for w in self.store.withdrawals_with_status(CHAIN, "signed", 100).await? {
            self.broadcast(w).await?;
        }
        for mut w in self.store.withdrawals_with_status(CHAIN, "requested", 100).await? {
            if let Err(e) = self.sign(&mut w).await {
                if matches!(e, SendError::Other(_)) {
                    // Not representable on Solana (checked at request; defensive).
                    self.fail(w, "requested", "network_refused", e.to_string()).await?;
                    continue;
                }
                return Err(e);
            }
            w.status = "signed".into();
            if self.store.update_withdrawal(&w, "requested").await? {
                self.broadcast(w).await?;
            }
        }
        let hot = self.hot()?.address().to_string();
        let slot = self.rpc.slot().await?;
        let height = self.rpc.block_height().await?;
        let now = self.clock.now_ms();
        let mut oldest_pending_ms: i64 = 0;
        for mut w in self.store.withdrawals_with_status(CHAIN, "broadcast", 500).await? {
            let current = w.tx_hash.clone().unwrap_or_default();
            let signatures: Vec<String> = std::iter::once(current.clone())
                .chain(w.old_hashes.split(',').filter(|s| !s.is_empty()).map(str::to_owned))
                .collect();
            let statuses = self.rpc.signature_statuses(&signatures).await?;
            let landed = signatures.iter().zip(statuses).find_map(|(sig, s)| s.map(|s| (sig.clone(), s)));
            match landed {
                Some((sig, s)) if s.failed => {
                    self.record_cost(&sig, std::slice::from_ref(&hot), 0).await?;
                    w.tx_hash = Some(sig.clone());
                    self.fail(w, "broadcast", "reverted", format!("transaction {sig} failed on chain")).await?;
                }
                Some((sig, s)) if slot + 1 >= s.slot + self.settings.confirmations => {
                    self.record_cost(&sig, std::slice::from_ref(&hot), self.lamports_sent(&w)).await?;
                    self.settlement().confirmed(w, sig).await?;
                }
                Some(_) => {}
                None if height > w.nonce.unwrap_or(0) => {
                    // Expired unseen: it can never land now, so a fresh signature is safe.
                    self.sign(&mut w).await?;
                    if self.store.update_withdrawal(&w, "broadcast").await? {
                        tracing::warn!(withdrawal = %w.id, "withdrawal expired unseen; signed again with a new blockhash");
                        if let Err(e) = self.send_stored(&w).await {
                            tracing::warn!(withdrawal = %w.id, error = %e, "re-send failed; will retry");
                        }
                    }
                }
                None => {
                    // Nodes drop transactions under load: send the same bytes again until expiry.
                    let _ = self.send_stored(&w).await;
                    oldest_pending_ms = oldest_pending_ms.max(now - w.created_at);
                }
            }
        }
        metrics::gauge!("withdrawal_oldest_pending_seconds", "chain" => CHAIN).set((oldest_pending_ms / 1000) as f64);
        self.sweep(height).await
    }

    /// Moves credited deposits into the hot wallet. SOL: the deposit address pays its own fee
    /// and sends the rest, so sweeps work with an empty hot wallet. Tokens: the hot wallet pays
    /// the fee (and, the first time, its own token account's rent) once it holds enough SOL; the
    /// deposit address co-signs as the tokens' owner.
    async fn sweep(&self, height: u64) -> Result<(), SendError> {
        let hot = self.hot()?;
        let tokens = self.custody.solana().map(|s| s.tokens.clone()).unwrap_or_default();
        for a in self.store.funded_deposit_addresses(CHAIN).await? {
            if let Some(sig) = self.store.open_sweep(CHAIN, &a.address).await? {
                let status = self.rpc.signature_statuses(std::slice::from_ref(&sig)).await?.pop().flatten();
                // Unknown here (signed before a restart): its blockhash was at most 150 blocks old
                // then, so it cannot land after another 150 blocks from now.
                let valid_until = self
                    .sweeps
                    .lock()
                    .map(|mut m| *m.entry(sig.clone()).or_insert(height + MAX_BLOCKHASH_AGE))
                    .unwrap_or(u64::MAX);
                match status {
                    Some(s) => {
                        self.record_cost(&sig, &[hot.address().to_string(), a.address.clone()], 0).await?;
                        self.store.finish_sweep(&sig, if s.failed { "failed" } else { "confirmed" }).await?;
                        metrics::counter!("chain_sweeps_total", "chain" => CHAIN).increment(1);
                    }
                    None if height > valid_until => self.store.finish_sweep(&sig, "failed").await?,
                    None => continue,
                }
                if let Ok(mut m) = self.sweeps.lock() {
                    m.remove(&sig);
                }
            }
            let owner = SolAddress::parse(&a.address).map_err(other)?;
            let key = self.custody.solana_deposit_keypair(a.index).map_err(other)?;
            let (payer, instructions, lamports) = match self.token_sweep(&hot, &owner, &tokens).await? {
                Some(ixs) => (&hot, ixs, 0),
                None => {
                    let balance = self.rpc.balance(&owner).await?;
                    if balance < SWEEP_MIN_LAMPORTS {
                        continue;
                    }
                    let lamports = balance - LAMPORTS_PER_SIGNATURE;
                    (&key, vec![system_transfer(owner, hot.address(), lamports)], lamports)
                }
            };
            let others: Vec<&SolKeypair> = if payer.address() == hot.address() { vec![&key] } else { Vec::new() };
            let (blockhash, last_valid) = self.rpc.latest_blockhash().await?;
            let signed = sign(payer, &others, &instructions, &blockhash).map_err(other)?;
            // Recorded first: a crash after sending still finds and settles the sweep.
            self.store
                .record_sweep(CHAIN, &a.address, &signed.signature, u128::from(lamports), self.clock.now_ms())
                .await?;
            if let Ok(mut m) = self.sweeps.lock() {
                m.insert(signed.signature.clone(), last_valid);
            }
            if let Err(e) = self.rpc.send(&signed.bytes).await {
                self.store.finish_sweep(&signed.signature, "failed").await?;
                tracing::warn!(address = %a.address, error = %e, "sweep refused; will retry");
            }
        }
        Ok(())
    }

    /// The instructions sweeping one token balance of `owner`, if it holds any and the hot
    /// wallet can pay for it (fee, its token account's rent if missing, and its own rent).
    async fn token_sweep(
        &self,
        hot: &SolKeypair,
        owner: &SolAddress,
        tokens: &[SolToken],
    ) -> Result<Option<Vec<Instruction>>, SendError> {
        for t in tokens {
            let from = associated_token_address(owner, &t.mint);
            let Some(balance) = self.rpc.token_account_balance(&from).await?.filter(|b| *b > 0) else { continue };
            let to = associated_token_address(&hot.address(), &t.mint);
            let mut needed = 2 * LAMPORTS_PER_SIGNATURE + self.rpc.minimum_balance_for_rent_exemption(0).await?;
            if self.rpc.token_account_balance(&to).await?.is_none() {
                needed += self.rpc.minimum_balance_for_rent_exemption(TOKEN_ACCOUNT_LEN).await?;
            }
            if self.rpc.balance(&hot.address()).await? < needed {
                tracing::info!(asset = %t.asset, "token sweep waits for SOL in the hot wallet to pay its fee");
                return Ok(None);
            }
            return Ok(Some(vec![
                create_associated_token_account(hot.address(), hot.address(), t.mint),
                token_transfer_checked(from, t.mint, to, *owner, balance, t.decimals),
            ]));
        }
        Ok(None)
    }

    pub async fn run(self, leases: Arc<dyn LeaseStore>, holder: String, stop: tokio::sync::watch::Receiver<bool>) {
        let lease = LeaseLoop::new(LEASE, leases, holder, self.settings.poll).with_clock(self.clock.as_ref());
        lease.run(stop, || self.tick()).await;
    }
}
