//! Identity storage: the shared SQL, with SQLite write transactions taken `IMMEDIATE`.

use crate::SqliteStore;

pb_store_sql::impl_identity_store!(
    SqliteStore,
    sqlx::sqlite::SqliteRow,
    begin = |pool| pool.begin_with("BEGIN IMMEDIATE")
);
