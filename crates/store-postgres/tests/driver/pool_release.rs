//! The patched pool's release (third_party/README.md): a connection with nothing in flight goes
//! back to the pool as it is, with no ping; one with anything owed is still pinged, which
//! sends a dropped transaction's ROLLBACK and reads a dropped query's answers.

use pb_testkit::postgres;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::types::chrono::{DateTime, Utc};
use sqlx::{Connection, Row};
use std::time::Duration;

/// One connection, never pinged when handed out: what reaches the backend is the release's.
async fn one_connection(url: &str) -> PgPool {
    PgPoolOptions::new().max_connections(1).test_before_acquire(false).connect(url).await.unwrap()
}

/// When the backend `pid` last changed state: PostgreSQL stamps it at every ReadyForQuery,
/// so a ping (a bare Sync) moves it.
async fn state_change(observer: &PgPool, pid: i32) -> DateTime<Utc> {
    sqlx::query("SELECT state_change FROM pg_stat_activity WHERE pid = $1")
        .bind(pid)
        .fetch_one(observer)
        .await
        .unwrap()
        .get(0)
}

async fn now(observer: &PgPool) -> DateTime<Utc> {
    sqlx::query_scalar("SELECT clock_timestamp()").fetch_one(observer).await.unwrap()
}

#[tokio::test]
async fn a_connection_with_nothing_in_flight_is_released_without_a_ping() {
    let url = postgres::fresh_database().await;
    let (pool, observer) = (one_connection(&url).await, one_connection(&url).await);

    let mut conn = pool.acquire().await.unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut *conn).await.unwrap();
    assert!(conn.is_idle_and_flushed(), "every answer read, no transaction");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before_release = now(&observer).await;
    drop(conn);
    let mut again = pool.acquire().await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        state_change(&observer, pid).await < before_release,
        "nothing reached the backend when the connection went back"
    );
    let same: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut *again).await.unwrap();
    assert_eq!(same, pid, "the same connection, taken back");
}

#[tokio::test]
async fn a_connection_with_anything_owed_is_still_pinged_before_reuse() {
    let url = postgres::fresh_database().await;
    let (pool, observer) = (one_connection(&url).await, one_connection(&url).await);
    sqlx::raw_sql("CREATE TABLE kept (v INT)").execute(&pool).await.unwrap();

    // A transaction dropped uncommitted: its ROLLBACK is queued, then sent by the ping.
    let mut conn = pool.acquire().await.unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut *conn).await.unwrap();
    {
        let mut tx = conn.begin().await.unwrap();
        assert!(!tx.is_idle_and_flushed(), "BEGIN queued");
        sqlx::query("INSERT INTO kept VALUES ($1)").bind(1).execute(&mut *tx).await.unwrap();
        assert!(!tx.is_idle_and_flushed(), "in a transaction");
    }
    assert!(!conn.is_idle_and_flushed(), "ROLLBACK queued");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before_release = now(&observer).await;
    drop(conn);
    let mut conn = pool.acquire().await.unwrap();
    assert!(state_change(&observer, pid).await > before_release, "pinged on its way back");
    assert!(conn.is_idle_and_flushed());
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM kept").fetch_one(&mut *conn).await.unwrap();
    assert_eq!(rows, 0, "rolled back");

    // A statement queued for the next query's Sync is owed too, and is not the next user's:
    // the release drops it rather than run it ahead of someone else's query.
    conn.queue_in_next_query_sync("INSERT INTO kept VALUES (2)");
    assert!(!conn.is_idle_and_flushed());
    drop(conn);
    let mut conn = pool.acquire().await.unwrap();
    assert!(conn.is_idle_and_flushed());
    let rows: i64 =
        sqlx::query_scalar("SELECT count(*) FROM kept WHERE v = $1").bind(2).fetch_one(&mut *conn).await.unwrap();
    assert_eq!(rows, 0, "the queued statement never ran");
    drop(conn);

    // A query abandoned in flight: its answers are read (or the connection replaced) before
    // anyone gets it again.
    let mut conn = pool.acquire().await.unwrap();
    let abandoned = tokio::time::timeout(
        Duration::from_millis(50),
        sqlx::query("SELECT pg_sleep($1)").bind(0.3_f64).execute(&mut *conn),
    )
    .await;
    assert!(abandoned.is_err(), "dropped mid-flight");
    assert!(!conn.is_idle_and_flushed(), "its answer is owed");
    drop(conn);
    let mut conn = pool.acquire().await.unwrap();
    let two: i32 = sqlx::query_scalar("SELECT $1 + 1").bind(1).fetch_one(&mut *conn).await.unwrap();
    assert_eq!(two, 2, "the next query gets its own answer");
}
