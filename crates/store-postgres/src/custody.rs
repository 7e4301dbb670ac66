//! Custody records (shared SQL in pb-store-sql).

use crate::*;

// The key's index is on its digest (migration 0012); owner and key are compared as well.
pb_store_sql::impl_custody_store!(
    PgStore,
    sqlx::postgres::PgRow,
    "digest = idempotency_digest($1, $2) AND owner_id = $1 AND key = $2"
);
