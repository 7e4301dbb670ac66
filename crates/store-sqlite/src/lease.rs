use crate::SqliteStore;
use async_trait::async_trait;
use pb_domain::{LeaseStore, StoreError};

#[async_trait]
impl LeaseStore for SqliteStore {
    async fn try_acquire_lease(&self, name: &str, holder: &str, now_ms: i64, ttl_ms: i64) -> Result<bool, StoreError> {
        let now = now_ms;
        // One statement: insert, or take over when expired, or renew when already ours.
        let taken = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at, acquired_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
                 acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at ELSE excluded.acquired_at END
             WHERE leases.holder = excluded.holder OR leases.expires_at < ?4",
        )
        .bind(name)
        .bind(holder)
        .bind(now.saturating_add(ttl_ms))
        .bind(now)
        .execute(&self.writer)
        .await
        .map_err(|e| StoreError::Other(e.to_string()))?;
        Ok(taken.rows_affected() == 1)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM leases WHERE name = ?1 AND holder = ?2")
            .bind(name)
            .bind(holder)
            .execute(&self.writer)
            .await
            .map_err(|e| StoreError::Other(e.to_string()))?;
        Ok(())
    }
}
