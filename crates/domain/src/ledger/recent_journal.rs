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
use std::sync::{Arc, Mutex, PoisonError, mpsc};

/// Rows kept by default: at the relay's 200 ms tick this covers 80,000 transfers a second, far
/// above what one instance commits; a relay further behind reads the database.
pub const DEFAULT_CAPACITY: usize = 16_384;

type Batch = Arc<Vec<ChainedTransfer>>;

#[derive(Debug)]
pub struct RecentJournal {
    capacity: usize,
    /// Committed batches on their way in. The batch thread only sends: it never waits for the
    /// lock below, whose holder, on a busy machine, the kernel may have put aside mid-read.
    inbox: mpsc::Sender<Vec<ChainedTransfer>>,
    /// Rows sent and not yet taken in by a read.
    sent: AtomicUsize,
    kept: Mutex<Kept>,
}

#[derive(Debug)]
struct Kept {
    inbox: mpsc::Receiver<Vec<ChainedTransfer>>,
    /// Each committed batch's rows (consecutive seqs), by its first seq. Batches in flight
    /// together may report their commits out of order, so they are kept sorted, not appended.
    by_first_seq: BTreeMap<i64, Batch>,
    rows: usize,
}

impl Kept {
    fn take_in(&mut self, rows: Vec<ChainedTransfer>, out: &mut Vec<Batch>) {
        let (Some(first), Some(last)) = (rows.first().map(|r| r.seq), rows.last().map(|r| r.seq)) else { return };
        debug_assert!(rows.iter().zip(first..).all(|(r, seq)| r.seq == seq), "a batch's rows are consecutive");
        // Batches committed one after another never share a seq, whatever order they are
        // reported in. One that does means the journal went back (a database restored, or
        // failed over to a replica that lacked the last commits): what is kept from that seq
        // on is no longer the journal, so it goes.
        let holding_first = self.by_first_seq.range(..=first).next_back().filter(|&(&f, r)| ends_after(f, r, first));
        let overlapping = holding_first.or_else(|| self.by_first_seq.range(first..=last).next()).map(|(&f, _)| f);
        if let Some(from) = overlapping {
            let gone = self.by_first_seq.split_off(&from);
            self.rows -= gone.values().map(|r| r.len()).sum::<usize>();
            out.extend(gone.into_values());
        }
        self.rows += rows.len();
        self.by_first_seq.insert(first, Arc::new(rows));
    }

    /// Takes out every batch wholly at or before `read_to`, then the oldest until at most
    /// `keep` rows are left.
    fn trim(&mut self, keep: usize, read_to: i64, out: &mut Vec<Batch>) {
        while let Some(entry) = self.by_first_seq.first_entry() {
            let read = !ends_after(*entry.key(), entry.get(), read_to.saturating_add(1));
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
    /// Keeps up to about `capacity` rows not yet read (a batch is kept or dropped whole), and
    /// up to twice that waiting for a read; 0 keeps none.
    pub fn new(capacity: usize) -> Self {
        let (inbox, received) = mpsc::channel();
        Self {
            capacity,
            inbox,
            sent: AtomicUsize::new(0),
            kept: Mutex::new(Kept { inbox: received, by_first_seq: BTreeMap::new(), rows: 0 }),
        }
    }

    /// The rows of one batch, in seq order, once its commit succeeded: never before, since
    /// `after` hands them out as committed. Moved in, not copied, and without a lock: the batch
    /// thread calls this, and it is the ledger's serial section. The reader (`after`) takes
    /// them in and lets go of what it has read.
    pub fn committed(&self, rows: Vec<ChainedTransfer>) {
        let n = rows.len();
        if n == 0 || self.capacity == 0 {
            return;
        }
        // Nobody reads here (another instance holds the relay's lease), or the reader is far
        // behind: what waits is bounded, and a batch beyond it is not kept.
        if self.sent.fetch_add(n, Ordering::Relaxed) + n > 2 * self.capacity {
            self.sent.fetch_sub(n, Ordering::Relaxed);
            return;
        }
        if self.inbox.send(rows).is_err() {
            self.sent.fetch_sub(n, Ordering::Relaxed);
        }
    }

    /// Up to `limit` rows after `position`, in seq order, as far as they run on without a gap;
    /// None when the row right after `position` is not here (read the database instead). The
    /// reader has read up to `position`: what is kept up to there, and beyond the capacity, is
    /// let go.
    pub fn after(&self, position: i64, limit: usize) -> Option<Vec<ChainedTransfer>> {
        let want = position.checked_add(1)?;
        // The batches needed, taken under the lock; their rows are copied, and those let go
        // freed, outside it.
        let mut run: Vec<(usize, usize, Batch)> = Vec::new();
        let mut dropped = Vec::new();
        {
            let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
            while let Ok(rows) = kept.inbox.try_recv() {
                self.sent.fetch_sub(rows.len(), Ordering::Relaxed);
                kept.take_in(rows, &mut dropped);
            }
            kept.trim(self.capacity, position, &mut dropped);
            let holding = kept.by_first_seq.range(..=want).next_back();
            let (mut next, mut taken) = (want, 0);
            for (&first, rows) in holding.into_iter().chain(kept.by_first_seq.range(want.saturating_add(1)..)) {
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

    /// Rows kept and waiting, for tests.
    #[cfg(test)]
    fn held(&self) -> usize {
        let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        kept.rows + self.sent.load(Ordering::Relaxed)
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
    fn rows_read_are_let_go_and_what_waits_unread_is_bounded() {
        let recent = RecentJournal::new(100);
        recent.committed(batch(1..=2));
        recent.committed(batch(3..=4));
        assert_eq!(seqs(recent.after(2, 100)), Some(vec![3, 4]));
        assert_eq!(seqs(recent.after(0, 100)), None, "rows 1-2 were read, and let go");
        assert_eq!(recent.held(), 2);
        // The relay runs elsewhere: no more than twice the capacity waits.
        for first in (5..1_005).step_by(10) {
            recent.committed(batch(first..=first + 9));
        }
        assert_eq!(recent.held(), 2 + 200);
        // A read comes: the read rows and, beyond the capacity, the oldest go.
        assert_eq!(seqs(recent.after(4, 3)), None, "rows 5-104 went");
        assert_eq!(recent.held(), 100);
        assert_eq!(seqs(recent.after(104, 3)), Some(vec![105, 106, 107]));
    }

    #[test]
    fn served_rows_are_the_rows_committed() {
        let recent = RecentJournal::new(100);
        let rows = batch(1..=2);
        recent.committed(rows.clone());
        assert_eq!(recent.after(0, 100).unwrap(), rows);
    }
}
