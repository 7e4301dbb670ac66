//! `impl CustodyStore`, identical SQL for both databases.

#[macro_export]
macro_rules! impl_custody_store {
    ($store:ty, $row:ty) => {
        const _: () = {
            use pb_domain::StoreError;
            use pb_domain::custody::{CustodyStore, DepositAddress};
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

            #[$crate::async_trait]
            impl CustodyStore for $store {
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
