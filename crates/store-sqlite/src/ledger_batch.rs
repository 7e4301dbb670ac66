//! One ledger batch on SQLite, inside a `BEGIN IMMEDIATE` transaction (the database's one write
//! lock, held from the first statement: the balance check and the debit are one step).
//!
//! Each step is one statement whatever the batch's size, its rows bound as one JSON parameter
//! (`json_rows`): the keys looked up, the accounts read, the head; then the counters, the keys
//! with their outcomes, the journal rows and the head written. A key is written once, with its
//! outcome: no other writer can take it between the lookup and the write, since this
//! transaction holds the write lock throughout.

use crate::json_rows::{JsonRows, shown_list};
use crate::ledger::{account, account_columns, chained, transfer_columns};
use pb_domain::StoreError;
use pb_domain::ledger::account::{Account, AccountId};
use pb_domain::ledger::batch::{ClaimedAndLocked, LedgerTx};
use pb_domain::ledger::store::{ChainedTransfer, Idempotency};
use pb_domain::ledger::transfer::{Transfer, TransferFlags, TransferId};
use pb_store_sql::store_error;
use sqlx::{Sqlite, Transaction};

const LOOK_UP_KEYS: &str = "SELECT v.key, k.fingerprint, k.outcome FROM json_each($1) AS v
     JOIN idempotency_keys AS k ON k.owner_id = v.value ->> 0 AND k.key = v.value ->> 1";
const RECORD_KEYS: &str = "INSERT INTO idempotency_keys (owner_id, key, fingerprint, outcome, created_at)
     SELECT value ->> 0, value ->> 1, unhex(value ->> 2), value ->> 3, $2 FROM json_each($1)";
const LOCK_ACCOUNTS: &str = concat!(
    "SELECT ",
    account_columns!(),
    " FROM ledger_accounts WHERE id IN (SELECT value FROM json_each($1)) ORDER BY id"
);
const READ_HEAD: &str = "SELECT seq, hash FROM ledger_head WHERE id = 1";
const WRITE_COUNTERS: &str = "UPDATE ledger_accounts SET debits_pending = v.value ->> 1, debits_posted = v.value ->> 2,
         credits_pending = v.value ->> 3, credits_posted = v.value ->> 4, last_seq = v.value ->> 5
     FROM json_each($1) AS v WHERE ledger_accounts.id = v.value ->> 0";
const WRITE_JOURNAL: &str = "INSERT INTO ledger_transfers (seq, id, debit_account_id, credit_account_id, amount, asset,
         code, flags, pending_id, expires_at, description, metadata, debit_balance_after, credit_balance_after,
         created_at, prev_hash, hash, debit_prev, credit_prev)
     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7,
         value ->> 8, value ->> 9, value ->> 10, value ->> 11, value ->> 12, value ->> 13, value ->> 14,
         unhex(value ->> 15), unhex(value ->> 16), value ->> 17, value ->> 18
     FROM json_each($1)";
const MOVE_HEAD: &str = "UPDATE ledger_head SET seq = $1, hash = $2 WHERE id = 1";
const TRANSFERS_BY_ID: &str =
    concat!("SELECT ", transfer_columns!(), " FROM ledger_transfers WHERE id IN (SELECT value FROM json_each($1))");
const RESOLUTIONS: &str =
    "SELECT pending_id, flags FROM ledger_transfers WHERE pending_id IN (SELECT value FROM json_each($1))";

pub(crate) struct SqliteLedgerTx {
    pub(crate) tx: Transaction<'static, Sqlite>,
    /// When the batch runs: the keys' `created_at`.
    now_ms: i64,
    /// The journal rows `write` wrote, for `SqliteStore::recent` once the batch has committed.
    pub(crate) wrote: Vec<ChainedTransfer>,
}

impl SqliteLedgerTx {
    pub(crate) fn new(tx: Transaction<'static, Sqlite>, now_ms: i64) -> Self {
        Self { tx, now_ms, wrote: Vec::new() }
    }

    /// Per claim, in order: the earlier request's (fingerprint, outcome) if its key is taken.
    pub(crate) async fn look_up_keys(
        &mut self,
        claims: &[&Idempotency],
    ) -> Result<Vec<Option<(Vec<u8>, String)>>, StoreError> {
        let mut out = vec![None; claims.len()];
        if claims.is_empty() {
            return Ok(out);
        }
        let mut rows = JsonRows::with_capacity(claims.len(), 64);
        for c in claims {
            rows.row().text(&c.owner).text(&c.key);
        }
        let found: Vec<(i64, Vec<u8>, String)> =
            sqlx::query_as(LOOK_UP_KEYS).bind(rows.finish()).fetch_all(&mut *self.tx).await.map_err(store_error)?;
        for (index, fingerprint, outcome) in found {
            let slot = usize::try_from(index).ok().and_then(|i| out.get_mut(i));
            *slot.ok_or_else(|| StoreError::Other("key lookup answered out of range".into()))? =
                Some((fingerprint, outcome));
        }
        Ok(out)
    }

    /// Records each key with its outcome (the keys were looked up free in this transaction).
    pub(crate) async fn record_keys(&mut self, outcomes: &[(&Idempotency, String)]) -> Result<(), StoreError> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let mut rows = JsonRows::with_capacity(outcomes.len(), 160);
        for (k, outcome) in outcomes {
            rows.row().text(&k.owner).text(&k.key).hex(&k.fingerprint).text(outcome);
        }
        let done = sqlx::query(RECORD_KEYS)
            .bind(rows.finish())
            .bind(self.now_ms)
            .execute(&mut *self.tx)
            .await
            .map_err(store_error)?;
        expect_rows("idempotency keys recorded", done.rows_affected(), outcomes.len())
    }

    async fn lock_accounts(&mut self, ids: &[AccountId]) -> Result<Vec<Account>, StoreError> {
        // The IMMEDIATE transaction already holds the database's write lock.
        let rows = sqlx::query(LOCK_ACCOUNTS)
            .bind(shown_list(ids.iter().map(|id| id.0)))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(store_error)?;
        rows.iter().map(account).collect::<Result<_, _>>().map_err(store_error)
    }

    async fn read_head(&mut self) -> Result<(i64, [u8; 32]), StoreError> {
        let (seq, hash): (i64, Vec<u8>) =
            sqlx::query_as(READ_HEAD).fetch_one(&mut *self.tx).await.map_err(store_error)?;
        Ok((seq, hash.try_into().map_err(|_| StoreError::Other("ledger head hash is not 32 bytes".into()))?))
    }

    async fn write_counters(&mut self, accounts: &[Account]) -> Result<(), StoreError> {
        if accounts.is_empty() {
            return Ok(());
        }
        let mut rows = JsonRows::with_capacity(accounts.len(), 100);
        for a in accounts {
            let b = a.balances;
            rows.row()
                .shown(a.id.0)
                .shown(b.debits_pending)
                .shown(b.debits_posted)
                .shown(b.credits_pending)
                .shown(b.credits_posted)
                .opt_int(a.last_seq);
        }
        let done = sqlx::query(WRITE_COUNTERS).bind(rows.finish()).execute(&mut *self.tx).await.map_err(store_error)?;
        expect_rows("accounts updated", done.rows_affected(), accounts.len())
    }

    async fn write_journal(&mut self, journal: &[ChainedTransfer]) -> Result<(), StoreError> {
        let mut rows = JsonRows::with_capacity(journal.len(), 400);
        for c in journal {
            let t = &c.transfer;
            let metadata = serde_json::to_string(&t.metadata).map_err(|e| StoreError::Other(e.to_string()))?;
            rows.row()
                .int(c.seq)
                .shown(t.id.0)
                .shown(t.debit_account_id.0)
                .shown(t.credit_account_id.0)
                .shown(t.amount)
                .text(&t.asset)
                .text(&t.code)
                .int(t.flags.bits())
                .opt_shown(t.pending_id.map(|p| p.0))
                .opt_int(t.expires_at)
                .opt_text(t.description.as_deref())
                .text(&metadata)
                .opt_shown(t.debit_balance_after)
                .opt_shown(t.credit_balance_after)
                .int(t.created_at)
                .hex(&c.prev_hash)
                .hex(&c.hash)
                .opt_int(c.debit_prev)
                .opt_int(c.credit_prev);
        }
        let done = sqlx::query(WRITE_JOURNAL).bind(rows.finish()).execute(&mut *self.tx).await.map_err(store_error)?;
        expect_rows("journal rows inserted", done.rows_affected(), journal.len())
    }
}

/// A statement touched as many rows as the batch sent, or the batch fails (and rolls back).
fn expect_rows(what: &str, got: u64, sent: usize) -> Result<(), StoreError> {
    if usize::try_from(got).ok() == Some(sent) {
        Ok(())
    } else {
        Err(StoreError::Other(format!("{what}: {got} of {sent}")))
    }
}

#[async_trait::async_trait]
impl LedgerTx for SqliteLedgerTx {
    async fn claim_and_lock(
        &mut self,
        claims: &[&Idempotency],
        _now_ms: i64,
        ids: &[AccountId],
    ) -> Result<ClaimedAndLocked, StoreError> {
        let prior = self.look_up_keys(claims).await?;
        let accounts = if ids.is_empty() { Vec::new() } else { self.lock_accounts(ids).await? };
        Ok(ClaimedAndLocked { prior, accounts, head: self.read_head().await? })
    }

    async fn transfers_by_id(&mut self, ids: &[TransferId]) -> Result<Vec<Transfer>, StoreError> {
        let rows = sqlx::query(TRANSFERS_BY_ID)
            .bind(shown_list(ids.iter().map(|id| id.0)))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(store_error)?;
        rows.iter().map(|r| chained(r).map(|c| c.transfer)).collect::<Result<_, _>>().map_err(store_error)
    }

    async fn resolutions(&mut self, pending_ids: &[TransferId]) -> Result<Vec<(TransferId, bool)>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(RESOLUTIONS)
            .bind(shown_list(pending_ids.iter().map(|id| id.0)))
            .fetch_all(&mut *self.tx)
            .await
            .map_err(store_error)?;
        rows.into_iter()
            .map(|(id, flags)| {
                let id = id.parse().map_err(|_| StoreError::Other("unreadable pending_id".into()))?;
                Ok((TransferId(id), TransferFlags::from_bits(flags).post_pending))
            })
            .collect()
    }

    async fn write(
        &mut self,
        accounts: Vec<Account>,
        outcomes: &[(&Idempotency, String)],
        journal: &[ChainedTransfer],
    ) -> Result<(), StoreError> {
        self.write_counters(&accounts).await?;
        self.record_keys(outcomes).await?;
        let Some(last) = journal.last() else { return Ok(()) };
        self.write_journal(journal).await?;
        sqlx::query(MOVE_HEAD).bind(last.seq).bind(&last.hash).execute(&mut *self.tx).await.map_err(store_error)?;
        Ok(())
    }

    fn wrote(&mut self, journal: Vec<ChainedTransfer>) {
        self.wrote = journal;
    }
}
