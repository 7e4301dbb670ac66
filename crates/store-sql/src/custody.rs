//! `impl CustodyStore`, identical SQL for both databases but for how an Idempotency-Key is
//! found: `$key_match`, a condition on `$1` (owner) and `$2` (key) that uses the database's
//! index on `idempotency_keys`.

#[macro_export]
macro_rules! impl_custody_store {
    ($store:ty, $row:ty, $key_match:literal) => {
        const _: () = {
            use pb_domain::StoreError;
            use pb_domain::custody::{CustodyStore, Deposit, DepositAddress, Withdrawal};
            use $crate::sqlx::{self, Row};
            use $crate::{is_unique_violation, store_error};

            fn address(r: &$row) -> Result<DepositAddress, sqlx::Error> {
                let index: i64 = r.try_get("derivation_index")?;
                Ok(DepositAddress {
                    chain: r.try_get("chain")?,
                    address: r.try_get("address")?,
                    owner: r.try_get("owner_id")?,
                    index: u32::try_from(index).map_err(|_| sqlx::Error::Protocol("derivation_index".into()))?,
                    created_at: r.try_get("created_at")?,
                })
            }

            const DEPOSIT_COLUMNS: &str = "id, chain, asset, tx_hash, log_index, address, owner_id, amount, \
                block_number, block_hash, status, transfer_id, seen_at, decided_at";

            fn deposit(r: &$row) -> Result<Deposit, sqlx::Error> {
                let bad = |c: &str| sqlx::Error::Protocol(format!("unreadable deposits.{c}"));
                let amount: String = r.try_get("amount")?;
                let log_index: i64 = r.try_get("log_index")?;
                let block: i64 = r.try_get("block_number")?;
                Ok(Deposit {
                    id: r.try_get("id")?,
                    chain: r.try_get("chain")?,
                    asset: r.try_get("asset")?,
                    tx_hash: r.try_get("tx_hash")?,
                    log_index: u32::try_from(log_index).map_err(|_| bad("log_index"))?,
                    address: r.try_get("address")?,
                    owner: r.try_get("owner_id")?,
                    amount: amount.parse().map_err(|_| bad("amount"))?,
                    block_number: u64::try_from(block).map_err(|_| bad("block_number"))?,
                    block_hash: r.try_get("block_hash")?,
                    status: r.try_get("status")?,
                    transfer_id: r.try_get("transfer_id")?,
                    seen_at: r.try_get("seen_at")?,
                    decided_at: r.try_get("decided_at")?,
                })
            }

            const WITHDRAWAL_COLUMNS: &str = "id, owner_id, account_id, chain, asset, to_address, amount, fee, \
                hold_ids, status, nonce, raw_tx, tx_hash, old_hashes, max_fee, tip, failure, created_at, updated_at";

            fn withdrawal(r: &$row) -> Result<Withdrawal, sqlx::Error> {
                let bad = |c: &str| sqlx::Error::Protocol(format!("unreadable withdrawals.{c}"));
                let u128_of = |c: &str| -> Result<u128, sqlx::Error> {
                    let s: String = r.try_get(c)?;
                    s.parse().map_err(|_| bad(c))
                };
                let opt_u128 = |c: &str| -> Result<Option<u128>, sqlx::Error> {
                    let s: Option<String> = r.try_get(c)?;
                    s.map(|s| s.parse().map_err(|_| bad(c))).transpose()
                };
                let nonce: Option<i64> = r.try_get("nonce")?;
                Ok(Withdrawal {
                    id: r.try_get("id")?,
                    owner: r.try_get("owner_id")?,
                    account_id: r.try_get("account_id")?,
                    chain: r.try_get("chain")?,
                    asset: r.try_get("asset")?,
                    to_address: r.try_get("to_address")?,
                    amount: u128_of("amount")?,
                    fee: u128_of("fee")?,
                    hold_ids: r.try_get("hold_ids")?,
                    status: r.try_get("status")?,
                    nonce: nonce.map(|n| u64::try_from(n).map_err(|_| bad("nonce"))).transpose()?,
                    raw_tx: r.try_get("raw_tx")?,
                    tx_hash: r.try_get("tx_hash")?,
                    old_hashes: r.try_get("old_hashes")?,
                    max_fee: opt_u128("max_fee")?,
                    tip: opt_u128("tip")?,
                    failure: r.try_get("failure")?,
                    created_at: r.try_get("created_at")?,
                    updated_at: r.try_get("updated_at")?,
                })
            }

            #[$crate::async_trait]
            impl CustodyStore for $store {
                async fn funded_deposit_addresses(&self, chain: &str) -> Result<Vec<DepositAddress>, StoreError> {
                    let rows = sqlx::query(
                        "SELECT chain, address, owner_id, derivation_index, created_at FROM deposit_addresses a
                         WHERE chain = $1 AND EXISTS (SELECT 1 FROM deposits d WHERE d.chain = a.chain
                             AND d.address = a.address AND d.status = 'credited')
                         ORDER BY derivation_index",
                    )
                    .bind(chain)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(store_error)?;
                    rows.iter().map(address).collect::<Result<_, _>>().map_err(store_error)
                }

                async fn all_deposit_addresses(&self, chain: &str) -> Result<Vec<DepositAddress>, StoreError> {
                    let rows = sqlx::query(
                        "SELECT chain, address, owner_id, derivation_index, created_at FROM deposit_addresses
                         WHERE chain = $1 ORDER BY derivation_index",
                    )
                    .bind(chain)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(store_error)?;
                    rows.iter().map(address).collect::<Result<_, _>>().map_err(store_error)
                }

                async fn open_sweep(&self, chain: &str, address: &str) -> Result<Option<String>, StoreError> {
                    sqlx::query_scalar(
                        "SELECT tx_hash FROM sweeps WHERE chain = $1 AND address = $2 AND status = 'broadcast' LIMIT 1",
                    )
                    .bind(chain)
                    .bind(address)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(store_error)
                }

                async fn record_sweep(
                    &self,
                    chain: &str,
                    address: &str,
                    tx_hash: &str,
                    amount: u128,
                    now_ms: i64,
                ) -> Result<(), StoreError> {
                    sqlx::query(
                        "INSERT INTO sweeps (tx_hash, chain, address, amount, status, created_at)
                         VALUES ($1, $2, $3, $4, 'broadcast', $5) ON CONFLICT (tx_hash) DO NOTHING",
                    )
                    .bind(tx_hash)
                    .bind(chain)
                    .bind(address)
                    .bind(amount.to_string())
                    .bind(now_ms)
                    .execute(&self.pool)
                    .await
                    .map_err(store_error)?;
                    Ok(())
                }

                async fn finish_sweep(&self, tx_hash: &str, status: &str) -> Result<(), StoreError> {
                    sqlx::query("UPDATE sweeps SET status = $2 WHERE tx_hash = $1 AND status = 'broadcast'")
                        .bind(tx_hash)
                        .bind(status)
                        .execute(&self.pool)
                        .await
                        .map_err(store_error)?;
                    Ok(())
                }

                async fn create_withdrawal(&self, w: &Withdrawal) -> Result<Withdrawal, StoreError> {
                    sqlx::query(
                        "INSERT INTO withdrawals (id, owner_id, account_id, chain, asset, to_address, amount, fee, hold_ids,
                             status, created_at, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) ON CONFLICT (id) DO NOTHING",
                    )
                    .bind(&w.id)
                    .bind(&w.owner)
                    .bind(&w.account_id)
                    .bind(&w.chain)
                    .bind(&w.asset)
                    .bind(&w.to_address)
                    .bind(w.amount.to_string())
                    .bind(w.fee.to_string())
                    .bind(&w.hold_ids)
                    .bind(&w.status)
                    .bind(w.created_at)
                    .execute(&self.pool)
                    .await
                    .map_err(store_error)?;
                    self.withdrawal(&w.id).await?.ok_or_else(|| StoreError::Other("withdrawal vanished".into()))
                }

                async fn withdrawal(&self, id: &str) -> Result<Option<Withdrawal>, StoreError> {
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {WITHDRAWAL_COLUMNS} FROM withdrawals WHERE id = $1"
                    )))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(store_error)?;
                    row.as_ref().map(withdrawal).transpose().map_err(store_error)
                }

                async fn withdrawals_of(&self, owners: &[String], limit: u32) -> Result<Vec<Withdrawal>, StoreError> {
                    let mut out = Vec::new();
                    for owner in owners {
                        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "SELECT {WITHDRAWAL_COLUMNS} FROM withdrawals WHERE owner_id = $1 ORDER BY id DESC LIMIT $2"
                        )))
                        .bind(owner)
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(store_error)?;
                        for r in &rows {
                            out.push(withdrawal(r).map_err(store_error)?);
                        }
                    }
                    out.sort_by(|a, b| b.id.cmp(&a.id));
                    out.truncate(limit as usize);
                    Ok(out)
                }

                async fn withdrawals_with_status(&self, chain: &str, status: &str, limit: u32) -> Result<Vec<Withdrawal>, StoreError> {
                    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {WITHDRAWAL_COLUMNS} FROM withdrawals WHERE chain = $1 AND status = $2 ORDER BY created_at, id LIMIT $3"
                    )))
                    .bind(chain)
                    .bind(status)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(store_error)?;
                    rows.iter().map(withdrawal).collect::<Result<_, _>>().map_err(store_error)
                }

                async fn update_withdrawal(&self, w: &Withdrawal, expected_status: &str) -> Result<bool, StoreError> {
                    let done = sqlx::query(
                        "UPDATE withdrawals SET status = $2, nonce = $3, raw_tx = $4, tx_hash = $5, old_hashes = $6,
                             max_fee = $7, tip = $8, failure = $9, updated_at = $10
                         WHERE id = $1 AND status = $11",
                    )
                    .bind(&w.id)
                    .bind(&w.status)
                    .bind(w.nonce.map(|n| i64::try_from(n).unwrap_or(i64::MAX)))
                    .bind(&w.raw_tx)
                    .bind(&w.tx_hash)
                    .bind(&w.old_hashes)
                    .bind(w.max_fee.map(|v| v.to_string()))
                    .bind(w.tip.map(|v| v.to_string()))
                    .bind(&w.failure)
                    .bind(w.updated_at)
                    .bind(expected_status)
                    .execute(&self.pool)
                    .await
                    .map_err(store_error)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn withdrawn_since(&self, owner: &str, asset: &str, since_ms: i64) -> Result<u128, StoreError> {
                    // Amounts are TEXT (u128 does not fit SQLite's integers): summed here, exactly.
                    let amounts: Vec<String> = sqlx::query_scalar(
                        "SELECT amount FROM withdrawals
                         WHERE owner_id = $1 AND asset = $2 AND created_at >= $3 AND status <> 'failed'",
                    )
                    .bind(owner)
                    .bind(asset)
                    .bind(since_ms)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(store_error)?;
                    amounts.iter().try_fold(0u128, |sum, a| {
                        let a: u128 = a.parse().map_err(|_| StoreError::Other(format!("withdrawal amount {a:?} is not an integer")))?;
                        Ok(sum.saturating_add(a))
                    })
                }

                async fn idempotency_key_used(&self, owner: &str, key: &str) -> Result<bool, StoreError> {
                    let found: Option<i32> =
                        sqlx::query_scalar(concat!("SELECT 1 FROM idempotency_keys WHERE ", $key_match))
                            .bind(owner)
                            .bind(key)
                            .fetch_optional(&self.pool)
                            .await
                            .map_err(store_error)?;
                    Ok(found.is_some())
                }

                async fn next_nonce(&self, chain: &str, address: &str) -> Result<Option<u64>, StoreError> {
                    let v: Option<i64> =
                        sqlx::query_scalar("SELECT next_nonce FROM custody_nonces WHERE chain = $1 AND address = $2")
                            .bind(chain)
                            .bind(address)
                            .fetch_optional(&self.pool)
                            .await
                            .map_err(store_error)?;
                    Ok(v.and_then(|n| u64::try_from(n).ok()))
                }

                async fn set_next_nonce(&self, chain: &str, address: &str, next: u64) -> Result<(), StoreError> {
                    sqlx::query(
                        "INSERT INTO custody_nonces (chain, address, next_nonce) VALUES ($1, $2, $3)
                         ON CONFLICT (chain, address) DO UPDATE SET next_nonce = excluded.next_nonce",
                    )
                    .bind(chain)
                    .bind(address)
                    .bind(i64::try_from(next).unwrap_or(i64::MAX))
                    .execute(&self.pool)
                    .await
                    .map_err(store_error)?;
                    Ok(())
                }

                async fn owners_of(&self, chain: &str, addresses: &[String]) -> Result<Vec<(String, String)>, StoreError> {
                    let mut out = Vec::new();
                    // Few transactions per block touch deposit addresses; one indexed lookup each.
                    for a in addresses {
                        let owner: Option<String> =
                            sqlx::query_scalar("SELECT owner_id FROM deposit_addresses WHERE chain = $1 AND address = $2")
                                .bind(chain)
                                .bind(a)
                                .fetch_optional(&self.pool)
                                .await
                                .map_err(store_error)?;
                        if let Some(o) = owner {
                            out.push((a.clone(), o));
                        }
                    }
                    Ok(out)
                }

                async fn cursor(&self, chain: &str) -> Result<Option<(u64, Option<String>)>, StoreError> {
                    let row: Option<(i64, Option<String>)> =
                        sqlx::query_as("SELECT next_block, last_hash FROM chain_cursors WHERE chain = $1")
                            .bind(chain)
                            .fetch_optional(&self.pool)
                            .await
                            .map_err(store_error)?;
                    Ok(row.and_then(|(b, h)| u64::try_from(b).ok().map(|b| (b, h))))
                }

                async fn set_cursor(&self, chain: &str, next_block: u64, last_hash: Option<&str>) -> Result<(), StoreError> {
                    let b = i64::try_from(next_block).map_err(|_| StoreError::Other("block number".into()))?;
                    sqlx::query(
                        "INSERT INTO chain_cursors (chain, next_block, last_hash) VALUES ($1, $2, $3)
                         ON CONFLICT (chain) DO UPDATE SET next_block = excluded.next_block, last_hash = excluded.last_hash",
                    )
                    .bind(chain)
                    .bind(b)
                    .bind(last_hash)
                    .execute(&self.pool)
                    .await
                    .map_err(store_error)?;
                    Ok(())
                }

                async fn rebase_pending_deposit(
                    &self,
                    chain: &str,
                    tx_hash: &str,
                    log_index: u32,
                    block_number: u64,
                    block_hash: &str,
                ) -> Result<(), StoreError> {
                    sqlx::query(
                        "UPDATE deposits SET block_number = $4, block_hash = $5
                         WHERE chain = $1 AND tx_hash = $2 AND log_index = $3 AND status = 'pending'",
                    )
                    .bind(chain)
                    .bind(tx_hash)
                    .bind(i64::from(log_index))
                    .bind(i64::try_from(block_number).unwrap_or(i64::MAX))
                    .bind(block_hash)
                    .execute(&self.pool)
                    .await
                    .map_err(store_error)?;
                    Ok(())
                }

                async fn record_deposit(&self, d: &Deposit) -> Result<bool, StoreError> {
                    let done = sqlx::query(
                        "INSERT INTO deposits (id, chain, asset, tx_hash, log_index, address, owner_id, amount,
                             block_number, block_hash, status, seen_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                         ON CONFLICT (chain, tx_hash, log_index) DO NOTHING",
                    )
                    .bind(&d.id)
                    .bind(&d.chain)
                    .bind(&d.asset)
                    .bind(&d.tx_hash)
                    .bind(i64::from(d.log_index))
                    .bind(&d.address)
                    .bind(&d.owner)
                    .bind(d.amount.to_string())
                    .bind(i64::try_from(d.block_number).unwrap_or(i64::MAX))
                    .bind(&d.block_hash)
                    .bind(&d.status)
                    .bind(d.seen_at)
                    .execute(&self.pool)
                    .await
                    .map_err(store_error)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn deposits_with_status(&self, chain: &str, status: &str, limit: u32) -> Result<Vec<Deposit>, StoreError> {
                    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {DEPOSIT_COLUMNS} FROM deposits WHERE chain = $1 AND status = $2
                         ORDER BY block_number, id LIMIT $3"
                    )))
                    .bind(chain)
                    .bind(status)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(store_error)?;
                    rows.iter().map(deposit).collect::<Result<_, _>>().map_err(store_error)
                }

                async fn decide_deposit(
                    &self,
                    id: &str,
                    from: &str,
                    to: &str,
                    transfer_id: Option<&str>,
                    now_ms: i64,
                ) -> Result<bool, StoreError> {
                    let done = sqlx::query(
                        "UPDATE deposits SET status = $3, transfer_id = COALESCE($4, transfer_id), decided_at = $5
                         WHERE id = $1 AND status = $2",
                    )
                    .bind(id)
                    .bind(from)
                    .bind(to)
                    .bind(transfer_id)
                    .bind(now_ms)
                    .execute(&self.pool)
                    .await
                    .map_err(store_error)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn deposits_of(&self, owners: &[String], limit: u32) -> Result<Vec<Deposit>, StoreError> {
                    let mut out = Vec::new();
                    for owner in owners {
                        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "SELECT {DEPOSIT_COLUMNS} FROM deposits WHERE owner_id = $1 ORDER BY id DESC LIMIT $2"
                        )))
                        .bind(owner)
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(store_error)?;
                        for r in &rows {
                            out.push(deposit(r).map_err(store_error)?);
                        }
                    }
                    out.sort_by(|a, b| b.id.cmp(&a.id));
                    out.truncate(limit as usize);
                    Ok(out)
                }

                async fn sealed_seed(&self) -> Result<Option<String>, StoreError> {
                    sqlx::query_scalar("SELECT sealed FROM custody_seed WHERE id = 1")
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(store_error)
                }

                async fn store_sealed_seed(&self, sealed: &str, now_ms: i64) -> Result<bool, StoreError> {
                    let done = sqlx::query(
                        "INSERT INTO custody_seed (id, sealed, created_at) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING",
                    )
                    .bind(sealed)
                    .bind(now_ms)
                    .execute(&self.pool)
                    .await
                    .map_err(store_error)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn deposit_address(&self, chain: &str, owner: &str) -> Result<Option<DepositAddress>, StoreError> {
                    let row = sqlx::query(
                        "SELECT chain, address, owner_id, derivation_index, created_at FROM deposit_addresses
                         WHERE chain = $1 AND owner_id = $2",
                    )
                    .bind(chain)
                    .bind(owner)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(store_error)?;
                    row.as_ref().map(address).transpose().map_err(store_error)
                }

                async fn deposit_addresses_of(&self, owners: &[String]) -> Result<Vec<DepositAddress>, StoreError> {
                    let mut out = Vec::new();
                    for owner in owners {
                        let rows = sqlx::query(
                            "SELECT chain, address, owner_id, derivation_index, created_at FROM deposit_addresses
                             WHERE owner_id = $1 ORDER BY chain",
                        )
                        .bind(owner)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(store_error)?;
                        for r in &rows {
                            out.push(address(r).map_err(store_error)?);
                        }
                    }
                    Ok(out)
                }

                async fn next_derivation_index(&self, chain: &str) -> Result<u32, StoreError> {
                    // Index 0 is the chain's hot wallet; customers start at 1.
                    let next: i64 = sqlx::query_scalar(
                        "INSERT INTO custody_counters (chain, next_index) VALUES ($1, 2)
                         ON CONFLICT (chain) DO UPDATE SET next_index = custody_counters.next_index + 1
                         RETURNING next_index - 1",
                    )
                    .bind(chain)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(store_error)?;
                    u32::try_from(next).map_err(|_| StoreError::Other("derivation index out of range".into()))
                }

                async fn insert_deposit_address(&self, a: &DepositAddress) -> Result<DepositAddress, StoreError> {
                    let inserted = sqlx::query(
                        "INSERT INTO deposit_addresses (chain, address, owner_id, derivation_index, created_at)
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(&a.chain)
                    .bind(&a.address)
                    .bind(&a.owner)
                    .bind(i64::from(a.index))
                    .bind(a.created_at)
                    .execute(&self.pool)
                    .await;
                    match inserted {
                        Ok(_) => Ok(a.clone()),
                        Err(e) if is_unique_violation(&e) => self
                            .deposit_address(&a.chain, &a.owner)
                            .await?
                            .ok_or_else(|| StoreError::Other("deposit address conflict without a row".into())),
                        Err(e) => Err(store_error(e)),
                    }
                }
            }
        };
    };
}
