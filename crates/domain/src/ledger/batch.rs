//! One batch, one transaction (ledger.md, "Performance physics"): claim idempotency keys,
//! lock every account involved in id order, let the engine decide each transfer, then write
//! transfers (hash-chained), counters, and the outcome under each key, before one commit.
//! Stores implement `LedgerTx` with their SQL; the sequence lives here, once.

use super::account::{Account, AccountId, Balances};
use super::engine::{Accounts, PendingState, PendingTransfer, Pendings, execute};
use super::hash::chain;
use super::store::{ChainedTransfer, Command, CommandOutcome, Idempotency};
use super::stored_outcome::{self, StoredResults};
use super::transfer::{Transfer, TransferId};
use crate::store::StoreError;
use async_trait::async_trait;
use std::collections::{BTreeSet, HashMap};

/// The steps of a batch inside one database transaction. Steps that always follow each other
/// are one method, so a store can make each one round trip (PostgreSQL: one statement, sent
/// with the BEGIN or the COMMIT); a batch holds its account locks for every round trip after
/// the first.
#[async_trait]
pub trait LedgerTx: Send {
    /// Takes the journal's head (PostgreSQL: its row lock, taken first; SQLite: the database's
    /// write lock), then locks and returns the accounts that exist among `ids` (given sorted),
    /// in id order, as committed before the head was granted, the head itself, and for each
    /// claim, in order: `None` if the key is free (`write` records it with its outcome; a store
    /// may also claim it here), or the stored (fingerprint, outcome) of an earlier request with
    /// the same key. Every batch takes the head, then accounts, so two batches never wait for
    /// each other in opposite orders.
    async fn claim_and_lock(
        &mut self,
        claims: &[&Idempotency],
        now_ms: i64,
        ids: &[AccountId],
    ) -> Result<ClaimedAndLocked, StoreError>;
    async fn transfers_by_id(&mut self, ids: &[TransferId]) -> Result<Vec<Transfer>, StoreError>;
    /// Of these pending transfers, those already resolved: (id, true if posted, false if voided).
    async fn resolutions(&mut self, pending_ids: &[TransferId]) -> Result<Vec<(TransferId, bool)>, StoreError>;
    /// Everything the batch changed, as its last step before the commit (a store may send the
    /// COMMIT with it): account counters, the outcome under each key, and the hash-chained
    /// journal rows (which are also the outbox: see `outbox`) with the head moved to the last.
    /// The accounts are handed over, not lent: a store may keep them (PostgreSQL's view does).
    async fn write(
        &mut self,
        accounts: Vec<Account>,
        outcomes: &[(&Idempotency, String)],
        journal: &[ChainedTransfer],
    ) -> Result<(), StoreError>;
    /// The journal rows `write` wrote, handed over once it returned: a store that keeps its
    /// committed rows for the outbox relay (`RecentJournal`) holds them until its commit
    /// succeeds. Moved, not copied: this is the batch's serial section.
    fn wrote(&mut self, _journal: Vec<ChainedTransfer>) {}
}

/// What `claim_and_lock` found.
#[derive(Debug)]
pub struct ClaimedAndLocked {
    /// Per claim, the earlier request's (fingerprint, outcome) if the key was taken.
    pub prior: Vec<Option<(Vec<u8>, String)>>,
    /// The locked accounts, in id order.
    pub accounts: Vec<Account>,
    /// The journal's head, locked until commit: last seq and its hash.
    pub head: (i64, [u8; 32]),
}

pub async fn execute_batch(
    tx: &mut dyn LedgerTx,
    commands: &[Command],
    now_ms: i64,
) -> Result<Vec<CommandOutcome>, StoreError> {
    let mut outcomes: Vec<Option<CommandOutcome>> = vec![None; commands.len()];

    // 1. Keys: the first use of a key in this batch claims it; later uses replay or conflict.
    let mut first_use: HashMap<(&str, &str), usize> = HashMap::new();
    let mut duplicates: Vec<(usize, usize)> = Vec::new();
    let mut claim_of: Vec<(&Idempotency, usize)> = Vec::new();
    for (i, c) in commands.iter().enumerate() {
        if let Some(k) = &c.idempotency {
            match first_use.get(&(k.owner.as_str(), k.key.as_str())) {
                Some(&first) => duplicates.push((i, first)),
                None => {
                    first_use.insert((&k.owner, &k.key), i);
                    claim_of.push((k, i));
                }
            }
        }
    }
    // Sorted so concurrent batches take key locks in the same order (no deadlock).
    claim_of.sort_by(|a, b| (&a.0.owner, &a.0.key).cmp(&(&b.0.owner, &b.0.key)));
    let claims: Vec<&Idempotency> = claim_of.iter().map(|(k, _)| *k).collect();

    // 2. Take the journal head, lock every account the batch may touch in id order, and read
    // the keys, in one step:
    // those of holds being resolved come from their (immutable) journal rows. A command that
    // turns out to be a replay has its accounts locked needlessly, which costs only contention.
    let pending_ids: Vec<TransferId> = commands
        .iter()
        .flat_map(|c| c.requests.iter().filter_map(|r| r.pending_id))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let pending_rows = if pending_ids.is_empty() { Vec::new() } else { tx.transfers_by_id(&pending_ids).await? };
    let mut account_ids: BTreeSet<AccountId> = BTreeSet::new();
    for r in commands.iter().flat_map(|c| &c.requests).filter(|r| r.pending_id.is_none()) {
        account_ids.insert(r.debit_account_id);
        account_ids.insert(r.credit_account_id);
    }
    for t in &pending_rows {
        account_ids.insert(t.debit_account_id);
        account_ids.insert(t.credit_account_id);
    }
    let ids: Vec<AccountId> = account_ids.into_iter().collect();
    let ClaimedAndLocked { prior: existing, accounts: loaded, head } = tx.claim_and_lock(&claims, now_ms, &ids).await?;
    // A taken key answers every use of it in this batch whose body is the one stored: the first
    // use, and each later one, judged on its own (not by the first, which may have come with
    // another body and be refused while a true retry beside it must replay).
    let mut taken: HashMap<usize, (Vec<u8>, String)> = HashMap::new();
    for ((_, i), prior) in claim_of.iter().zip(existing) {
        if let Some(prior) = prior {
            taken.insert(*i, prior);
        }
    }
    let uses = taken.keys().map(|&first| (first, first)).chain(duplicates.iter().copied());
    let mut replays: Vec<(usize, usize)> = Vec::new();
    for (i, first) in uses {
        let Some((fingerprint, _)) = taken.get(&first) else { continue };
        if commands[i].idempotency.as_ref().is_some_and(|k| k.fingerprint == *fingerprint) {
            replays.push((i, first));
        } else {
            outcomes[i] = Some(CommandOutcome::KeyReused);
        }
    }
    // Only a replay reads what is stored: a key another kind of request took (an account
    // opening) holds an outcome of its own shape, and a request with another body is refused
    // without reading it.
    let mut stored: HashMap<usize, StoredResults> = HashMap::new();
    for (_, first) in &replays {
        if !stored.contains_key(first)
            && let Some((_, outcome)) = taken.get(first)
        {
            stored.insert(*first, stored_outcome::decode(outcome)?);
        }
    }
    // A replay answers with the journal rows its first attempt wrote.
    let to_read: Vec<TransferId> =
        stored.values().flat_map(stored_outcome::ids_to_read).collect::<BTreeSet<_>>().into_iter().collect();
    let read: HashMap<TransferId, Transfer> = if to_read.is_empty() {
        HashMap::new()
    } else {
        tx.transfers_by_id(&to_read).await?.into_iter().map(|t| (t.id, t)).collect()
    };
    for (i, first) in replays {
        if let Some(s) = stored.get(&first) {
            outcomes[i] = Some(CommandOutcome::Replayed(stored_outcome::replay(s.clone(), &read)?));
        }
    }
    let active: Vec<usize> =
        (0..commands.len()).filter(|i| outcomes[*i].is_none() && !duplicates.iter().any(|(d, _)| d == i)).collect();

    // Only the counters and history starts are compared afterwards: no copy of the accounts themselves.
    let before: HashMap<AccountId, (Balances, Option<i64>)> =
        loaded.iter().map(|a| (a.id, (a.balances, a.last_seq))).collect();
    let mut accounts: Accounts = loaded.into_iter().map(|a| (a.id, a)).collect();
    // Resolution state is read after step 2: any other batch resolving the same hold has
    // committed by now, and its resolution is visible.
    let found: Vec<TransferId> = pending_rows.iter().filter(|t| t.flags.pending).map(|t| t.id).collect();
    let resolved: HashMap<TransferId, bool> =
        if found.is_empty() { HashMap::new() } else { tx.resolutions(&found).await?.into_iter().collect() };
    let mut pending: Pendings = pending_rows
        .into_iter()
        .map(|t| {
            let state = match resolved.get(&t.id) {
                Some(true) => PendingState::Posted,
                Some(false) => PendingState::Voided,
                None => PendingState::Pending,
            };
            (t.id, PendingTransfer { transfer: t, state })
        })
        .collect();

    // 3. Decide, in order.
    let mut decided: Vec<Transfer> = Vec::new();
    let mut stored_outcomes: Vec<(&Idempotency, String)> = Vec::new();
    for i in active {
        let results = execute(&mut accounts, &mut pending, &commands[i].requests, now_ms);
        decided.extend(results.iter().flatten().cloned());
        if let Some(k) = &commands[i].idempotency {
            stored_outcomes.push((k, stored_outcome::encode(&results)));
        }
        outcomes[i] = Some(CommandOutcome::Executed(results));
    }
    // Later uses of a key first claimed in this batch: the same body replays, another is refused.
    for (dup, first) in duplicates {
        if outcomes[dup].is_some() {
            continue;
        }
        let same = commands[dup].idempotency.as_ref().map(|k| &k.fingerprint)
            == commands[first].idempotency.as_ref().map(|k| &k.fingerprint);
        outcomes[dup] = Some(match (&outcomes[first], same) {
            (Some(CommandOutcome::Executed(r) | CommandOutcome::Replayed(r)), true) => {
                CommandOutcome::Replayed(r.clone())
            }
            _ => CommandOutcome::KeyReused,
        });
    }
    // 4. Chain the journal under the head, held since step 2 until the commit: batches (of
    // every instance) append one after another, so seq order is commit order. Each row also
    // links back to the rows before it naming its accounts (each account's history chain).
    let (mut seq, mut hash) = head;
    let mut journal: Vec<ChainedTransfer> = Vec::with_capacity(decided.len());
    for t in decided {
        seq += 1;
        let next = chain(&hash, &t);
        let mut link = |id: AccountId| accounts.get_mut(&id).and_then(|a| a.last_seq.replace(seq));
        let (debit_prev, credit_prev) = (link(t.debit_account_id), link(t.credit_account_id));
        journal.push(ChainedTransfer {
            seq,
            transfer: t,
            prev_hash: hash.to_vec(),
            hash: next.to_vec(),
            debit_prev,
            credit_prev,
        });
        hash = next;
    }
    // Every account a row names is written: its counters moved, or at least its chain did.
    let changed: Vec<Account> =
        accounts.into_values().filter(|a| before.get(&a.id).is_some_and(|b| *b != (a.balances, a.last_seq))).collect();
    if !(changed.is_empty() && stored_outcomes.is_empty() && journal.is_empty()) {
        tx.write(changed, &stored_outcomes, &journal).await?;
        tx.wrote(journal);
    }
    Ok(outcomes.into_iter().map(|o| o.unwrap_or(CommandOutcome::KeyReused)).collect())
}
