//! A fresh PostgreSQL database per test on the local server (`TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`). Names carry their creation time so later
//! runs drop the ones left behind by tests that panicked.

use sqlx::{Connection, Executor, PgConnection};
use std::time::{SystemTime, UNIX_EPOCH};

const PREFIX: &str = "pb_test_";
/// Databases older than this are leftovers of earlier runs.
const STALE_AFTER_SECS: u64 = 3 * 3600;

pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn with_database(url: &str, db: &str) -> String {
    let (base, _) = url.rsplit_once('/').unwrap();
    format!("{base}/{db}")
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// Creates an empty database and returns its URL.
pub async fn fresh_database() -> String {
    let admin = admin_url();
    let mut conn = PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL must be running for tests ({admin}): {e}"));
    drop_stale(&mut conn).await;
    let name = format!("{PREFIX}{}_{}", now_secs(), &uuid::Uuid::new_v4().simple().to_string()[..12]);
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.unwrap();
    let _ = conn.close().await;
    with_database(&admin, &name)
}

/// Drops a database `fresh_database` made (its open connections too), for tests that make many.
pub async fn drop_database(url: &str) {
    let Some((_, name)) = url.rsplit_once('/') else { return };
    if !name.starts_with(PREFIX) {
        return;
    }
    if let Ok(mut conn) = PgConnection::connect(&admin_url()).await {
        let _ = conn.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).await;
        let _ = conn.close().await;
    }
}

async fn drop_stale(conn: &mut PgConnection) {
    let names: Vec<String> = sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'pb_test_%'")
        .fetch_all(&mut *conn)
        .await
        .unwrap_or_default();
    let cutoff = now_secs().saturating_sub(STALE_AFTER_SECS);
    for name in names {
        let created = name.trim_start_matches(PREFIX).split('_').next().and_then(|t| t.parse::<u64>().ok());
        if created.is_some_and(|t| t < cutoff) {
            let _ = conn.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).await;
        }
    }
}
