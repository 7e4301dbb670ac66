//! Ledger use cases with authorization: a caller moves money only out of accounts whose owner
//! they may move money for, and sees only accounts and transfers they may read.

use crate::LedgerError;
use crate::account_facts::AccountFacts;
use crate::batcher::Batcher;
use pb_domain::identity::caller::{Caller, Denied};
use pb_domain::identity::email::EmailAddress;
use pb_domain::identity::store::IdentityStore;
use pb_domain::ledger::Amount;
use pb_domain::ledger::account::{Account, AccountFlags, AccountId, Balances};
use pb_domain::ledger::asset::AssetRegistry;
use pb_domain::ledger::engine::PendingState;
use pb_domain::ledger::store::{
    AdjustmentStore, CloseOutcome, Command, CommandOutcome, Created, Idempotency, LedgerStore, Results,
};
use pb_domain::ledger::transfer::{Transfer, TransferFlags, TransferId, TransferRequest};
use pb_domain::ledger::verify::{VerifyReport, verify};
use pb_domain::{Clock, Environment};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One transfer's outcome: a failure (insufficient funds, …) is an outcome too, stored and
/// replayed under its idempotency key.
pub type Single = Result<Transfer, pb_domain::ledger::transfer::TransferError>;

pub const MAX_BATCH_ITEMS: usize = 1000;
const MAX_METADATA_KEYS: usize = 50;

#[derive(Debug, Clone)]
pub struct NewAccount {
    /// `None`: the caller; or a business the caller may move money for.
    pub owner: Option<String>,
    pub asset: String,
    pub name: String,
    pub parent_id: Option<AccountId>,
}

#[derive(Debug, Clone)]
pub enum Recipient {
    Account(AccountId),
    /// The recipient's oldest open account in the transfer's asset.
    Email(EmailAddress),
}

#[derive(Debug, Clone)]
pub struct TransferInput {
    pub from: AccountId,
    pub to: Recipient,
    pub amount: Amount,
    pub description: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// Place a hold that voids itself after this many seconds unless captured.
    pub hold_timeout_seconds: Option<u32>,
}

pub struct LedgerService {
    store: Arc<dyn LedgerStore>,
    facts: AccountFacts,
    adjustments: Arc<dyn AdjustmentStore>,
    identity: Arc<dyn IdentityStore>,
    batcher: Batcher,
    clock: Arc<dyn Clock>,
    assets: AssetRegistry,
    environment: Environment,
}

impl std::fmt::Debug for LedgerService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerService").field("environment", &self.environment).finish_non_exhaustive()
    }
}

fn clean_text(field: &'static str, s: &str, max: usize) -> Result<String, LedgerError> {
    let s = s.trim();
    if s.chars().count() > max || s.chars().any(char::is_control) {
        return Err(LedgerError::invalid(field, format!("at most {max} characters, without control characters")));
    }
    Ok(s.to_owned())
}

pub fn check_metadata(m: &BTreeMap<String, String>) -> Result<(), LedgerError> {
    if m.len() > MAX_METADATA_KEYS {
        return Err(LedgerError::invalid("metadata", format!("at most {MAX_METADATA_KEYS} keys")));
    }
    if m.iter().any(|(k, v)| k.is_empty() || k.chars().count() > 40 || v.chars().count() > 500) {
        return Err(LedgerError::invalid("metadata", "keys 1 to 40 characters, values at most 500"));
    }
    Ok(())
}

impl LedgerService {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Arc<dyn LedgerStore>,
        adjustments: Arc<dyn AdjustmentStore>,
        identity: Arc<dyn IdentityStore>,
        batcher: Batcher,
        clock: Arc<dyn Clock>,
        assets: AssetRegistry,
        environment: Environment,
    ) -> Self {
        Self { store, facts: Default::default(), adjustments, identity, batcher, clock, assets, environment }
    }

    pub fn assets(&self) -> &AssetRegistry {
        &self.assets
    }

    pub fn store(&self) -> &dyn LedgerStore {
        self.store.as_ref()
    }

    pub(crate) fn adjustment_store(&self) -> &dyn AdjustmentStore {
        self.adjustments.as_ref()
    }

    pub(crate) fn identity(&self) -> &dyn IdentityStore {
        self.identity.as_ref()
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Every balance change goes through here: this instance's batcher, one command.
    pub(crate) async fn submit(&self, command: Command) -> Result<(Results, bool), LedgerError> {
        match self.batcher.submit(command).await? {
            CommandOutcome::Executed(r) => Ok((r, false)),
            CommandOutcome::Replayed(r) => Ok((r, true)),
            CommandOutcome::KeyReused => Err(LedgerError::KeyReused),
        }
    }

    /// A one-transfer command's result (and whether it was replayed).
    pub(crate) async fn submit_one(&self, command: Command) -> Result<(Single, bool), LedgerError> {
        let (mut results, replayed) = self.submit(command).await?;
        let result =
            results.pop().ok_or_else(|| LedgerError::Store(pb_domain::StoreError::Other("empty result".into())))?;
        Ok((result, replayed))
    }

    /// A bank-internal command whose transfers must all succeed (settlements, gas).
    pub(crate) async fn submit_all(&self, command: Command) -> Result<(), LedgerError> {
        let (results, _) = self.submit(command).await?;
        match results.into_iter().find_map(Result::err) {
            None => Ok(()),
            Some(e) => Err(LedgerError::Transfer(e)),
        }
    }

    /// Owner and asset of an account the caller may read, from the cache when known.
    async fn facts(
        &self,
        caller: &Caller,
        id: AccountId,
    ) -> Result<(String, pb_domain::ledger::AssetCode), LedgerError> {
        let (owner, asset) = self.facts.of(self.store.as_ref(), id).await?.ok_or(LedgerError::AccountNotFound)?;
        match caller.can_read(&owner) {
            Ok(()) => Ok((owner, asset)),
            Err(Denied::NotFound) => Err(LedgerError::AccountNotFound),
            Err(d) => Err(d.into()),
        }
    }

    /// The owner of an account named by the journal (for its events; no caller involved).
    pub(crate) async fn owner_of(&self, id: AccountId) -> Result<String, LedgerError> {
        let facts = self.facts.of(self.store.as_ref(), id).await?;
        facts.map(|(owner, _)| owner).ok_or(LedgerError::AccountNotFound)
    }

    /// An account the caller may read; a foreign one is "not found".
    pub async fn account(&self, caller: &Caller, id: AccountId) -> Result<Account, LedgerError> {
        let a = self.store.account(id).await?.ok_or(LedgerError::AccountNotFound)?;
        match caller.can_read(&a.owner) {
            Ok(()) => Ok(a),
            Err(Denied::NotFound) => Err(LedgerError::AccountNotFound),
            Err(d) => Err(d.into()),
        }
    }

    pub async fn accounts(
        &self,
        caller: &Caller,
        starting_after: Option<AccountId>,
        limit: u32,
    ) -> Result<Vec<Account>, LedgerError> {
        let owners = caller.readable_owners();
        for o in &owners {
            caller.can_read(o)?;
        }
        Ok(self.store.accounts_of(&owners, starting_after, limit).await?)
    }

    pub async fn open_account(
        &self,
        caller: &Caller,
        new: NewAccount,
        idem: Idempotency,
    ) -> Result<(Account, bool), LedgerError> {
        let owner = match new.owner {
            Some(o) => o,
            None => caller
                .user_id()
                .map(str::to_owned)
                .or_else(|| caller.readable_owners().into_iter().next())
                .ok_or(Denied::Forbidden)?,
        };
        match caller.can_move_money(&owner) {
            Ok(()) => {}
            Err(Denied::NotFound) => {
                return Err(LedgerError::invalid("owner", "you cannot open accounts for this owner"));
            }
            Err(d) => return Err(d.into()),
        }
        let asset = self.assets.get(&new.asset).ok_or_else(|| LedgerError::UnknownAsset(new.asset.clone()))?;
        let name = clean_text("name", &new.name, 100)?;
        if let Some(parent) = new.parent_id {
            let p = self
                .store
                .account(parent)
                .await?
                .filter(|p| p.owner == owner)
                .ok_or_else(|| LedgerError::invalid("parent_id", "no such account of this owner"))?;
            if p.flags.closed {
                return Err(LedgerError::invalid("parent_id", "the parent account is closed"));
            }
            if p.parent_id.is_some() {
                return Err(LedgerError::invalid("parent_id", "sub-accounts cannot have sub-accounts"));
            }
        }
        let account = Account {
            id: AccountId::new(),
            asset: asset.code.clone(),
            owner,
            code: "customer".into(),
            name: if name.is_empty() { format!("{} account", asset.code) } else { name },
            parent_id: new.parent_id,
            flags: AccountFlags { debits_must_not_exceed_credits: true, ..AccountFlags::default() },
            balances: Balances::default(),
            created_at: self.clock.now_ms(),
            last_seq: None,
        };
        match self.store.create_account(account, Some(idem)).await? {
            Created::New(a) => Ok((a, false)),
            Created::Replayed(a) => Ok((a, true)),
            Created::KeyReused => Err(LedgerError::KeyReused),
        }
    }

    pub async fn close_account(&self, caller: &Caller, id: AccountId) -> Result<Account, LedgerError> {
        let a = self.account(caller, id).await?;
        caller.can_move_money(&a.owner)?;
        match self.store.close_account(id).await? {
            CloseOutcome::Closed(a) => Ok(*a),
            CloseOutcome::NotEmpty => Err(LedgerError::AccountNotEmpty),
            CloseOutcome::AlreadyClosed => Err(LedgerError::AccountClosed),
            CloseOutcome::NotFound => Err(LedgerError::AccountNotFound),
        }
    }

    async fn recipient(&self, to: &Recipient, asset: &str) -> Result<AccountId, LedgerError> {
        match to {
            Recipient::Account(id) => Ok(*id),
            Recipient::Email(email) => {
                let not_found = || LedgerError::RecipientNotFound { asset: asset.to_owned() };
                let user = self.identity.user_by_email(&email.normalized()).await?.ok_or_else(not_found)?;
                let accounts = self.store.accounts_of(&[user.id], None, 100).await?;
                accounts
                    .into_iter()
                    .find(|a| a.asset.as_str() == asset && !a.flags.closed)
                    .map(|a| a.id)
                    .ok_or_else(not_found)
            }
        }
    }

    /// Builds the request for one transfer out of an account the caller may move money from.
    async fn request(
        &self,
        caller: &Caller,
        input: &TransferInput,
        linked: bool,
    ) -> Result<TransferRequest, LedgerError> {
        let (owner, asset) = self.facts(caller, input.from).await?;
        caller.can_move_money(&owner)?;
        check_metadata(&input.metadata)?;
        // A blank description is none, not an empty one: the journal and the API say "absent" one way.
        let description = input
            .description
            .as_deref()
            .map(|d| clean_text("description", d, 500))
            .transpose()?
            .filter(|d| !d.is_empty());
        let to = self.recipient(&input.to, asset.as_str()).await?;
        Ok(TransferRequest {
            id: TransferId::new(),
            debit_account_id: input.from,
            credit_account_id: to,
            amount: Some(input.amount),
            asset: Some(asset),
            code: "p2p".into(),
            flags: TransferFlags { pending: input.hold_timeout_seconds.is_some(), linked, ..TransferFlags::default() },
            pending_id: None,
            timeout_ms: input.hold_timeout_seconds.map(|s| i64::from(s) * 1000),
            description,
            metadata: input.metadata.clone(),
        })
    }

    /// One transfer (or hold). Returns the result and whether it was replayed.
    pub async fn transfer(
        &self,
        caller: &Caller,
        input: TransferInput,
        idem: Idempotency,
    ) -> Result<(Single, bool), LedgerError> {
        let request = self.request(caller, &input, false).await?;
        self.submit_one(Command { idempotency: Some(idem), requests: vec![request] }).await
    }

    /// Many transfers; `atomic` links them so all succeed or none does.
    pub async fn batch(
        &self,
        caller: &Caller,
        inputs: Vec<TransferInput>,
        atomic: bool,
        idem: Idempotency,
    ) -> Result<(Results, bool), LedgerError> {
        if inputs.is_empty() || inputs.len() > MAX_BATCH_ITEMS {
            return Err(LedgerError::invalid("transfers", format!("give 1 to {MAX_BATCH_ITEMS} transfers")));
        }
        let mut requests = Vec::with_capacity(inputs.len());
        let last = inputs.len() - 1;
        for (i, input) in inputs.iter().enumerate() {
            requests.push(self.request(caller, input, atomic && i < last).await?);
        }
        self.submit(Command { idempotency: Some(idem), requests }).await
    }

    /// Captures (all or part of) or voids a hold. Either party to the hold may resolve it.
    pub async fn resolve(
        &self,
        caller: &Caller,
        hold: TransferId,
        capture: Option<Option<Amount>>,
        idem: Idempotency,
    ) -> Result<(Single, bool), LedgerError> {
        let (t, _) = self.visible_transfer(caller, hold).await?;
        let debit = self.store.account(t.debit_account_id).await?.ok_or(LedgerError::AccountNotFound)?;
        let credit = self.store.account(t.credit_account_id).await?.ok_or(LedgerError::AccountNotFound)?;
        if caller.can_move_money(&debit.owner).is_err() {
            caller.can_move_money(&credit.owner)?;
        }
        let request = TransferRequest {
            id: TransferId::new(),
            debit_account_id: t.debit_account_id,
            credit_account_id: t.credit_account_id,
            amount: capture.flatten(),
            asset: None,
            code: if capture.is_some() { "capture".into() } else { "void".into() },
            flags: TransferFlags {
                post_pending: capture.is_some(),
                void_pending: capture.is_none(),
                ..TransferFlags::default()
            },
            pending_id: Some(hold),
            timeout_ms: None,
            description: None,
            metadata: BTreeMap::new(),
        };
        self.submit_one(Command { idempotency: Some(idem), requests: vec![request] }).await
    }

    async fn visible_transfer(
        &self,
        caller: &Caller,
        id: TransferId,
    ) -> Result<(Transfer, Option<PendingState>), LedgerError> {
        let (t, state) = self.store.transfer(id).await?.ok_or(LedgerError::TransferNotFound)?;
        for side in [t.debit_account_id, t.credit_account_id] {
            if let Some(a) = self.store.account(side).await?
                && caller.can_read(&a.owner).is_ok()
            {
                return Ok((t, state));
            }
        }
        Err(LedgerError::TransferNotFound)
    }

    pub async fn get_transfer(
        &self,
        caller: &Caller,
        id: TransferId,
    ) -> Result<(Transfer, Option<PendingState>), LedgerError> {
        self.visible_transfer(caller, id).await
    }

    pub async fn history(
        &self,
        caller: &Caller,
        account: AccountId,
        starting_after: Option<TransferId>,
        limit: u32,
    ) -> Result<Vec<Transfer>, LedgerError> {
        self.account(caller, account).await?;
        Ok(self.store.account_transfers(account, starting_after, limit).await?)
    }

    /// Development only: money from the sandbox's "outside world" into the caller's account.
    pub async fn sandbox_deposit(
        &self,
        caller: &Caller,
        account: AccountId,
        amount: Amount,
        idem: Idempotency,
    ) -> Result<(Single, bool), LedgerError> {
        if !self.environment.sandbox_allowed() {
            return Err(Denied::Forbidden.into());
        }
        let to = self.account(caller, account).await?;
        let world = self.store.system_account("sandbox_world", &to.asset, self.clock.now_ms()).await?;
        let request = TransferRequest {
            id: TransferId::new(),
            debit_account_id: world.id,
            credit_account_id: to.id,
            amount: Some(amount),
            asset: Some(to.asset.clone()),
            code: "sandbox_deposit".into(),
            flags: TransferFlags::default(),
            pending_id: None,
            timeout_ms: None,
            description: Some("Sandbox deposit".into()),
            metadata: BTreeMap::new(),
        };
        self.submit_one(Command { idempotency: Some(idem), requests: vec![request] }).await
    }

    /// Forgets up to `limit` Idempotency-Keys taken more than `retention` ago; returns how many.
    pub async fn forget_idempotency_keys(
        &self,
        retention: std::time::Duration,
        limit: u32,
    ) -> Result<u64, LedgerError> {
        let retention_ms = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
        Ok(self.store.forget_idempotency_keys(self.clock.now_ms().saturating_sub(retention_ms), limit).await?)
    }

    /// Voids holds past their timeout. Returns how many were voided.
    pub async fn void_expired(&self, limit: u32) -> Result<usize, LedgerError> {
        let expired = self.store.expired_pending(self.clock.now_ms(), limit).await?;
        let mut voided = 0;
        for id in expired {
            let (t, _) = self.store.transfer(id).await?.ok_or(LedgerError::TransferNotFound)?;
            let request = TransferRequest {
                id: TransferId::new(),
                debit_account_id: t.debit_account_id,
                credit_account_id: t.credit_account_id,
                amount: None,
                asset: None,
                code: "expiry".into(),
                flags: TransferFlags { void_pending: true, ..TransferFlags::default() },
                pending_id: Some(id),
                timeout_ms: None,
                description: Some("Hold expired".into()),
                metadata: BTreeMap::new(),
            };
            let (results, _) = self.submit(Command { idempotency: None, requests: vec![request] }).await?;
            // Someone may have resolved it meanwhile; that is fine.
            voided += results.iter().filter(|r| r.is_ok()).count();
        }
        Ok(voided)
    }

    pub async fn verify(&self) -> Result<VerifyReport, LedgerError> {
        let (accounts, journal) = self.store.verification_data().await?;
        Ok(verify(&accounts, &journal))
    }
}
