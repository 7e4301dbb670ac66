//! This instance's view of the ledger: the journal head after the last batch it committed, and
//! the accounts it has read or written since, exactly as committed at that head.
//!
//! Why: a batch's first round trip (lock the head, read and lock its accounts and keys) was a
//! third of its PostgreSQL time and all of that round trip's wait, while the batch worker, one
//! at a time, is the ledger's serial section (bench/README.md). When every account a batch
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

use pb_domain::ledger::account::{Account, AccountId};
use std::collections::HashMap;
use std::sync::Mutex;

/// A journal head: last seq and its hash.
pub(crate) type Head = (i64, [u8; 32]);

/// Refused fast batches in a row make the fast path sit out 2, 4, … up to this many batches.
const MAX_BACKOFF: u32 = 1024;

#[derive(Default)]
struct State {
    head: Option<Head>,
    accounts: HashMap<AccountId, Account>,
    /// Batches still to run the ordinary way after a refusal.
    sit_out: u32,
    refusals: u32,
    served_total: u64,
    refused_total: u64,
}

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

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the view wrong, only stale (see above).
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The head and these accounts (`ids` sorted), if the view holds all of them and the fast
    /// path is not sitting out.
    pub(crate) fn read(&self, ids: &[AccountId]) -> Option<(Head, Vec<Account>)> {
        if self.capacity == 0 {
            return None;
        }
        let mut s = self.state();
        if s.sit_out > 0 {
            s.sit_out -= 1;
            return None;
        }
        let head = s.head?;
        let accounts = ids.iter().map(|id| s.accounts.get(id).cloned()).collect::<Option<Vec<_>>>()?;
        s.served_total += 1;
        Some((head, accounts))
    }

    /// A batch committed: it started from `start` and ended at `end`, and `accounts` are
    /// exact at `end` (those it read under the head's lock or from the view, with its changes).
    pub(crate) fn committed(&self, start: Head, end: Head, accounts: impl IntoIterator<Item = Account>, fast: bool) {
        if self.capacity == 0 {
            return;
        }
        let mut s = self.state();
        if fast {
            s.refusals = 0;
        }
        if s.head != Some(start) {
            // Another batch (of this instance or another) committed since the view's head: what
            // the view holds may be stale. Start again from this batch's accounts, unless the
            // view already holds a later head (batches finishing out of order here).
            if s.head.is_some_and(|(seq, _)| seq >= end.0) {
                return;
            }
            s.accounts.clear();
        }
        s.head = Some(end);
        for a in accounts {
            if s.accounts.len() >= self.capacity && !s.accounts.contains_key(&a.id) {
                // Full (even within one large batch): start again. The accounts in use come
                // back with the next batches.
                s.accounts.clear();
            }
            s.accounts.insert(a.id, a);
        }
    }

    /// A fast batch was refused: the view was stale. Drop it and sit out a while.
    pub(crate) fn refused(&self) {
        let mut s = self.state();
        s.head = None;
        s.accounts.clear();
        s.refusals = s.refusals.saturating_add(1);
        s.refused_total += 1;
        s.sit_out = 1u32.checked_shl(s.refusals).unwrap_or(MAX_BACKOFF).min(MAX_BACKOFF);
    }

    /// Batches decided from the view, and of those the ones PostgreSQL refused, since start.
    pub(crate) fn totals(&self) -> (u64, u64) {
        let s = self.state();
        (s.served_total, s.refused_total)
    }

    /// An account's flags changed outside a batch (closed here).
    pub(crate) fn forget(&self, id: AccountId) {
        self.state().accounts.remove(&id);
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
        }
    }

    fn head(seq: i64) -> Head {
        (seq, [seq as u8; 32])
    }

    #[test]
    fn serves_only_what_it_holds_at_a_known_head() {
        let view = LedgerView::new(10);
        let (a, b) = (account(1), account(2));
        assert!(view.read(&[a.id]).is_none(), "nothing known yet");
        view.committed(head(0), head(3), [a.clone()], false);
        assert_eq!(view.read(&[a.id]).unwrap().0, head(3));
        assert!(view.read(&[a.id, b.id]).is_none(), "b was never read");
        view.committed(head(3), head(5), [b.clone()], true);
        let (h, both) = view.read(&[a.id, b.id]).unwrap();
        assert_eq!((h, both.len()), (head(5), 2), "a is still exact: nothing committed in between");
    }

    #[test]
    fn another_writer_drops_what_may_be_stale() {
        let view = LedgerView::new(10);
        let (a, b) = (account(1), account(2));
        view.committed(head(0), head(3), [a.clone()], false);
        // A batch that found the head at 7: someone else wrote 4..7.
        view.committed(head(7), head(9), [b.clone()], false);
        assert!(view.read(&[a.id]).is_none(), "a may have changed in 4..7");
        assert_eq!(view.read(&[b.id]).unwrap().0, head(9));
        // A batch finishing late, from an older head, does not take the view back.
        view.committed(head(3), head(4), [a.clone()], false);
        assert_eq!(view.read(&[b.id]).unwrap().0, head(9));
    }

    #[test]
    fn a_refusal_backs_off_and_forget_drops_one_account() {
        let view = LedgerView::new(10);
        let (a, b) = (account(1), account(2));
        view.committed(head(0), head(1), [a.clone(), b.clone()], false);
        view.forget(a.id);
        assert!(view.read(&[a.id]).is_none());
        assert!(view.read(&[b.id]).is_some());
        view.refused();
        view.committed(head(1), head(2), [b.clone()], false);
        assert!(view.read(&[b.id]).is_none(), "sitting out (1 of 2)");
        assert!(view.read(&[b.id]).is_none(), "sitting out (2 of 2)");
        assert!(view.read(&[b.id]).is_some());
    }

    #[test]
    fn capacity_bounds_it_and_zero_turns_it_off() {
        let view = LedgerView::new(2);
        view.committed(head(0), head(1), [account(1), account(2)], false);
        view.committed(head(1), head(2), [account(3)], false);
        assert!(view.read(&[account(1).id]).is_none(), "full: started again");
        assert!(view.read(&[account(3).id]).is_some());
        view.committed(head(2), head(3), (10..20).map(account), false);
        // One batch beyond capacity: the view never holds more than two.
        assert!(view.read(&[account(19).id]).is_some());
        assert!(view.read(&[account(17).id]).is_none());
        assert!(view.state().accounts.len() <= 2);
        let off = LedgerView::new(0);
        off.committed(head(0), head(1), [account(1)], false);
        assert!(off.read(&[account(1).id]).is_none());
    }
}
