//! Custody records (shared SQL in pb-store-sql).

use crate::*;

pb_store_sql::impl_custody_store!(SqliteStore, sqlx::sqlite::SqliteRow, "owner_id = $1 AND key = $2");
