//! Chain withdrawals in the ledger: two linked holds from the customer's account — the amount
//! to the bank's `chain_<name>` account and the network fee to `fee_<name>` — placed before
//! anything is signed; captured together when the transaction confirms, voided together when
//! it fails. Holds without a timeout: money in flight on a chain must not release itself.

use crate::{LedgerError, LedgerService};
use pb_domain::identity::caller::Caller;
use pb_domain::ledger::Amount;
use pb_domain::ledger::account::{Account, AccountId};
use pb_domain::ledger::store::{Command, Idempotency, Results};
use pb_domain::ledger::transfer::{TransferFlags, TransferId, TransferRequest};
use std::collections::BTreeMap;

impl LedgerService {
    /// The customer account a withdrawal debits, checked for the caller.
    pub async fn withdrawal_account(&self, caller: &Caller, id: AccountId) -> Result<Account, LedgerError> {
        let a = self.account(caller, id).await?;
        caller.can_move_money(&a.owner)?;
        if a.flags.closed {
            return Err(LedgerError::AccountClosed);
        }
        Ok(a)
    }

    /// Places the holds (one command, under the request's idempotency key). Returns the results
    /// — failures such as insufficient funds are results — and whether they were replayed.
    pub async fn hold_withdrawal(
        &self,
        account: &Account,
        chain: &str,
        amount: Amount,
        fee: u128,
        to_address: &str,
        idem: Idempotency,
    ) -> Result<(Results, bool), LedgerError> {
        let chain_account =
            self.store().system_account(&format!("chain_{chain}"), &account.asset, self.now_ms()).await?;
        let metadata = BTreeMap::from([("to_address".to_owned(), to_address.to_owned())]);
        let hold = |to: AccountId, amount: Amount, code: &str, linked: bool| TransferRequest {
            id: TransferId::new(),
            debit_account_id: account.id,
            credit_account_id: to,
            amount: Some(amount),
            asset: Some(account.asset.clone()),
            code: code.into(),
            flags: TransferFlags { pending: true, linked, ..TransferFlags::default() },
            pending_id: None,
            timeout_ms: None,
            description: Some(format!("{chain} withdrawal")),
            metadata: metadata.clone(),
        };
        let mut requests = Vec::new();
        match Amount::new(fee) {
            Ok(fee) => {
                let fee_account =
                    self.store().system_account(&format!("fee_{chain}"), &account.asset, self.now_ms()).await?;
                requests.push(hold(chain_account.id, amount, "withdrawal", true));
                requests.push(hold(fee_account.id, fee, "withdrawal_fee", false));
            }
            Err(_) => requests.push(hold(chain_account.id, amount, "withdrawal", false)),
        }
        self.submit(Command { idempotency: Some(idem), requests }).await
    }

    /// Captures (confirmed on chain) or voids (failed) a withdrawal's holds, once.
    pub async fn settle_withdrawal(
        &self,
        withdrawal_id: &str,
        holds: &[TransferId],
        capture: bool,
    ) -> Result<(), LedgerError> {
        let mut requests = Vec::new();
        for (i, hold) in holds.iter().enumerate() {
            let (t, _) = self.store().transfer(*hold).await?.ok_or(LedgerError::TransferNotFound)?;
            requests.push(TransferRequest {
                id: TransferId::new(),
                debit_account_id: t.debit_account_id,
                credit_account_id: t.credit_account_id,
                amount: None,
                asset: None,
                code: if capture { "capture".into() } else { "void".into() },
                flags: TransferFlags {
                    post_pending: capture,
                    void_pending: !capture,
                    linked: i + 1 < holds.len(),
                    ..TransferFlags::default()
                },
                pending_id: Some(*hold),
                timeout_ms: None,
                description: None,
                metadata: BTreeMap::from([("withdrawal_id".to_owned(), withdrawal_id.to_owned())]),
            });
        }
        let key = Idempotency {
            owner: "bank".into(),
            key: format!("withdrawal-settle:{withdrawal_id}"),
            fingerprint: withdrawal_id.as_bytes().to_vec(),
        };
        self.submit_all(Command { idempotency: Some(key), requests }).await
    }
}
