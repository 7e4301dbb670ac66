//! The patched driver's pipelining (`send_pipelined`, `recv_pipelined`, `wait_readable`;
//! third_party/README.md): statements written without waiting, answers read in order, each
//! error with its own statement, and a wait for an answer that can be dropped and taken up again.

use pb_testkit::postgres;
use sqlx::postgres::PgArguments;
use sqlx::{Arguments, Connection, PgConnection};
use std::time::Duration;

const INSERT: &str = "INSERT INTO pipelined SELECT unnest($1::int[])";
const SLEEP: &str = "SELECT pg_sleep($1::float8)";

fn ints(values: &[i32]) -> PgArguments {
    let mut a = PgArguments::default();
    a.add(values.to_vec()).unwrap();
    a
}

#[tokio::test]
async fn answers_come_back_in_order_each_error_with_its_own_statement() {
    let url = postgres::fresh_database().await;
    let mut conn = PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql("CREATE TABLE pipelined (x int PRIMARY KEY)").execute(&mut conn).await.unwrap();

    // Nothing in flight: the statement is prepared on the way. Then three more, unread.
    conn.send_pipelined(INSERT, ints(&[1, 2])).await.unwrap();
    conn.send_pipelined(INSERT, ints(&[2])).await.unwrap();
    conn.queue_in_next_query_sync("SELECT pg_advisory_xact_lock(7)");
    conn.send_pipelined(INSERT, ints(&[3, 4, 5])).await.unwrap();
    conn.send_pipelined(INSERT, ints(&[6])).await.unwrap();
    assert_eq!(conn.pipelined_in_flight(), 4);

    assert_eq!(conn.recv_pipelined().await.unwrap(), 2);
    let duplicate = conn.recv_pipelined().await.unwrap_err();
    assert_eq!(duplicate.as_database_error().and_then(|d| d.code()).as_deref(), Some("23505"));
    // The statement ahead of it in its Sync ran; the count is the insert's.
    assert_eq!(conn.recv_pipelined().await.unwrap(), 3);
    assert_eq!(conn.recv_pipelined().await.unwrap(), 1);
    assert_eq!(conn.pipelined_in_flight(), 0);
    assert!(conn.recv_pipelined().await.is_err(), "nothing owed");

    // Each statement was its own implicit transaction: only the failed one rolled back.
    let rows: Vec<i32> = sqlx::query_scalar("SELECT x FROM pipelined ORDER BY x").fetch_all(&mut conn).await.unwrap();
    assert_eq!(rows, vec![1, 2, 3, 4, 5, 6]);
}

#[tokio::test]
async fn a_wait_for_an_answer_can_be_dropped_and_taken_up_again() {
    let url = postgres::fresh_database().await;
    let mut conn = PgConnection::connect(&url).await.unwrap();
    let mut sleep = PgArguments::default();
    sleep.add(0.3f64).unwrap();
    conn.send_pipelined(SLEEP, sleep).await.unwrap();

    let mut dropped = 0;
    loop {
        match tokio::time::timeout(Duration::from_millis(20), conn.wait_readable()).await {
            Ok(ready) => break ready.unwrap(),
            Err(_) => dropped += 1,
        }
    }
    assert!(dropped >= 5, "the answer took 300 ms: {dropped} waits dropped");
    assert_eq!(conn.recv_pipelined().await.unwrap(), 1);
    // The connection is in step: an ordinary query works.
    let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&mut conn).await.unwrap();
    assert_eq!(one, 1);
    assert!(conn.is_idle_and_flushed());
}

#[tokio::test]
async fn an_ordinary_query_first_reads_and_drops_the_answers_owed() {
    let url = postgres::fresh_database().await;
    let mut conn = PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql("CREATE TABLE pipelined (x int PRIMARY KEY)").execute(&mut conn).await.unwrap();
    conn.send_pipelined(INSERT, ints(&[1])).await.unwrap();
    conn.send_pipelined(INSERT, ints(&[2])).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM pipelined").fetch_one(&mut conn).await.unwrap();
    assert_eq!(n, 2);
    assert_eq!(conn.pipelined_in_flight(), 0);
}

/// `queue_prepared_in_next_query_sync`: the queued statement runs inside each query's Sync as
/// before, but through a named statement prepared once (when nothing was owed) instead of being
/// parsed, analyzed and planned again each time; queued while answers are owed and not yet
/// prepared, it still runs, through the unnamed statement, and is not prepared then.
#[tokio::test]
async fn a_statement_queued_as_prepared_is_prepared_once_and_runs_in_every_sync() {
    const QUEUED: &str = "INSERT INTO seen VALUES (1)";
    const LATE: &str = "INSERT INTO seen VALUES (2)";
    let url = postgres::fresh_database().await;
    let mut conn = PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql("CREATE TABLE pipelined (x int PRIMARY KEY); CREATE TABLE seen (n int)")
        .execute(&mut conn)
        .await
        .unwrap();

    conn.queue_prepared_in_next_query_sync(LATE); // not idle once the first is out: see below
    conn.send_pipelined(INSERT, ints(&[1])).await.unwrap(); // idle: LATE prepared here
    for x in 2..=4 {
        conn.queue_prepared_in_next_query_sync(QUEUED); // answers owed: not prepared, unnamed
        conn.send_pipelined(INSERT, ints(&[x])).await.unwrap();
    }
    for _ in 1..=4 {
        assert_eq!(conn.recv_pipelined().await.unwrap(), 1);
    }
    let early: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_prepared_statements WHERE statement = $1")
        .bind(QUEUED)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(early, 0, "queued while answers were owed, it went through the unnamed statement");
    // Idle now: QUEUED is prepared on the way, then found prepared while answers are owed.
    for x in 5..=7 {
        conn.queue_prepared_in_next_query_sync(QUEUED);
        conn.send_pipelined(INSERT, ints(&[x])).await.unwrap();
    }
    for _ in 5..=7 {
        assert_eq!(conn.recv_pipelined().await.unwrap(), 1);
    }

    let seen: Vec<i32> = sqlx::query_scalar("SELECT n FROM seen ORDER BY n").fetch_all(&mut conn).await.unwrap();
    assert_eq!(seen, vec![1, 1, 1, 1, 1, 1, 2], "every queued statement ran, once per Sync");
    let prepared: Vec<String> = sqlx::query_scalar(
        "SELECT statement FROM pg_prepared_statements WHERE statement IN ($1, $2) ORDER BY statement",
    )
    .bind(QUEUED)
    .bind(LATE)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(prepared, vec![QUEUED.to_owned(), LATE.to_owned()], "each text prepared once, as a named statement");
}

/// Without a statement cache, a statement queued as prepared goes through the unnamed statement
/// every time: prepared, it would be prepared again under a new name at every send.
#[tokio::test]
async fn without_a_statement_cache_a_statement_queued_as_prepared_is_never_prepared() {
    const QUEUED: &str = "INSERT INTO seen VALUES (1)";
    let url = postgres::fresh_database().await;
    let options = url.parse::<sqlx::postgres::PgConnectOptions>().unwrap().statement_cache_capacity(0);
    let mut conn = PgConnection::connect_with(&options).await.unwrap();
    sqlx::raw_sql("CREATE TABLE pipelined (x int PRIMARY KEY); CREATE TABLE seen (n int)")
        .execute(&mut conn)
        .await
        .unwrap();
    for x in 1..=3 {
        conn.queue_prepared_in_next_query_sync(QUEUED);
        conn.send_pipelined(INSERT, ints(&[x])).await.unwrap();
        assert_eq!(conn.recv_pipelined().await.unwrap(), 1);
    }
    let seen: i64 = sqlx::query_scalar("SELECT count(*) FROM seen").fetch_one(&mut conn).await.unwrap();
    assert_eq!(seen, 3, "it ran in every Sync");
    let prepared: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_prepared_statements WHERE statement = $1")
        .bind(QUEUED)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(prepared, 0);
}
