//! A ledger batch's connection, and the transaction it opens only when it needs one.
//!
//! A batch decided from the instance's view (ledger_view.rs) sends one statement: its closing
//! one. It goes out with no BEGIN and no COMMIT: the journal head's lock is queued inside that
//! statement's Sync (the patched driver's `queue_in_next_query_sync`, third_party/README.md),
//! so PostgreSQL runs the two as one implicit transaction, commits it at the Sync and answers
//! once. With BEGIN, the lock, the statement and COMMIT each answered on their own, every batch
//! cost PostgreSQL four replies (four flushes, four TLS records) and the batch thread up to
//! four wake-ups. A batch that reads first, or reads a hold's resolution, opens a transaction:
//! its BEGIN goes in the same write as its first statement, the head's lock inside that
//! statement's Sync, and its COMMIT right behind its closing statement.

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};

/// The journal head's lock, taken first by every batch and held to its commit, so batches (of
/// every instance) run one after another: journal sequence numbers are assigned, and committed,
/// in one order. Taken once the head has reached `after_seq`, or is held by the batch that
/// will take it there (`ledger_take_head`, migration 0011): a batch decided while the one
/// before is still in PostgreSQL must take the head after it, whichever request arrives first.
fn take_head(after_seq: i64) -> String {
    format!("SELECT ledger_take_head({after_seq})")
}

/// The journal head's lock as soon as it is free: what `ledger_take_head(0)` does, without a
/// PL/pgSQL call, and one text, so that it is prepared once per connection
/// (`queue_prepared_in_next_query_sync`, third_party/README.md) instead of parsed, analyzed and
/// planned again in every batch: those and the function's call were about 5% of the batch
/// backend's CPU on single transfers (bench/RESULTS.md).
const HEAD_LOCK: &str = "SELECT 1 FROM ledger_head WHERE id = 1 FOR UPDATE";

pub(crate) struct BatchConnection {
    /// Where the connection comes from, once the batch needs it: one decided from the view
    /// whose closing statement goes on the pipeline (pipeline.rs) never does, and so does not
    /// take one (nor have an idle one pinged) for nothing.
    pool: PgPool,
    /// Until a transaction is opened (or for good, when the batch closes without one).
    conn: Option<PoolConnection<Postgres>>,
    tx: Option<Transaction<'static, Postgres>>,
    /// The head's lock, asked for and not yet queued: it goes ahead of the batch's first
    /// statement.
    head_after: Option<i64>,
}

fn gone() -> sqlx::Error {
    sqlx::Error::Protocol("the ledger batch's connection was already given up".into())
}

impl BatchConnection {
    pub(crate) fn new(pool: PgPool) -> Self {
        Self { pool, conn: None, tx: None, head_after: None }
    }

    /// The connection, taken from the pool the first time (no transaction open).
    async fn conn(&mut self) -> Result<PoolConnection<Postgres>, sqlx::Error> {
        match self.conn.take() {
            Some(conn) => Ok(conn),
            None => self.pool.acquire().await,
        }
    }

    /// The batch takes the journal head (after `after_seq`) before its first statement.
    pub(crate) fn take_head_after(&mut self, after_seq: i64) {
        self.head_after = Some(after_seq);
    }

    /// The batch's transaction, opened now if it is not yet: its BEGIN goes in the same write as
    /// the next statement, and the head's lock, if asked for, inside that statement's Sync.
    pub(crate) async fn tx(&mut self) -> Result<&mut PgConnection, sqlx::Error> {
        if self.tx.is_none() {
            let conn = self.conn().await?;
            // `Pool::begin` does the same for a connection it has just acquired.
            self.tx = Some(Transaction::begin(conn, None).await?);
        }
        let tx = self.tx.as_deref_mut().ok_or_else(gone)?;
        // Also when the transaction is already open: a batch that resolves holds reads them
        // first, and asks for the head only then. Queued only on opening, its lock was never
        // taken: such a batch ran beside others, and failed on the journal's sequence (found by
        // crates/ledger/tests/model with two instances).
        if let Some(after_seq) = self.head_after.take() {
            tx.queue_in_next_query_sync(&take_head(after_seq));
        }
        Ok(tx)
    }

    /// The connection for the batch's closing statement: in its transaction, with COMMIT
    /// written right behind the statement; or, with no transaction opened, the bare connection
    /// with the head's lock queued inside the statement's Sync (one implicit transaction).
    /// Either way, once the statement's answer is in, the batch has committed or rolled back.
    pub(crate) async fn closing(&mut self) -> Result<&mut PgConnection, sqlx::Error> {
        if self.tx.is_some() {
            let head_after = self.head_after.take();
            let tx = self.tx.as_deref_mut().ok_or_else(gone)?;
            if let Some(after_seq) = head_after {
                tx.queue_in_next_query_sync(&take_head(after_seq));
            }
            tx.commit_after_next_query();
            return Ok(tx);
        }
        let conn = self.conn().await?;
        let conn = &mut **self.conn.insert(conn);
        if let Some(after_seq) = self.head_after.take() {
            conn.queue_in_next_query_sync(&take_head(after_seq));
        }
        Ok(conn)
    }

    /// With no transaction opened, the closing statement may go on the pipeline (pipeline.rs)
    /// instead of this connection: the statement to run inside its Sync ahead of it (the
    /// head's lock, `HEAD_LOCK`, if asked for). `None` once a transaction is open.
    ///
    /// On the pipeline the head is taken as soon as it is free, not after `after_seq`: every
    /// batch decided from the view goes there, behind the ones decided before it, and a batch
    /// that read first (on a lane) holds the head from its first statement, before it was
    /// decided. So the batch before this one has either run already or holds the head's lock
    /// when this one asks. Waiting for the head to reach `after_seq` would only cost, if the
    /// batch before failed, up to 50 ms before this one's refusal, with every batch queued
    /// behind it waiting too.
    pub(crate) fn pipelinable(&mut self) -> Option<Option<&'static str>> {
        if self.tx.is_some() {
            return None;
        }
        Some(self.head_after.take().map(|_| HEAD_LOCK))
    }

    /// Commits the transaction, if one was opened: a closing statement sent without one
    /// committed at its Sync.
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        match self.tx {
            Some(tx) => tx.commit().await,
            None => Ok(()),
        }
    }

    /// The batch's transaction, opened now if it is not yet, for statements of the caller's.
    pub(crate) async fn into_tx(mut self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.tx().await?;
        self.tx.ok_or_else(gone)
    }
}
