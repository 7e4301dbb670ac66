//! The ledger engine: given the current state of the accounts and pending transfers involved,
//! decides each transfer of a batch in order and applies it to that state. Linked chains
//! succeed or fail as a whole (TigerBeetle, "linked events"). No IO: the store locks and loads
//! the state, calls this, and writes the results in the same transaction.

use super::account::{Account, AccountId, Balances};
use super::transfer::{Transfer, TransferError, TransferId, TransferRequest};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingState {
    Pending,
    Posted,
    Voided,
}

/// A pending transfer and whether it has been resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingTransfer {
    pub transfer: Transfer,
    pub state: PendingState,
}

pub type Accounts = BTreeMap<AccountId, Account>;
pub type Pendings = HashMap<TransferId, PendingTransfer>;

/// Applies `requests` in order. Every request gets a result; successful ones changed
/// `accounts` (and `pending`, for holds and their resolution).
pub fn execute(
    accounts: &mut Accounts,
    pending: &mut Pendings,
    requests: &[TransferRequest],
    now_ms: i64,
) -> Vec<Result<Transfer, TransferError>> {
    let mut results: Vec<Result<Transfer, TransferError>> = Vec::with_capacity(requests.len());
    let mut start = 0;
    while start < requests.len() {
        // A chain runs to the first transfer without `linked`, or is left open at the end.
        let end = (start..requests.len()).find(|&i| !requests[i].flags.linked);
        let Some(end) = end else {
            for i in start..requests.len() {
                results.push(Err(if i + 1 == requests.len() {
                    TransferError::LinkedEventChainOpen
                } else {
                    TransferError::LinkedEventFailed
                }));
            }
            break;
        };
        apply_chain(accounts, pending, &requests[start..=end], now_ms, &mut results);
        start = end + 1;
    }
    debug_assert_eq!(results.len(), requests.len());
    results
}

fn apply_chain(
    accounts: &mut Accounts,
    pending: &mut Pendings,
    chain: &[TransferRequest],
    now_ms: i64,
    results: &mut Vec<Result<Transfer, TransferError>>,
) {
    let mut saved_accounts: HashMap<AccountId, Account> = HashMap::new();
    let mut saved_pending: HashMap<TransferId, Option<PendingTransfer>> = HashMap::new();
    let first = results.len();
    for (i, request) in chain.iter().enumerate() {
        // Remember the state before this chain touched it, to undo a failed chain. Not for
        // the chain's last transfer: `apply_one` changes nothing when it fails (every check
        // comes before the first write), so only the transfers before a failure need undoing.
        // A transfer on its own, as most are, copies no account.
        if i + 1 < chain.len() {
            for id in touched_accounts(request, pending) {
                if let Some(a) = accounts.get(&id) {
                    saved_accounts.entry(id).or_insert_with(|| a.clone());
                }
            }
            for id in [Some(request.id), request.pending_id].into_iter().flatten() {
                saved_pending.entry(id).or_insert_with(|| pending.get(&id).cloned());
            }
        }
        match apply_one(accounts, pending, request, now_ms) {
            Ok(t) => results.push(Ok(t)),
            Err(e) => {
                for (id, a) in saved_accounts.drain() {
                    accounts.insert(id, a);
                }
                for (id, p) in saved_pending.drain() {
                    match p {
                        Some(p) => pending.insert(id, p),
                        None => pending.remove(&id),
                    };
                }
                results.truncate(first);
                results.extend((0..i).map(|_| Err(TransferError::LinkedEventFailed)));
                results.push(Err(e));
                results.extend((i + 1..chain.len()).map(|_| Err(TransferError::LinkedEventFailed)));
                return;
            }
        }
    }
}

fn touched_accounts(r: &TransferRequest, pending: &Pendings) -> [AccountId; 2] {
    match r.pending_id.and_then(|id| pending.get(&id)) {
        Some(p) => [p.transfer.debit_account_id, p.transfer.credit_account_id],
        None => [r.debit_account_id, r.credit_account_id],
    }
}

fn add(a: u128, b: u128) -> Result<u128, TransferError> {
    a.checked_add(b).ok_or(TransferError::Overflow)
}

fn sub(a: u128, b: u128) -> u128 {
    // Pending counters always hold at least what a pending transfer reserved.
    assert!(a >= b, "ledger invariant: pending counter {a} below the pending amount {b}");
    a - b
}

fn apply_one(
    accounts: &mut Accounts,
    pending: &mut Pendings,
    r: &TransferRequest,
    now_ms: i64,
) -> Result<Transfer, TransferError> {
    let f = r.flags;
    if u8::from(f.pending) + u8::from(f.post_pending) + u8::from(f.void_pending) > 1
        || (f.post_pending || f.void_pending) != r.pending_id.is_some()
    {
        return Err(TransferError::FlagsAreMutuallyExclusive);
    }
    if f.post_pending || f.void_pending {
        return resolve(accounts, pending, r, now_ms);
    }
    let amount = r.amount.ok_or(TransferError::AmountRequired)?.units();
    if r.debit_account_id == r.credit_account_id {
        return Err(TransferError::AccountsMustBeDifferent);
    }
    let debit = accounts.get(&r.debit_account_id).ok_or(TransferError::DebitAccountNotFound)?;
    let credit = accounts.get(&r.credit_account_id).ok_or(TransferError::CreditAccountNotFound)?;
    if debit.asset != credit.asset {
        return Err(TransferError::AccountsMustHaveTheSameAsset);
    }
    if r.asset.as_ref().is_some_and(|a| *a != debit.asset) {
        return Err(TransferError::TransferMustHaveTheSameAssetAsAccounts);
    }
    if debit.flags.closed {
        return Err(TransferError::DebitAccountClosed);
    }
    if credit.flags.closed {
        return Err(TransferError::CreditAccountClosed);
    }
    // The balance check and the debit happen together: the store holds both rows locked.
    let d = debit.balances;
    if debit.flags.debits_must_not_exceed_credits
        && add(add(d.debits_posted, d.debits_pending)?, amount)? > d.credits_posted
    {
        return Err(TransferError::InsufficientFunds);
    }
    let c = credit.balances;
    if credit.flags.credits_must_not_exceed_debits
        && add(add(c.credits_posted, c.credits_pending)?, amount)? > c.debits_posted
    {
        return Err(TransferError::ExceedsDebits);
    }
    let (mut d, mut c) = (d, c);
    if f.pending {
        d.debits_pending = add(d.debits_pending, amount)?;
        c.credits_pending = add(c.credits_pending, amount)?;
    } else {
        d.debits_posted = add(d.debits_posted, amount)?;
        c.credits_posted = add(c.credits_posted, amount)?;
    }
    let asset = debit.asset.to_string();
    let transfer = Transfer {
        id: r.id,
        debit_account_id: r.debit_account_id,
        credit_account_id: r.credit_account_id,
        amount,
        asset,
        code: r.code.clone(),
        flags: f,
        pending_id: None,
        expires_at: if f.pending { r.timeout_ms.filter(|t| *t > 0).map(|t| now_ms.saturating_add(t)) } else { None },
        description: r.description.clone(),
        metadata: r.metadata.clone(),
        debit_balance_after: (!f.pending).then(|| d.posted()),
        credit_balance_after: (!f.pending).then(|| c.posted()),
        created_at: now_ms,
    };
    commit(accounts, r.debit_account_id, d);
    commit(accounts, r.credit_account_id, c);
    if f.pending {
        pending.insert(r.id, PendingTransfer { transfer: transfer.clone(), state: PendingState::Pending });
    }
    Ok(transfer)
}

fn resolve(
    accounts: &mut Accounts,
    pending: &mut Pendings,
    r: &TransferRequest,
    now_ms: i64,
) -> Result<Transfer, TransferError> {
    let pending_id = r.pending_id.ok_or(TransferError::PendingTransferNotFound)?;
    let p = pending.get(&pending_id).ok_or(TransferError::PendingTransferNotFound)?;
    if !p.transfer.flags.pending {
        return Err(TransferError::PendingTransferNotPending);
    }
    match p.state {
        PendingState::Posted => return Err(TransferError::PendingTransferAlreadyPosted),
        PendingState::Voided => return Err(TransferError::PendingTransferAlreadyVoided),
        PendingState::Pending => {}
    }
    let posting = r.flags.post_pending;
    // An expired hold can no longer be posted; voiding it (by its owner or the expiry
    // worker) is what releases the funds.
    if posting && p.transfer.expires_at.is_some_and(|e| e <= now_ms) {
        return Err(TransferError::PendingTransferExpired);
    }
    let reserved = p.transfer.amount;
    let amount = if posting { r.amount.map_or(reserved, |a| a.units()) } else { reserved };
    if amount > reserved {
        return Err(TransferError::ExceedsPendingTransferAmount);
    }
    let (debit_id, credit_id) = (p.transfer.debit_account_id, p.transfer.credit_account_id);
    let debit = accounts.get(&debit_id).ok_or(TransferError::DebitAccountNotFound)?;
    let credit = accounts.get(&credit_id).ok_or(TransferError::CreditAccountNotFound)?;
    if posting && (debit.flags.closed || credit.flags.closed) {
        return Err(if debit.flags.closed {
            TransferError::DebitAccountClosed
        } else {
            TransferError::CreditAccountClosed
        });
    }
    let (mut d, mut c) = (debit.balances, credit.balances);
    d.debits_pending = sub(d.debits_pending, reserved);
    c.credits_pending = sub(c.credits_pending, reserved);
    if posting {
        d.debits_posted = add(d.debits_posted, amount)?;
        c.credits_posted = add(c.credits_posted, amount)?;
    }
    let transfer = Transfer {
        id: r.id,
        debit_account_id: debit_id,
        credit_account_id: credit_id,
        amount,
        asset: p.transfer.asset.clone(),
        code: r.code.clone(),
        flags: r.flags,
        pending_id: Some(pending_id),
        expires_at: None,
        description: r.description.clone(),
        metadata: r.metadata.clone(),
        debit_balance_after: posting.then(|| d.posted()),
        credit_balance_after: posting.then(|| c.posted()),
        created_at: now_ms,
    };
    commit(accounts, debit_id, d);
    commit(accounts, credit_id, c);
    if let Some(p) = pending.get_mut(&pending_id) {
        p.state = if posting { PendingState::Posted } else { PendingState::Voided };
    }
    Ok(transfer)
}

fn commit(accounts: &mut Accounts, id: AccountId, balances: Balances) {
    if let Some(a) = accounts.get_mut(&id) {
        // The invariant the flags promise, checked on every write (ledger.md, "Invariants").
        if a.flags.debits_must_not_exceed_credits {
            assert!(
                balances.debits_posted.saturating_add(balances.debits_pending) <= balances.credits_posted,
                "ledger invariant: account {} would be overdrawn",
                id.to_api()
            );
        }
        a.balances = balances;
    }
}
