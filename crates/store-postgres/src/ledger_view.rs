//! This instance's view of the ledger: the journal head after the last batch it committed, and
//! the accounts it has read or written since, exactly as committed at that head.
//!
//! Why: a batch's first round trip (lock the head, read and lock its accounts and keys) was a
//! third of its PostgreSQL time and all of that round trip's wait, while the batch worker, one
//! at a time, is the ledger's serial section (bench/RESULTS.md). When every account a batch
//! touches is in this view, the batch is decided from the view and sent as one round trip, its
//! closing statement asserting what the view assumed: the head is still the one the view holds
//! (so no batch of any instance committed since, and only batches change counters), every
//! changed account still has the flags and counters it was decided on (compare-and-set, which
//! also waits out and sees any concurrent change of its flags), and every other account read
//! still has its flags. If anything moved, PostgreSQL refuses the statement
//! (`ledger_expect`, SQLSTATE 40001), nothing is written, and the batch runs again the
//! ordinary way. So the view can only be stale, never wrong: a stale view costs one refused
//! round trip, after which the fast path backs off.
//!
//! With several instances each batch of another instance moves the head, so this view is
//! dropped on the next ordinary batch (its head is not the view's) and the fast path is rarely
//! tried; with one writing instance it serves nearly every batch.
//!
//! Pipelining: a batch's decision enters the view before it commits (`decided`), on top of the
//! committed head and accounts, so the next batch can be decided from it while it is still in
//! PostgreSQL. What became of it comes later: `committed` makes it part of the committed view;
//! `failed` drops it and every decision made from it (PostgreSQL refuses those, since the head
//! they expect never comes to be), keeping what is committed.

use pb_domain::ledger::account::{Account, AccountId};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// A journal head: last seq and its hash.
pub(crate) type Head = (i64, [u8; 32]);

/// Refused fast batches in a row make the fast path sit out 2, 4, … up to this many batches.
const MAX_BACKOFF: u32 = 1024;

/// A batch decided but not yet known to have committed.
struct Decision {
    ticket: u64,
    /// Decided while the batch before it had not committed yet.
    behind: bool,
    end: Head,
    accounts: HashMap<AccountId, Account>,
}

#[derive(Default)]
struct State {
    /// The last head known committed, and accounts exact at it.
    head: Option<Head>,
    accounts: HashMap<AccountId, Account>,
    /// Batches decided on top of `head`, oldest first, each from the one before: what the
    /// next batch is decided from while they are in PostgreSQL (pipelining).
    pending: VecDeque<Decision>,
    next_ticket: u64,
    /// Batches still to run the ordinary way after a refusal.
    sit_out: u32,
    refusals: u32,
    served_total: u64,
    refused_total: u64,
}

impl State {
    fn clear(&mut self) {
        self.head = None;
        self.accounts.clear();
        self.pending.clear();
    }

    /// The head the next batch starts from, if known: the last decided, else the committed.
    fn tip(&self) -> Option<Head> {
        self.pending.back().map(|d| d.end).or(self.head)
    }

    fn get(&self, id: &AccountId) -> Option<&Account> {
        self.pending.iter().rev().find_map(|d| d.accounts.get(id)).or_else(|| self.accounts.get(id))
    }
}

/// What `decided` hands back, to say later whether that batch committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ticket(u64);

pub(crate) struct LedgerView {
    state: Mutex<State>,
    /// Most accounts held; 0 turns the fast path off.
    capacity: usize,
}

impl std::fmt::Debug for LedgerView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerView").field("capacity", &self.capacity).finish_non_exhaustive()
    }
}

impl LedgerView {
    pub(crate) fn new(capacity: usize) -> Self {
        Self { state: Mutex::new(State::default()), capacity }
    }

    /// Most accounts held; 0: the view is off.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the view wrong, only stale (see above).
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The head and these accounts (`ids` sorted) as the last batch decided leaves them, if the
    /// view holds all of them and the fast path is not sitting out.
    pub(crate) fn read(&self, ids: &[AccountId]) -> Option<(Head, Vec<Account>)> {
        if self.capacity == 0 {
            return None;
        }
        let mut s = self.state();
        if s.sit_out > 0 {
            s.sit_out -= 1;
            return None;
        }
        let head = s.tip()?;
        let accounts = ids.iter().map(|id| s.get(id).cloned()).collect::<Option<Vec<_>>>()?;
        s.served_total += 1;
        Some((head, accounts))
    }

    /// Where the head will be once every batch decided so far has committed: the batch being
    /// decided now takes the head after that (`ledger_take_head`, migration 0011). 0 when the
    /// view knows nothing (no wait).
    pub(crate) fn tip_seq(&self) -> i64 {
        self.state().tip().map_or(0, |(seq, _)| seq)
    }

    /// A batch was decided and is on its way to commit: it started from `start` and ends at
    /// `end`, and `accounts` are exact at `end` (those it read under the head's lock, with its
    /// changes; or, decided from the view, only those it changed: the view holds the others).
    /// Called before the batch commits, so that the next batch can be decided from it while
    /// this one is in PostgreSQL; batches are decided one at a time (`PgStore::decide`), in the
    /// order they take the head. Say what became of it with `committed`, `failed` or `refused`.
    pub(crate) fn decided(&self, start: Head, end: Head, accounts: impl IntoIterator<Item = Account>) -> Ticket {
        let mut s = self.state();
        s.next_ticket += 1;
        let ticket = s.next_ticket;
        if self.capacity == 0 {
            return Ticket(ticket);
        }
        if s.tip() != Some(start) {
            // Read under the head's lock from a head the view did not expect: another instance
            // wrote, or a batch decided here did not commit (its news may not be in yet). Every
            // batch decided before this one is over by now; start again from this one.
            s.clear();
            s.head = Some(start);
        }
        let accounts = accounts.into_iter().map(|a| (a.id, a)).collect();
        let behind = !s.pending.is_empty();
        s.pending.push_back(Decision { ticket, behind, end, accounts });
        Ticket(ticket)
    }

    /// The batch committed: it, and any decided before it whose news is not in yet (they
    /// committed first: its head follows theirs), become the committed view.
    pub(crate) fn committed(&self, ticket: Ticket, fast: bool) {
        let mut s = self.state();
        if fast {
            s.refusals = 0;
        }
        if !s.pending.iter().any(|d| d.ticket == ticket.0) {
            return; // Dropped meanwhile (`decided` started again, or a refusal).
        }
        while let Some(d) = s.pending.pop_front() {
            s.head = Some(d.end);
            for (id, a) in d.accounts {
                if s.accounts.len() >= self.capacity && !s.accounts.contains_key(&id) {
                    // Full (even within one large batch): start again. The accounts in use
                    // come back with the next batches.
                    s.accounts.clear();
                }
                s.accounts.insert(id, a);
            }
            if d.ticket == ticket.0 {
                break;
            }
        }
    }

    /// The batch did not commit (an error, or a key taken meanwhile): its decision and every
    /// one made from it are dropped (those batches will be refused: the head they expect never
    /// comes to be); what is committed stays.
    pub(crate) fn failed(&self, ticket: Ticket) {
        let mut s = self.state();
        if let Some(i) = s.pending.iter().position(|d| d.ticket == ticket.0) {
            s.pending.truncate(i);
        }
    }

    /// A batch decided from the view was refused. If it was decided behind a batch not yet
    /// committed, that batch may have failed (its news not in yet), or the refused one may
    /// have reached the head first: drop it and what was decided from it, nothing to learn.
    /// Otherwise the view was stale (another instance wrote): drop it all and sit out a while.
    pub(crate) fn refused(&self, ticket: Ticket) {
        let mut s = self.state();
        s.refused_total += 1;
        let Some(i) = s.pending.iter().position(|d| d.ticket == ticket.0) else {
            return; // Dropped already: a batch it was decided after failed.
        };
        if s.pending[i].behind {
            s.pending.truncate(i);
            return;
        }
        s.clear();
        s.refusals = s.refusals.saturating_add(1);
        s.sit_out = 1u32.checked_shl(s.refusals).unwrap_or(MAX_BACKOFF).min(MAX_BACKOFF);
    }

    /// Batches decided from the view, and of those the ones PostgreSQL refused, since start.
    pub(crate) fn totals(&self) -> (u64, u64) {
        let s = self.state();
        (s.served_total, s.refused_total)
    }

    /// An account's flags changed outside a batch (closed here).
    pub(crate) fn forget(&self, id: AccountId) {
        let mut s = self.state();
        s.accounts.remove(&id);
        for d in &mut s.pending {
            d.accounts.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use pb_domain::ledger::account::{AccountFlags, Balances};
    use pb_domain::ledger::asset::AssetCode;

    fn account(n: u128) -> Account {
        Account {
            id: AccountId(uuid::Uuid::from_u128(n)),
            asset: AssetCode::parse("USD").unwrap(),
            owner: "usr_a".into(),
            code: "customer".into(),
            name: "a".into(),
            parent_id: None,
            flags: AccountFlags::default(),
            balances: Balances::default(),
            created_at: 0,
            last_seq: None,
        }
    }

    fn head(seq: i64) -> Head {
        (seq, [seq as u8; 32])
    }

    /// A batch decided and committed.
    fn commit(view: &LedgerView, start: Head, end: Head, accounts: impl IntoIterator<Item = Account>) {
        let t = view.decided(start, end, accounts);
        view.committed(t, false);
    }

    fn with_balance(n: u128, credits: u128) -> Account {
        let mut a = account(n);
        a.balances.credits_posted = credits;
        a
    }

    #[test]
    fn serves_only_what_it_holds_at_a_known_head() {
        let view = LedgerView::new(10);
        let (a, b) = (account(1), account(2));
        assert!(view.read(&[a.id]).is_none(), "nothing known yet");
        assert_eq!(view.tip_seq(), 0);
        commit(&view, head(0), head(3), [a.clone()]);
        assert_eq!(view.read(&[a.id]).unwrap().0, head(3));
        assert!(view.read(&[a.id, b.id]).is_none(), "b was never read");
        commit(&view, head(3), head(5), [b.clone()]);
        let (h, both) = view.read(&[a.id, b.id]).unwrap();
        assert_eq!((h, both.len()), (head(5), 2), "a is still exact: nothing committed in between");
    }

    #[test]
    fn a_batch_in_flight_is_served_and_dropped_with_what_followed_it() {
        let view = LedgerView::new(10);
        commit(&view, head(0), head(1), [account(1)]);
        let t2 = view.decided(head(1), head(2), [with_balance(1, 5)]);
        // Decided, not committed: the next batch is decided as this one leaves the ledger.
        let (h, a) = view.read(&[account(1).id]).unwrap();
        assert_eq!((h, a[0].balances.credits_posted, view.tip_seq()), (head(2), 5, 2));
        let t3 = view.decided(head(2), head(3), [account(2)]);
        view.failed(t2);
        // t2 never lands, so neither can t3 (it expects head 2): both are gone.
        let (h, a) = view.read(&[account(1).id]).unwrap();
        assert_eq!((h, a[0].balances.credits_posted), (head(1), 0));
        assert!(view.read(&[account(2).id]).is_none());
        view.committed(t3, false); // Cannot happen (PostgreSQL refuses it); ignored all the same.
        assert_eq!(view.read(&[account(1).id]).unwrap().0, head(1));
    }

    #[test]
    fn commits_land_in_order_even_when_told_out_of_order() {
        let view = LedgerView::new(10);
        commit(&view, head(0), head(1), [account(1)]);
        let t2 = view.decided(head(1), head(2), [with_balance(1, 5)]);
        let t3 = view.decided(head(2), head(3), [with_balance(1, 7)]);
        view.committed(t3, false); // t3 took the head after t2: t2 committed too.
        view.committed(t2, false);
        let (h, a) = view.read(&[account(1).id]).unwrap();
        assert_eq!((h, a[0].balances.credits_posted), (head(3), 7));
    }

    #[test]
    fn a_refusal_behind_a_batch_in_flight_is_not_staleness() {
        let view = LedgerView::new(10);
        commit(&view, head(0), head(1), [account(1)]);
        let t2 = view.decided(head(1), head(2), [account(1)]);
        let t3 = view.decided(head(2), head(3), [account(1)]);
        view.refused(t3);
        assert_eq!(view.read(&[account(1).id]).unwrap().0, head(2), "t3 dropped, no sitting out");
        view.committed(t2, false);
        // Refused with nothing in flight before it: the view was stale.
        let t4 = view.decided(head(2), head(3), [account(1)]);
        view.refused(t4);
        assert!(view.read(&[account(1).id]).is_none(), "dropped, and sitting out (1 of 2)");
        assert_eq!(view.totals().1, 2);
    }

    #[test]
    fn another_writer_drops_what_may_be_stale() {
        let view = LedgerView::new(10);
        let (a, b) = (account(1), account(2));
        commit(&view, head(0), head(3), [a.clone()]);
        // A batch that found the head at 7: someone else wrote 4..7.
        commit(&view, head(7), head(9), [b.clone()]);
        assert!(view.read(&[a.id]).is_none(), "a may have changed in 4..7");
        assert_eq!(view.read(&[b.id]).unwrap().0, head(9));
    }

    #[test]
    fn a_refusal_backs_off_and_forget_drops_one_account() {
        let view = LedgerView::new(10);
        let (a, b) = (account(1), account(2));
        commit(&view, head(0), head(1), [a.clone(), b.clone()]);
        let in_flight = view.decided(head(1), head(2), [a.clone()]);
        view.forget(a.id);
        assert!(view.read(&[a.id]).is_none(), "forgotten in flight too");
        assert!(view.read(&[b.id]).is_some());
        view.refused(in_flight);
        commit(&view, head(1), head(2), [b.clone()]);
        assert!(view.read(&[b.id]).is_none(), "sitting out (1 of 2)");
        assert!(view.read(&[b.id]).is_none(), "sitting out (2 of 2)");
        assert!(view.read(&[b.id]).is_some());
    }

    #[test]
    fn capacity_bounds_it_and_zero_turns_it_off() {
        let view = LedgerView::new(2);
        commit(&view, head(0), head(1), [account(1), account(2)]);
        commit(&view, head(1), head(2), [account(3)]);
        assert!(view.read(&[account(1).id]).is_none(), "full: started again");
        assert!(view.read(&[account(3).id]).is_some());
        commit(&view, head(2), head(3), (10..20).map(account));
        // One batch beyond capacity: the view never holds more than two.
        let held = (10..20).filter(|n| view.read(&[account(*n).id]).is_some()).count();
        assert!((1..=2).contains(&held), "{held}");
        assert!(view.state().accounts.len() <= 2);
        let off = LedgerView::new(0);
        commit(&off, head(0), head(1), [account(1)]);
        assert!(off.read(&[account(1).id]).is_none());
        assert_eq!(off.tip_seq(), 0);
    }
}
