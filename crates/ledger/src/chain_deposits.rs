//! Chain deposits into the ledger: the bank's `chain_<name>` account (what the bank holds on
//! that chain) pays the customer's account in the asset, once per deposit — the transfer runs
//! under an idempotency key of the deposit, so a restart or a second watcher credits nothing twice.

use crate::{LedgerError, LedgerService, Single};
use pb_domain::ledger::Amount;
use pb_domain::ledger::account::{Account, AccountFlags, AccountId, Balances};
use pb_domain::ledger::asset::AssetCode;
use pb_domain::ledger::store::{Command, Created, Idempotency};
use pb_domain::ledger::transfer::{TransferFlags, TransferId, TransferRequest};
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct ChainCredit<'a> {
    pub chain: &'a str,
    pub deposit_id: &'a str,
    pub owner: &'a str,
    pub asset: &'a str,
    pub amount: Amount,
    pub tx_hash: &'a str,
}

impl LedgerService {
    /// The owner's oldest open account in `asset`, opened ("<ASSET> account") if they have none.
    async fn account_for_deposits(&self, owner: &str, asset: &AssetCode) -> Result<AccountId, LedgerError> {
        let existing = self.store().accounts_of(&[owner.to_owned()], None, 1000).await?;
        if let Some(a) = existing.iter().find(|a| a.asset == *asset && !a.flags.closed && a.parent_id.is_none()) {
            return Ok(a.id);
        }
        let account = Account {
            id: AccountId::new(),
            asset: asset.clone(),
            owner: owner.to_owned(),
            code: "customer".into(),
            name: format!("{asset} account"),
            parent_id: None,
            flags: AccountFlags { debits_must_not_exceed_credits: true, ..AccountFlags::default() },
            balances: Balances::default(),
            created_at: self.now_ms(),
            last_seq: None,
        };
        // Keyed, so two watchers racing here open one account.
        let key = Idempotency {
            owner: "bank".into(),
            key: format!("deposit-account:{owner}:{asset}"),
            fingerprint: format!("{owner}:{asset}").into_bytes(),
        };
        match self.store().create_account(account, Some(key)).await? {
            Created::New(a) | Created::Replayed(a) => Ok(a.id),
            Created::KeyReused => Err(LedgerError::KeyReused),
        }
    }

    /// Credits a confirmed chain deposit. Safe to call again for the same deposit.
    pub async fn credit_chain_deposit(&self, c: ChainCredit<'_>) -> Result<Single, LedgerError> {
        let asset =
            self.assets().get(c.asset).ok_or_else(|| LedgerError::UnknownAsset(c.asset.to_owned()))?.code.clone();
        let to = self.account_for_deposits(c.owner, &asset).await?;
        let from = self.store().system_account(&format!("chain_{}", c.chain), &asset, self.now_ms()).await?;
        let request = TransferRequest {
            id: TransferId::new(),
            debit_account_id: from.id,
            credit_account_id: to,
            amount: Some(c.amount),
            asset: Some(asset),
            code: "deposit".into(),
            flags: TransferFlags::default(),
            pending_id: None,
            timeout_ms: None,
            description: Some(format!("{} deposit", c.chain)),
            metadata: BTreeMap::from([
                ("deposit_id".to_owned(), c.deposit_id.to_owned()),
                ("tx_hash".to_owned(), c.tx_hash.to_owned()),
            ]),
        };
        let key = Idempotency {
            owner: "bank".into(),
            key: format!("deposit:{}", c.deposit_id),
            fingerprint: c.deposit_id.as_bytes().to_vec(),
        };
        Ok(self.submit_one(Command { idempotency: Some(key), requests: vec![request] }).await?.0)
    }
}

impl LedgerService {
    /// A credited deposit whose block left the chain: the bank no longer holds what it credited.
    /// The customer's credit stands (never reversed silently); the shortfall moves from the
    /// `chain_<name>` account to `suspense_<name>`, so the books match the chain again and the
    /// suspense balance is the open exposure staff must resolve (recover, or write off by
    /// adjustment). Once per deposit.
    pub async fn suspend_reorged_deposit(&self, c: ChainCredit<'_>) -> Result<(), LedgerError> {
        let asset =
            self.assets().get(c.asset).ok_or_else(|| LedgerError::UnknownAsset(c.asset.to_owned()))?.code.clone();
        let now = self.now_ms();
        let suspense = self.store().system_account(&format!("suspense_{}", c.chain), &asset, now).await?;
        let holdings = self.store().system_account(&format!("chain_{}", c.chain), &asset, now).await?;
        let request = TransferRequest {
            id: TransferId::new(),
            debit_account_id: suspense.id,
            credit_account_id: holdings.id,
            amount: Some(c.amount),
            asset: Some(asset),
            code: "reorg_suspense".into(),
            flags: TransferFlags::default(),
            pending_id: None,
            timeout_ms: None,
            description: Some(format!("{} deposit reorganised away after credit", c.chain)),
            metadata: BTreeMap::from([
                ("deposit_id".to_owned(), c.deposit_id.to_owned()),
                ("tx_hash".to_owned(), c.tx_hash.to_owned()),
                ("owner".to_owned(), c.owner.to_owned()),
            ]),
        };
        let key = Idempotency {
            owner: "bank".into(),
            key: format!("reorg:{}", c.deposit_id),
            fingerprint: c.deposit_id.as_bytes().to_vec(),
        };
        self.submit_all(Command { idempotency: Some(key), requests: vec![request] }).await
    }
}
