//! `impl OutboxStore` and `impl AdjustmentStore`: plain rows that both databases store alike
//! (ids and amounts as text, times as integer milliseconds). The outbox is the journal, read
//! with the store's own transfer columns and row parser, which it passes in.

/// Expands both impls for a store type with a `pool` field, given its row type, the column
/// list of a journal row, the function that parses one into a `ChainedTransfer`, and the pool
/// field its writes go through (`writes = pool`; SQLite's is its one writer connection).
#[macro_export]
macro_rules! impl_ledger_records {
    ($store:ty, $row:ty, $transfer_columns:expr, $chained:path, writes = $writes:ident) => {
        const _: () = {
            use pb_domain::StoreError;
            use pb_domain::ledger::Amount;
            use pb_domain::ledger::account::AccountId;
            use pb_domain::ledger::adjustment::{Adjustment, AdjustmentStatus, Decision, Direction};
            use pb_domain::ledger::asset::AssetCode;

            use pb_domain::ledger::store::{AdjustmentStore, ChainedTransfer, OutboxStore};
            use pb_domain::ledger::transfer::TransferId;
            use $crate::sqlx::{self, Row};
            use $crate::store_error;

            const ADJUSTMENT_COLUMNS: &str = "id, account_id, asset, amount, direction, reason, corrects, status, \
                maker, checker, transfer_id, failure, created_at, decided_at";

            fn corrupt(what: &str) -> sqlx::Error {
                sqlx::Error::Protocol(format!("unexpected value in {what}"))
            }

            fn uuid_col(r: &$row, col: &str) -> Result<Option<uuid::Uuid>, sqlx::Error> {
                let s: Option<String> = r.try_get(col)?;
                s.map(|s| uuid::Uuid::try_parse(&s).map_err(|_| corrupt(col))).transpose()
            }

            fn adjustment(r: &$row) -> Result<Adjustment, sqlx::Error> {
                let asset: String = r.try_get("asset")?;
                let amount: String = r.try_get("amount")?;
                let direction: String = r.try_get("direction")?;
                let status: String = r.try_get("status")?;
                Ok(Adjustment {
                    id: r.try_get("id")?,
                    account_id: AccountId(uuid_col(r, "account_id")?.ok_or_else(|| corrupt("account_id"))?),
                    asset: AssetCode::parse(&asset).ok_or_else(|| corrupt("asset"))?,
                    amount: Amount::parse(&amount).map_err(|_| corrupt("amount"))?,
                    direction: Direction::parse(&direction).ok_or_else(|| corrupt("direction"))?,
                    reason: r.try_get("reason")?,
                    corrects: uuid_col(r, "corrects")?.map(TransferId),
                    status: AdjustmentStatus::parse(&status).ok_or_else(|| corrupt("status"))?,
                    maker: r.try_get("maker")?,
                    checker: r.try_get("checker")?,
                    transfer_id: uuid_col(r, "transfer_id")?.map(TransferId),
                    failure: r.try_get("failure")?,
                    created_at: r.try_get("created_at")?,
                    decided_at: r.try_get("decided_at")?,
                })
            }

            #[$crate::async_trait]
            impl OutboxStore for $store {
                async fn journal_after(&self, position: i64, limit: u32) -> Result<Vec<ChainedTransfer>, StoreError> {
                    // The rows this instance committed itself come from memory (recent_journal.rs),
                    // as far as they run on; the rest from the database.
                    let mut rows = self.recent.after(position, limit as usize).unwrap_or_default();
                    $crate::metrics::counter!("ledger_outbox_rows_read_total", "from" => "memory")
                        .increment(rows.len() as u64);
                    let Some(rest) = (limit as usize).checked_sub(rows.len()).filter(|&n| n > 0) else {
                        return Ok(rows);
                    };
                    let from = rows.last().map_or(position, |r| r.seq);
                    let read = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {} FROM ledger_transfers WHERE seq > $1 ORDER BY seq LIMIT $2",
                        $transfer_columns
                    )))
                    .bind(from)
                    .bind(rest as i64)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(store_error)?;
                    $crate::metrics::counter!("ledger_outbox_rows_read_total", "from" => "database")
                        .increment(read.len() as u64);
                    for r in &read {
                        rows.push($chained(r).map_err(store_error)?);
                    }
                    Ok(rows)
                }

                async fn last_position(&self) -> Result<i64, StoreError> {
                    sqlx::query_scalar("SELECT seq FROM ledger_head WHERE id = 1")
                        .fetch_one(&self.pool)
                        .await
                        .map_err(store_error)
                }

                async fn cursor(&self, consumer: &str) -> Result<i64, StoreError> {
                    let p: Option<i64> = sqlx::query_scalar("SELECT position FROM outbox_cursors WHERE consumer = $1")
                        .bind(consumer)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(store_error)?;
                    Ok(p.unwrap_or(0))
                }

                async fn set_cursor(&self, consumer: &str, position: i64) -> Result<(), StoreError> {
                    // Never backwards: a stale relay that lost its lease cannot rewind a newer one.
                    sqlx::query(
                        "INSERT INTO outbox_cursors (consumer, position) VALUES ($1, $2)
                         ON CONFLICT (consumer) DO UPDATE SET position = excluded.position
                         WHERE outbox_cursors.position < excluded.position",
                    )
                    .bind(consumer)
                    .bind(position)
                    .execute(&self.$writes)
                    .await
                    .map_err(store_error)?;
                    Ok(())
                }
            }

            #[$crate::async_trait]
            impl AdjustmentStore for $store {
                async fn create_adjustment(&self, a: &Adjustment) -> Result<(), StoreError> {
                    sqlx::query(
                        "INSERT INTO ledger_adjustments (id, account_id, asset, amount, direction, reason, corrects,
                             status, maker, created_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
                    .bind(&a.id)
                    .bind(a.account_id.0.to_string())
                    .bind(a.asset.as_str())
                    .bind(a.amount.units().to_string())
                    .bind(a.direction.as_str())
                    .bind(&a.reason)
                    .bind(a.corrects.map(|t| t.0.to_string()))
                    .bind(a.status.as_str())
                    .bind(&a.maker)
                    .bind(a.created_at)
                    .execute(&self.$writes)
                    .await
                    .map_err(store_error)?;
                    Ok(())
                }

                async fn adjustment(&self, id: &str) -> Result<Option<Adjustment>, StoreError> {
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {ADJUSTMENT_COLUMNS} FROM ledger_adjustments WHERE id = $1"
                    )))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(store_error)?;
                    row.as_ref().map(adjustment).transpose().map_err(store_error)
                }

                async fn adjustments(
                    &self,
                    status: Option<AdjustmentStatus>,
                    starting_after: Option<&str>,
                    limit: u32,
                ) -> Result<Vec<Adjustment>, StoreError> {
                    // Ids are UUIDv7: ordering by id is ordering by creation.
                    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {ADJUSTMENT_COLUMNS} FROM ledger_adjustments
                         WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR id < $2)
                         ORDER BY id DESC LIMIT $3"
                    )))
                    .bind(status.map(AdjustmentStatus::as_str))
                    .bind(starting_after)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(store_error)?;
                    rows.iter().map(adjustment).collect::<Result<_, _>>().map_err(store_error)
                }

                async fn decide_adjustment(&self, id: &str, d: &Decision) -> Result<bool, StoreError> {
                    let done = sqlx::query(
                        "UPDATE ledger_adjustments SET status = $2, checker = $3, transfer_id = $4, failure = $5,
                             decided_at = $6
                         WHERE id = $1 AND status = 'pending_approval'",
                    )
                    .bind(id)
                    .bind(d.status.as_str())
                    .bind(&d.checker)
                    .bind(d.transfer_id.map(|t| t.0.to_string()))
                    .bind(&d.failure)
                    .bind(d.decided_at)
                    .execute(&self.$writes)
                    .await
                    .map_err(store_error)?;
                    Ok(done.rows_affected() == 1)
                }
            }
        };
    };
}
