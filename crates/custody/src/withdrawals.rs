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
        let (results, replayed) = ledger.hold_withdrawal(&account, chain.as_str(), req.amount, fee, &to, idem).await?;
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
            amount: req.amount.units(),
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
