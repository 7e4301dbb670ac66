//! Withdrawal requests (issue 5, "Withdrawals"): validate, hold in the ledger, record once.
//! Signing and broadcasting happen in the sender worker (`eth_sender`), never in the request.

use crate::{CustodyError, CustodyService};
use pb_chains::{Chain, EthAddress, SolAddress};
use pb_domain::custody::Withdrawal;
use pb_domain::identity::caller::Caller;
use pb_domain::ledger::Amount;
use pb_domain::ledger::account::AccountId;
use pb_domain::ledger::store::Idempotency;
use pb_ledger::{LedgerError, LedgerService};

/// The rolling window of withdrawal limits.
const DAY_MS: i64 = 86_400_000;
/// How long a request waits for the customer's withdrawal lock, and how long the lock lives if
/// its holder dies.
const LOCK_WAIT_MS: i64 = 5_000;
const LOCK_TTL_MS: i64 = 15_000;

#[derive(Debug, Clone)]
pub struct WithdrawalRequest {
    pub account_id: AccountId,
    pub chain: String,
    pub to_address: String,
    pub amount: Amount,
}

#[derive(Debug, thiserror::Error)]
pub enum WithdrawalError {
    #[error("{0}")]
    Custody(#[from] CustodyError),
    #[error("{0}")]
    Ledger(#[from] LedgerError),
    #[error("{0}")]
    InvalidAddress(String),
    #[error("withdrawals of {0} on this chain are not supported yet")]
    UnsupportedAsset(String),
    #[error("{0}")]
    InvalidAmount(String),
    #[error("this withdrawal would exceed the 24-hour limit of {limit}; {remaining} remains")]
    LimitExceeded { limit: u128, remaining: u128 },
    #[error("another withdrawal for this customer is being placed; retry shortly")]
    Busy,
}

impl CustodyService {
    pub async fn request_withdrawal(
        &self,
        ledger: &LedgerService,
        caller: &Caller,
        req: WithdrawalRequest,
        idem: Idempotency,
    ) -> Result<(Result<Withdrawal, pb_domain::ledger::TransferError>, bool), WithdrawalError> {
        let chain = self.enabled_chain(&req.chain)?;
        let to = match chain {
            Chain::Ethereum => EthAddress::parse(&req.to_address)
                .map_err(|e| WithdrawalError::InvalidAddress(e.to_string()))?
                .to_string(),
            Chain::Solana => SolAddress::parse(&req.to_address)
                .map_err(|e| WithdrawalError::InvalidAddress(e.to_string()))?
                .to_string(),
        };
        let account = ledger.withdrawal_account(caller, req.account_id).await?;
        let asset = account.asset.as_str();
        if !self.supports(chain, asset) {
            return Err(WithdrawalError::UnsupportedAsset(account.asset.to_string()));
        }
        if chain == Chain::Solana {
            self.check_solana_recipient(&to, req.amount).await?;
        }
        let fee = self.withdrawal_fee_for(chain, asset);
        let Some((limits, max)) = self.withdrawal_limits().and_then(|l| l.per_day.get(asset).map(|m| (l, *m))) else {
            return self.place(ledger, &account, chain, to, req.amount, fee, idem).await;
        };
        // One withdrawal at a time per customer while limits are counted, across instances.
        let lock = format!("withdrawal-limit:{}", account.owner);
        let holder = pb_domain::identity::ids::new_id("wl");
        let deadline = self.now_ms() + LOCK_WAIT_MS;
        while !limits
            .leases
            .try_acquire_lease(&lock, &holder, self.now_ms(), LOCK_TTL_MS)
            .await
            .map_err(CustodyError::from)?
        {
            if self.now_ms() > deadline {
                return Err(WithdrawalError::Busy);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let outcome = async {
            // A retry replays its first answer; only a new request counts against the limit.
            if !self.store().idempotency_key_used(&idem.owner, &idem.key).await.map_err(CustodyError::from)? {
                let since = self.now_ms() - DAY_MS;
                let used =
                    self.store().withdrawn_since(&account.owner, asset, since).await.map_err(CustodyError::from)?;
                if used.saturating_add(req.amount.units()) > max {
                    return Err(WithdrawalError::LimitExceeded { limit: max, remaining: max.saturating_sub(used) });
                }
            }
            self.place(ledger, &account, chain, to, req.amount, fee, idem).await
        }
        .await;
        if let Err(e) = limits.leases.release_lease(&lock, &holder).await {
            tracing::warn!(error = %e, "withdrawal limit lock not released; it expires by itself");
        }
        outcome
    }

    /// Places the holds and records the withdrawal for the sender.
    #[allow(clippy::too_many_arguments)]
    async fn place(
        &self,
        ledger: &LedgerService,
        account: &pb_domain::ledger::account::Account,
        chain: Chain,
        to: String,
        amount: Amount,
        fee: u128,
        idem: Idempotency,
    ) -> Result<(Result<Withdrawal, pb_domain::ledger::TransferError>, bool), WithdrawalError> {
        let (results, replayed) = ledger.hold_withdrawal(account, chain.as_str(), amount, fee, &to, idem).await?;
        let mut holds = Vec::new();
        for r in &results {
            match r {
                Ok(t) => holds.push(t.id),
                Err(e) => {
                    // The linked chain reports its cause on one item and `linked_event_failed`
                    // on the other: answer the cause.
                    let cause = results
                        .iter()
                        .filter_map(|r| r.as_ref().err())
                        .find(|e| **e != pb_domain::ledger::TransferError::LinkedEventFailed)
                        .copied()
                        .unwrap_or(*e);
                    return Ok((Err(cause), replayed));
                }
            }
        }
        let first = holds.first().ok_or_else(|| CustodyError::Keys("no hold placed".into()))?;
        let now = self.now_ms();
        let w = Withdrawal {
            id: format!("wd_{}", first.0.simple()),
            owner: account.owner.clone(),
            account_id: account.id.to_api(),
            chain: chain.as_str().to_owned(),
            asset: account.asset.to_string(),
            to_address: to,
            amount: amount.units(),
            fee,
            hold_ids: holds.iter().map(|h| h.to_api()).collect::<Vec<_>>().join(","),
            status: "requested".into(),
            nonce: None,
            raw_tx: None,
            tx_hash: None,
            old_hashes: String::new(),
            max_fee: None,
            tip: None,
            failure: None,
            created_at: now,
            updated_at: now,
        };
        Ok((Ok(self.store().create_withdrawal(&w).await.map_err(CustodyError::from)?), replayed))
    }

    /// Solana moves amounts as u64, and a token sent to a token account's address (rather than
    /// its wallet's) would land in an account nobody can spend from: both are refused up front.
    async fn check_solana_recipient(&self, to: &str, amount: pb_domain::ledger::Amount) -> Result<(), WithdrawalError> {
        if u64::try_from(amount.units()).is_err() {
            return Err(WithdrawalError::InvalidAmount(
                "the amount is larger than Solana can move in one transfer".into(),
            ));
        }
        let (Some(solana), Ok(address)) = (self.solana(), SolAddress::parse(to)) else { return Ok(()) };
        match solana.rpc.account_owner(&address).await {
            Ok(Some(owner)) if owner == pb_chains::sol_programs::token_program().to_string() => Err(
                WithdrawalError::InvalidAddress("that is a token account; give the wallet address that owns it".into()),
            ),
            // Unreachable node: the sender retries later; the address itself is well formed.
            _ => Ok(()),
        }
    }

    pub async fn withdrawal(&self, caller: &Caller, id: &str) -> Result<Withdrawal, CustodyError> {
        let w = self.store().withdrawal(id).await?.ok_or(CustodyError::WithdrawalNotFound)?;
        match caller.can_read(&w.owner) {
            Ok(()) => Ok(w),
            Err(_) => Err(CustodyError::WithdrawalNotFound),
        }
    }

    pub async fn withdrawals(&self, caller: &Caller, limit: u32) -> Result<Vec<Withdrawal>, CustodyError> {
        if self.chains().is_empty() {
            return Err(CustodyError::Disabled);
        }
        Ok(self.store().withdrawals_of(&caller.readable_owners(), limit).await?)
    }
}
