//! Ledger storage on SQLite: the embedded default's single writer. `BEGIN IMMEDIATE` takes the
//! write lock at the start of each batch, so the balance check and the debit are one step.

use crate::SqliteStore;
use crate::ledger_batch::SqliteLedgerTx;
use async_trait::async_trait;
use pb_domain::StoreError;
use pb_domain::ledger::account::{Account, AccountFlags, AccountId, Balances};
use pb_domain::ledger::asset::AssetCode;
use pb_domain::ledger::batch::execute_batch;
use pb_domain::ledger::engine::PendingState;
use pb_domain::ledger::store::*;
use pb_domain::ledger::transfer::{Transfer, TransferFlags, TransferId};
use pb_store_sql::history::{CLOCK_SKEW_MS, PREV, walk};
use pb_store_sql::store_error;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};

/// The columns `account` reads, as a literal for `concat!` (statements of constant text).
macro_rules! account_columns {
    () => {
        "id, asset, owner_id, code, name, parent_id, flags, debits_pending AS dp, debits_posted AS dq, \
         credits_pending AS cp, credits_posted AS cq, created_at, last_seq"
    };
}
/// The columns `chained` reads, as a literal for `concat!`.
macro_rules! transfer_columns {
    () => {
        "seq, id, debit_account_id, credit_account_id, amount, asset, code, flags, pending_id, expires_at, \
         description, metadata, debit_balance_after, credit_balance_after, created_at, prev_hash, hash, \
         debit_prev, credit_prev"
    };
}
pub(crate) use {account_columns, transfer_columns};

const ACCOUNT_COLUMNS: &str = account_columns!();
const TRANSFER_COLUMNS: &str = transfer_columns!();

fn corrupt(what: &str) -> sqlx::Error {
    sqlx::Error::Protocol(format!("unreadable {what}"))
}

fn parse<T: std::str::FromStr>(r: &SqliteRow, col: &str) -> Result<T, sqlx::Error> {
    let s: String = r.try_get(col)?;
    s.parse().map_err(|_| corrupt(col))
}

fn parse_opt<T: std::str::FromStr>(r: &SqliteRow, col: &str) -> Result<Option<T>, sqlx::Error> {
    let s: Option<String> = r.try_get(col)?;
    s.map(|s| s.parse().map_err(|_| corrupt(col))).transpose()
}

pub(crate) fn account(r: &SqliteRow) -> Result<Account, sqlx::Error> {
    let asset: String = r.try_get("asset")?;
    Ok(Account {
        id: AccountId(parse(r, "id")?),
        asset: AssetCode::parse(&asset).ok_or_else(|| corrupt("asset"))?,
        owner: r.try_get("owner_id")?,
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        parent_id: parse_opt(r, "parent_id")?.map(AccountId),
        flags: AccountFlags::from_bits(r.try_get("flags")?),
        balances: Balances {
            debits_pending: parse(r, "dp")?,
            debits_posted: parse(r, "dq")?,
            credits_pending: parse(r, "cp")?,
            credits_posted: parse(r, "cq")?,
        },
        created_at: r.try_get("created_at")?,
        last_seq: r.try_get("last_seq")?,
    })
}

pub(crate) fn chained(r: &SqliteRow) -> Result<ChainedTransfer, sqlx::Error> {
    let metadata: String = r.try_get("metadata")?;
    Ok(ChainedTransfer {
        seq: r.try_get("seq")?,
        transfer: Transfer {
            id: TransferId(parse(r, "id")?),
            debit_account_id: AccountId(parse(r, "debit_account_id")?),
            credit_account_id: AccountId(parse(r, "credit_account_id")?),
            amount: parse(r, "amount")?,
            asset: r.try_get("asset")?,
            code: r.try_get("code")?,
            flags: TransferFlags::from_bits(r.try_get("flags")?),
            pending_id: parse_opt(r, "pending_id")?.map(TransferId),
            expires_at: r.try_get("expires_at")?,
            description: r.try_get("description")?,
            metadata: serde_json::from_str(&metadata).map_err(|_| corrupt("metadata"))?,
            debit_balance_after: parse_opt(r, "debit_balance_after")?,
            credit_balance_after: parse_opt(r, "credit_balance_after")?,
            created_at: r.try_get("created_at")?,
        },
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
        debit_prev: r.try_get("debit_prev")?,
        credit_prev: r.try_get("credit_prev")?,
    })
}

fn sql(s: String) -> sqlx::AssertSqlSafe<String> {
    // Only constant column lists and `$n` placeholders are formatted in; values are bound.
    sqlx::AssertSqlSafe(s)
}

fn placeholders(n: usize) -> String {
    (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

impl SqliteStore {
    async fn begin_immediate(&self) -> Result<Transaction<'static, Sqlite>, StoreError> {
        self.writer.begin_with("BEGIN IMMEDIATE").await.map_err(store_error)
    }

    async fn find_account(&self, sql_where: &str, binds: &[&str]) -> Result<Option<Account>, StoreError> {
        let mut q = sqlx::query(sql(format!("SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts WHERE {sql_where}")));
        for b in binds {
            q = q.bind(*b);
        }
        let row = q.fetch_optional(&self.pool).await.map_err(store_error)?;
        row.as_ref().map(account).transpose().map_err(store_error)
    }
}

#[async_trait]
impl LedgerStore for SqliteStore {
    async fn create_account(
        &self,
        a: Account,
        idempotency: Option<Idempotency>,
    ) -> Result<Created<Account>, StoreError> {
        let tx = self.begin_immediate().await?;
        let mut ltx = SqliteLedgerTx::new(tx, a.created_at);
        if let Some(k) = &idempotency {
            let prior = ltx.look_up_keys(&[k]).await?;
            if let Some(Some((fingerprint, outcome))) = prior.into_iter().next() {
                if fingerprint != k.fingerprint {
                    return Ok(Created::KeyReused);
                }
                let id: AccountId = serde_json::from_str(&outcome).map_err(|e| StoreError::Other(e.to_string()))?;
                drop(ltx);
                let found =
                    self.account(id).await?.ok_or_else(|| StoreError::Other("replayed account missing".into()))?;
                return Ok(Created::Replayed(found));
            }
        }
        sqlx::query(
            "INSERT INTO ledger_accounts (id, asset, owner_id, code, name, parent_id, flags, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(a.id.0.to_string())
        .bind(a.asset.as_str())
        .bind(&a.owner)
        .bind(&a.code)
        .bind(&a.name)
        .bind(a.parent_id.map(|p| p.0.to_string()))
        .bind(a.flags.bits())
        .bind(a.created_at)
        .execute(&mut *ltx.tx)
        .await
        .map_err(store_error)?;
        if let Some(k) = &idempotency {
            let outcome = serde_json::to_string(&a.id).map_err(|e| StoreError::Other(e.to_string()))?;
            ltx.record_keys(&[(k, outcome)]).await?;
        }
        ltx.tx.commit().await.map_err(store_error)?;
        Ok(Created::New(a))
    }

    async fn account(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        self.find_account("id = $1", &[&id.0.to_string()]).await
    }

    async fn accounts_of(
        &self,
        owners: &[String],
        starting_after: Option<AccountId>,
        limit: u32,
    ) -> Result<Vec<Account>, StoreError> {
        let n = owners.len();
        let mut q = sqlx::query(sql(format!(
            "SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts WHERE owner_id IN ({}) AND (${} IS NULL OR id > ${}) ORDER BY id LIMIT ${}",
            placeholders(n),
            n + 1,
            n + 1,
            n + 2
        )));
        for o in owners {
            q = q.bind(o);
        }
        let rows = q
            .bind(starting_after.map(|a| a.0.to_string()))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        rows.iter().map(account).collect::<Result<_, _>>().map_err(store_error)
    }

    async fn system_account(&self, code: &str, asset: &AssetCode, now_ms: i64) -> Result<Account, StoreError> {
        if let Some(a) =
            self.find_account("owner_id = 'bank' AND code = $1 AND asset = $2", &[code, asset.as_str()]).await?
        {
            return Ok(a);
        }
        let mut tx = self.begin_immediate().await?;
        sqlx::query(
            "INSERT INTO ledger_accounts (id, asset, owner_id, code, name, flags, created_at)
             VALUES ($1, $2, 'bank', $3, $4, 0, $5) ON CONFLICT DO NOTHING",
        )
        .bind(AccountId::new().0.to_string())
        .bind(asset.as_str())
        .bind(code)
        .bind(format!("Bank {code} {asset}"))
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        self.find_account("owner_id = 'bank' AND code = $1 AND asset = $2", &[code, asset.as_str()])
            .await?
            .ok_or_else(|| StoreError::Other("system account missing after insert".into()))
    }

    async fn close_account(&self, id: AccountId) -> Result<CloseOutcome, StoreError> {
        let mut tx = self.begin_immediate().await?;
        let row = sqlx::query(sql(format!("SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts WHERE id = $1")))
            .bind(id.0.to_string())
            .fetch_optional(&mut *tx)
            .await
            .map_err(store_error)?;
        let Some(mut a) = row.as_ref().map(account).transpose().map_err(store_error)? else {
            return Ok(CloseOutcome::NotFound);
        };
        if a.flags.closed {
            return Ok(CloseOutcome::AlreadyClosed);
        }
        let b = a.balances;
        if b.debits_posted != b.credits_posted || b.debits_pending != 0 || b.credits_pending != 0 {
            return Ok(CloseOutcome::NotEmpty);
        }
        a.flags.closed = true;
        sqlx::query("UPDATE ledger_accounts SET flags = $2 WHERE id = $1")
            .bind(id.0.to_string())
            .bind(a.flags.bits())
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(CloseOutcome::Closed(Box::new(a)))
    }

    async fn execute(&self, commands: &[Command], now_ms: i64) -> Result<Vec<CommandOutcome>, StoreError> {
        let tx = self.begin_immediate().await?;
        let mut ltx = SqliteLedgerTx::new(tx, now_ms);
        let outcomes = execute_batch(&mut ltx, commands, now_ms).await?;
        ltx.tx.commit().await.map_err(store_error)?;
        self.recent.committed(ltx.wrote);
        Ok(outcomes)
    }

    async fn transfer(&self, id: TransferId) -> Result<Option<(Transfer, Option<PendingState>)>, StoreError> {
        let row = sqlx::query(sql(format!(
            "SELECT {TRANSFER_COLUMNS}, (SELECT r.flags FROM ledger_transfers r WHERE r.pending_id = t.id) AS resolution
             FROM ledger_transfers t WHERE id = $1"
        )))
        .bind(id.0.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        let Some(row) = row else { return Ok(None) };
        let t = chained(&row).map_err(store_error)?.transfer;
        let resolution: Option<i64> = row.try_get("resolution").map_err(store_error)?;
        let state = t.flags.pending.then(|| match resolution.map(TransferFlags::from_bits) {
            Some(f) if f.post_pending => PendingState::Posted,
            Some(_) => PendingState::Voided,
            None => PendingState::Pending,
        });
        Ok(Some((t, state)))
    }

    async fn account_transfers(
        &self,
        id: AccountId,
        starting_after: Option<TransferId>,
        limit: u32,
    ) -> Result<Vec<Transfer>, StoreError> {
        // Along the account's chain (`walk`), from its last row, or from the row before the
        // cursor when the cursor names this account; a cursor naming another account's
        // transfer pages by its seq, walking past the rows at or after it.
        let rows = sqlx::query(sql(format!(
            "WITH RECURSIVE cursor AS (SELECT seq AS cseq, {PREV} AS cprev, $1 IN (debit_account_id, credit_account_id) AS ours
                 FROM ledger_transfers t WHERE id = $2),
             walk (wseq, wprev, shown) AS (
                 SELECT t.seq, {PREV}, t.seq < coalesce((SELECT cseq FROM cursor), t.seq + 1)
                 FROM ledger_transfers t
                 WHERE t.seq = CASE WHEN $2 IS NULL THEN (SELECT last_seq FROM ledger_accounts WHERE id = $1)
                     ELSE (SELECT CASE WHEN ours THEN cprev
                               ELSE (SELECT last_seq FROM ledger_accounts WHERE id = $1) END FROM cursor) END
                 UNION ALL
                 SELECT t.seq, {PREV}, walk.shown + (t.seq < coalesce((SELECT cseq FROM cursor), t.seq + 1))
                 FROM walk JOIN ledger_transfers t ON t.seq = walk.wprev
                 WHERE walk.shown < $3)
             SELECT {TRANSFER_COLUMNS} FROM walk JOIN ledger_transfers ON seq = wseq
             WHERE $2 IS NULL OR seq < (SELECT cseq FROM cursor)
             ORDER BY seq DESC LIMIT $3"
        )))
        .bind(id.0.to_string())
        .bind(starting_after.map(|t| t.0.to_string()))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows.iter().map(|r| chained(r).map(|c| c.transfer)).collect::<Result<_, _>>().map_err(store_error)
    }

    async fn posted_between(
        &self,
        id: AccountId,
        from_ms: i64,
        to_ms: i64,
        limit: u32,
    ) -> Result<Vec<Transfer>, StoreError> {
        // Back along the chain until a row older than `from_ms` by more than batches' clocks
        // may disagree (a row's time is its batch's clock; seq order is commit order).
        let rows = sqlx::query(sql(format!(
            "WITH RECURSIVE {}
             SELECT {TRANSFER_COLUMNS} FROM walk JOIN ledger_transfers ON seq = wseq
             WHERE posted AND wat >= $2 AND wat < $3
             ORDER BY seq LIMIT $4",
            walk(&format!("walk.wat >= $2 - {CLOCK_SKEW_MS}"))
        )))
        .bind(id.0.to_string())
        .bind(from_ms)
        .bind(to_ms)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows.iter().map(|r| chained(r).map(|c| c.transfer)).collect::<Result<_, _>>().map_err(store_error)
    }

    async fn last_posted_before(&self, id: AccountId, before_ms: i64) -> Result<Option<Transfer>, StoreError> {
        // The first row back along the chain that is posted and older than `before_ms`.
        let row = sqlx::query(sql(format!(
            "WITH RECURSIVE {}
             SELECT {TRANSFER_COLUMNS} FROM walk JOIN ledger_transfers ON seq = wseq
             WHERE posted AND wat < $2",
            walk("NOT (walk.posted AND walk.wat < $2)")
        )))
        .bind(id.0.to_string())
        .bind(before_ms)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.as_ref().map(|r| chained(r).map(|c| c.transfer)).transpose().map_err(store_error)
    }

    async fn expired_pending(&self, now_ms: i64, limit: u32) -> Result<Vec<TransferId>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT t.id FROM ledger_transfers t WHERE t.expires_at IS NOT NULL AND t.expires_at <= $1
               AND NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_id = t.id)
             ORDER BY t.expires_at LIMIT $2",
        )
        .bind(now_ms)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        ids.into_iter()
            .map(|s| s.parse().map(TransferId).map_err(|_| StoreError::Other("unreadable transfer id".into())))
            .collect()
    }

    async fn forget_idempotency_keys(&self, created_before_ms: i64, limit: u32) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM idempotency_keys WHERE rowid IN
                 (SELECT rowid FROM idempotency_keys WHERE created_at < $1 LIMIT $2)",
        )
        .bind(created_before_ms)
        .bind(i64::from(limit))
        .execute(&self.pool)
        .await
        .map_err(store_error)?;
        Ok(done.rows_affected())
    }

    async fn verification_data(&self) -> Result<(Vec<Account>, Vec<ChainedTransfer>), StoreError> {
        // A read transaction: one consistent snapshot in WAL mode.
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let accounts = sqlx::query(sql(format!("SELECT {ACCOUNT_COLUMNS} FROM ledger_accounts ORDER BY id")))
            .fetch_all(&mut *tx)
            .await
            .map_err(store_error)?;
        let transfers = sqlx::query(sql(format!("SELECT {TRANSFER_COLUMNS} FROM ledger_transfers ORDER BY seq")))
            .fetch_all(&mut *tx)
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok((
            accounts.iter().map(account).collect::<Result<_, _>>().map_err(store_error)?,
            transfers.iter().map(chained).collect::<Result<_, _>>().map_err(store_error)?,
        ))
    }
}

pb_store_sql::impl_ledger_records!(SqliteStore, sqlx::sqlite::SqliteRow, TRANSFER_COLUMNS, chained, writes = writer);
