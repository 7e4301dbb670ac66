//! Identity storage: the shared SQL on PostgreSQL (READ COMMITTED; every check-and-set is one
//! statement or one transaction).

use crate::PgStore;

pb_store_sql::impl_identity_store!(PgStore, sqlx::postgres::PgRow, begin = |pool| pool.begin());
