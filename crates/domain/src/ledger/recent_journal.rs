//! The journal rows this instance committed lately, kept in memory for the outbox relay.
//!
//! The journal is the outbox (docs/ledger.md, "Events"): the relay reads the rows after its cursor
//! and publishes them. Read back from the database, every row cost the relay a query's share,
//! its columns parsed back from text, and the database the same rows sent again: about a
//! fourteenth of the server's instructions per uniform transfer went to `journal_after`
//! (bench/RESULTS.md). The rows are already here, as the batch wrote them: a store keeps each
//! committed batch's rows, and `journal_after` serves the rows after a position from them when
//! this instance wrote the very next one.
//!
//! Only committed rows go in, and a committed row never changes (journal rows are never
//! updated), so a row served from here is the row in the database. Any row that is not here
//! (another instance wrote it, its batch's commit went unanswered, or it was dropped to stay
//! within `capacity`) is read from the database, from that row on: the relay sees the journal
//! in seq order with no gap, as it does from the database alone.

use super::store::ChainedTransfer;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Rows kept by default: at the relay's 200 ms tick this covers 80,000 transfers a second, far
/// above what one instance commits; a relay further behind reads the database.
pub const DEFAULT_CAPACITY: usize = 16_384;

/// Batches committed with no read in between after which nobody is taken to be reading (the
/// relay's lease is held by another instance): nothing more is kept until a read comes.
const IDLE_AFTER_BATCHES: usize = 4_096;

#[derive(Debug)]
pub struct RecentJournal {
    capacity: usize,
    batches: Mutex<Batches>,
    /// Batches committed since the last read.
    unread: AtomicUsize,
}

#[derive(Debug, Default)]
struct Batches {
    /// Each committed batch's rows (consecutive seqs), by its first seq. Batches in flight
    /// together may report their commits out of order, so they are kept sorted, not appended.
    by_first_seq: BTreeMap<i64, Arc<Vec<ChainedTransfer>>>,
    rows: usize,
}

impl Batches {
    /// Takes out the oldest batches until at most `keep` rows are left, or (with `read_to`)
    /// every batch wholly at or before that position too.
    fn trim(&mut self, keep: usize, read_to: Option<i64>, out: &mut Vec<Arc<Vec<ChainedTransfer>>>) {
        while let Some(entry) = self.by_first_seq.first_entry() {
            let read = read_to.is_some_and(|p| !ends_after(*entry.key(), entry.get(), p.saturating_add(1)));
            if !(read || self.rows > keep) {
                break;
            }
            let oldest = entry.remove();
            self.rows -= oldest.len();
            out.push(oldest);
        }
    }
}

impl RecentJournal {
    /// Keeps up to about `capacity` rows not yet read (a batch is kept or dropped whole); 0
    /// keeps none.
    pub fn new(capacity: usize) -> Self {
        Self { capacity, batches: Mutex::new(Batches::default()), unread: AtomicUsize::new(0) }
    }

    /// The rows of one batch, in seq order, once its commit succeeded: never before, since
    /// `after` hands them out as committed. Moved in, not copied: the batch thread calls this,
    /// and it is the ledger's serial section. So rows are freed by the reader (`after`), which
    /// trims what it has read, not here: freed here, long after they were written, they were
    /// cold in the cache and cost the batch thread a microsecond per transfer (bench/RESULTS.md).
    pub fn committed(&self, rows: Vec<ChainedTransfer>) {
        let Some(first) = rows.first().map(|r| r.seq) else { return };
        if self.capacity == 0 {
            return;
        }
        debug_assert!(rows.iter().zip(first..).all(|(r, seq)| r.seq == seq), "a batch's rows are consecutive");
        let last = rows.last().map_or(first, |r| r.seq);
        let mut dropped = Vec::new();
        {
            let mut b = self.batches.lock().unwrap_or_else(PoisonError::into_inner);
            let unread = self.unread.fetch_add(1, Ordering::Relaxed);
            if unread >= IDLE_AFTER_BATCHES {
                // Nobody reads here: keep nothing, and let go of what was kept, once.
                if unread == IDLE_AFTER_BATCHES {
                    b.trim(0, None, &mut dropped);
                }
                drop(b);
                drop(dropped);
                return;
            }
            // Batches committed one after another never share a seq, whatever order they are
            // reported in. One that does means the journal went back (a database restored, or
            // failed over to a replica that lacked the last commits): what is kept from that
            // seq on is no longer the journal, so it goes.
            let holding_first = b.by_first_seq.range(..=first).next_back().filter(|&(&f, r)| ends_after(f, r, first));
            let overlapping = holding_first.or_else(|| b.by_first_seq.range(first..=last).next()).map(|(&f, _)| f);
            if let Some(from) = overlapping {
                let gone = b.by_first_seq.split_off(&from);
                b.rows -= gone.values().map(|r| r.len()).sum::<usize>();
                dropped.extend(gone.into_values());
            }
            b.rows += rows.len();
            b.by_first_seq.insert(first, Arc::new(rows));
            // A reader far behind: the oldest go here after all, though rarely.
            if b.rows > 2 * self.capacity {
                b.trim(self.capacity, None, &mut dropped);
            }
        }
        // Freed outside the lock: the relay may be waiting for it.
        drop(dropped);
    }

    /// Up to `limit` rows after `position`, in seq order, as far as they run on without a gap;
    /// None when the row right after `position` is not here (read the database instead). The
    /// reader has read up to `position`: what is kept up to there, and beyond the capacity, is
    /// let go.
    pub fn after(&self, position: i64, limit: usize) -> Option<Vec<ChainedTransfer>> {
        self.unread.store(0, Ordering::Relaxed);
        let want = position.checked_add(1)?;
        // The batches needed, taken under the lock; their rows are copied, and those let go
        // freed, outside it.
        let mut run: Vec<(usize, usize, Arc<Vec<ChainedTransfer>>)> = Vec::new();
        let mut dropped = Vec::new();
        {
            let mut b = self.batches.lock().unwrap_or_else(PoisonError::into_inner);
            b.trim(self.capacity, Some(position), &mut dropped);
            let holding = b.by_first_seq.range(..=want).next_back();
            let (mut next, mut taken) = (want, 0);
            for (&first, rows) in holding.into_iter().chain(b.by_first_seq.range(want.saturating_add(1)..)) {
                // A batch starting after `next` leaves a gap; one ending before it lacks `next`.
                let Some(skip) = usize::try_from(next - first).ok().filter(|&s| s < rows.len()) else { break };
                let count = (rows.len() - skip).min(limit - taken);
                if count == 0 {
                    break;
                }
                run.push((skip, count, rows.clone()));
                taken += count;
                next += i64::try_from(count).ok()?;
            }
        }
        drop(dropped);
        if run.is_empty() {
            return None;
        }
        let mut out = Vec::with_capacity(run.iter().map(|(_, count, _)| count).sum());
        for (skip, count, rows) in &run {
            out.extend(rows[*skip..*skip + *count].iter().cloned());
        }
        Some(out)
    }
}

/// Whether a batch starting at `first` holds a row at `seq` or after it.
fn ends_after(first: i64, rows: &[ChainedTransfer], seq: i64) -> bool {
    i64::try_from(rows.len()).is_ok_and(|n| first.saturating_add(n) > seq)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::ledger::account::AccountId;
    use crate::ledger::transfer::{Transfer, TransferId};

    fn row(seq: i64) -> ChainedTransfer {
        ChainedTransfer {
            seq,
            transfer: Transfer {
                id: TransferId::new(),
                debit_account_id: AccountId::new(),
                credit_account_id: AccountId::new(),
                amount: 1,
                asset: "USD".into(),
                code: "transfer".into(),
                flags: Default::default(),
                pending_id: None,
                expires_at: None,
                description: None,
                metadata: Default::default(),
                debit_balance_after: None,
                credit_balance_after: None,
                created_at: seq,
            },
            prev_hash: vec![0; 32],
            hash: vec![1; 32],
            debit_prev: None,
            credit_prev: None,
        }
    }

    fn batch(seqs: std::ops::RangeInclusive<i64>) -> Vec<ChainedTransfer> {
        seqs.map(row).collect()
    }

    fn seqs(rows: Option<Vec<ChainedTransfer>>) -> Option<Vec<i64>> {
        rows.map(|r| r.iter().map(|c| c.seq).collect())
    }

    #[test]
    fn rows_run_on_across_batches_until_a_gap_or_the_limit() {
        let recent = RecentJournal::new(100);
        recent.committed(batch(1..=3));
        recent.committed(batch(4..=5));
        recent.committed(batch(8..=9)); // 6 and 7: another instance's batch
        assert_eq!(seqs(recent.after(0, 100)), Some(vec![1, 2, 3, 4, 5]));
        assert_eq!(seqs(recent.after(1, 100)), Some(vec![2, 3, 4, 5]));
        assert_eq!(seqs(recent.after(2, 2)), Some(vec![3, 4]));
        assert_eq!(seqs(recent.after(3, 2)), Some(vec![4, 5]));
        assert_eq!(seqs(recent.after(5, 100)), None, "row 6 is not here");
        assert_eq!(seqs(recent.after(7, 100)), Some(vec![8, 9]));
        assert_eq!(seqs(recent.after(9, 100)), None, "nothing after the last");
        assert_eq!(seqs(recent.after(-1, 100)), None);
        assert_eq!(seqs(recent.after(i64::MAX, 100)), None);
    }

    #[test]
    fn batches_reported_out_of_order_are_served_in_seq_order() {
        let recent = RecentJournal::new(100);
        recent.committed(batch(4..=6));
        assert_eq!(seqs(recent.after(0, 100)), None, "rows 1-3 are not reported yet");
        recent.committed(batch(1..=3));
        assert_eq!(seqs(recent.after(0, 100)), Some(vec![1, 2, 3, 4, 5, 6]));
    }

    #[test]
    fn a_journal_gone_back_replaces_what_was_kept_from_there_on() {
        let recent = RecentJournal::new(100);
        recent.committed(batch(1..=3));
        recent.committed(batch(4..=6));
        recent.committed(batch(7..=9));
        // The database lost rows 5-9; seq 5 was written again.
        let again = batch(5..=6);
        recent.committed(again.clone());
        assert_eq!(seqs(recent.after(0, 100)), Some(vec![1, 2, 3]), "the batch holding the lost rows went whole");
        assert_eq!(recent.after(4, 100), Some(again));
        assert_eq!(seqs(recent.after(6, 100)), None);
        recent.committed(batch(7..=8));
        assert_eq!(seqs(recent.after(6, 100)), Some(vec![7, 8]));
        // Written again from a seq no kept batch holds, up into one that starts later.
        recent.committed(batch(10..=12));
        recent.committed(batch(9..=10));
        assert_eq!(seqs(recent.after(6, 100)), Some(vec![7, 8, 9, 10]));
        assert_eq!(seqs(recent.after(10, 100)), None, "rows 11-12 were of the journal that went back");
    }

    #[test]
    fn the_oldest_batches_go_first_beyond_the_capacity() {
        let recent = RecentJournal::new(5);
        recent.committed(batch(1..=3));
        recent.committed(batch(4..=6));
        assert_eq!(seqs(recent.after(0, 100)), None, "rows 1-3 were dropped");
        assert_eq!(seqs(recent.after(3, 100)), Some(vec![4, 5, 6]));
        let none = RecentJournal::new(0);
        none.committed(batch(1..=3));
        assert_eq!(seqs(none.after(0, 100)), None);
    }

    #[test]
    fn rows_read_are_let_go_and_nothing_is_kept_while_nobody_reads() {
        let recent = RecentJournal::new(100);
        recent.committed(batch(1..=2));
        recent.committed(batch(3..=4));
        assert_eq!(seqs(recent.after(2, 100)), Some(vec![3, 4]));
        assert_eq!(seqs(recent.after(0, 100)), None, "rows 1-2 were read, and let go");
        assert_eq!(recent.batches.lock().unwrap().rows, 2);
        // The relay runs elsewhere: once enough batches went unread, nothing is kept.
        for seq in 5..=5 + IDLE_AFTER_BATCHES as i64 {
            recent.committed(batch(seq..=seq));
        }
        assert_eq!(recent.batches.lock().unwrap().rows, 0);
        let next = 6 + IDLE_AFTER_BATCHES as i64;
        recent.committed(batch(next..=next));
        assert_eq!(recent.batches.lock().unwrap().rows, 0);
        // A read comes: from then on, batches are kept again.
        assert_eq!(seqs(recent.after(next, 100)), None);
        recent.committed(batch(next + 1..=next + 1));
        assert_eq!(seqs(recent.after(next, 100)), Some(vec![next + 1]));
    }

    #[test]
    fn served_rows_are_the_rows_committed() {
        let recent = RecentJournal::new(100);
        let rows = batch(1..=2);
        recent.committed(rows.clone());
        assert_eq!(recent.after(0, 100).unwrap(), rows);
    }
}
