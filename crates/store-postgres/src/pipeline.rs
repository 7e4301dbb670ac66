//! One connection on which ledger batches decided from the view are pipelined: each batch's
//! closing statement is written as soon as it is decided, behind the ones still in PostgreSQL,
//! and the answers are read in order (the patched driver's `send_pipelined`, third_party/README.md).
//!
//! Why: a batch decided from the view is one statement in one implicit transaction
//! (batch_connection.rs). Sent one at a time, PostgreSQL's backend waited, after each commit,
//! for the answer to reach the batch thread, for the next batch to be decided, encoded and sent,
//! and for its bytes to wake it: a third of each batch's cycle on this 2-core machine
//! (bench/RESULTS.md). Sent on a second connection instead, the next batch waited for the journal
//! head in a second backend, which had to be woken and scheduled when the first committed, and
//! was no faster. Behind the first on the same connection, it is in the backend's socket when
//! the first commits, and runs at once.
//!
//! A driver task owns the connection: it writes each submitted statement at once and, when
//! answers are owed, reads them as they arrive. If the connection breaks, every answer owed fails
//! (`Unavailable` to the batch, an error its callers retry under their keys: each statement is
//! its own transaction, committed or not, and a key committed answers with what it did) and the
//! next statement opens a new connection.

use sqlx::pool::PoolConnection;
use sqlx::postgres::PgArguments;
use sqlx::{PgPool, Postgres};
use std::collections::VecDeque;
use tokio::sync::{mpsc, oneshot};

type Answer = Result<u64, sqlx::Error>;

struct Job {
    sql: &'static str,
    arguments: PgArguments,
    /// Run inside the statement's Sync, ahead of it (the journal head's lock), through a
    /// statement prepared once per connection: a constant text.
    ahead: Option<&'static str>,
    reply: oneshot::Sender<Answer>,
}

#[derive(Debug)]
pub(crate) struct Pipeline {
    pool: PgPool,
    jobs: std::sync::Mutex<Option<mpsc::UnboundedSender<Job>>>,
}

/// As the connection's own I/O error would be: the store reports it as `Unavailable`, and the
/// batch's callers get an error to retry under their keys, as with any connection lost
/// mid-batch.
fn gone() -> sqlx::Error {
    sqlx::Error::Io(std::io::Error::new(
        std::io::ErrorKind::ConnectionAborted,
        "the ledger pipeline's connection was lost",
    ))
}

impl Pipeline {
    pub(crate) fn new(pool: PgPool) -> Self {
        Self { pool, jobs: std::sync::Mutex::new(None) }
    }

    /// Sends `sql` with `arguments` (and `ahead` inside its Sync) behind the statements in
    /// flight, in the order of the calls; resolves to the rows it affected or its error.
    pub(crate) fn send(
        &self,
        sql: &'static str,
        arguments: PgArguments,
        ahead: Option<&'static str>,
    ) -> impl std::future::Future<Output = Answer> + Send + 'static {
        let (reply, answer) = oneshot::channel();
        self.submit(Job { sql, arguments, ahead, reply });
        async move { answer.await.map_err(|_| gone())? }
    }

    fn submit(&self, job: Job) {
        let mut jobs = self.jobs.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let job = match jobs.as_ref() {
            Some(tx) => match tx.send(job) {
                Ok(()) => return,
                Err(mpsc::error::SendError(job)) => job,
            },
            None => job,
        };
        // The driver runs on the runtime of the first batch that needs it (the batch
        // thread's), and is started again if that runtime went away.
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(driver(self.pool.clone(), rx));
        let _ = tx.send(job);
        *jobs = Some(tx);
    }
}

enum Event {
    Job(Option<Job>),
    Answer(Result<(), sqlx::Error>),
}

/// Owns the connection: writes each job as it comes, reads answers as they arrive, in order.
async fn driver(pool: PgPool, mut jobs: mpsc::UnboundedReceiver<Job>) {
    let mut conn: Option<PoolConnection<Postgres>> = None;
    let mut owed: VecDeque<oneshot::Sender<Answer>> = VecDeque::new();
    // When the connection last had an answer owed (or was opened).
    let mut busy_at = std::time::Instant::now();
    loop {
        let event = {
            let readable = async {
                match conn.as_mut() {
                    Some(c) if !owed.is_empty() => c.wait_readable().await,
                    _ => std::future::pending().await,
                }
            };
            // Jobs first: a statement written keeps PostgreSQL busy; an answer read can wait
            // the few microseconds that takes.
            tokio::select! {
                biased;
                job = jobs.recv() => Event::Job(job),
                r = readable => Event::Answer(r),
            }
        };
        match event {
            Event::Job(None) => return,
            Event::Job(Some(job)) => {
                // Idle a while, the connection may have died with a restart or a failover
                // (the pools check theirs the same way, store.rs): ping it before a batch goes
                // out on it, so that the batch does not fail for it.
                if owed.is_empty()
                    && busy_at.elapsed() >= crate::store::PING_IF_IDLE
                    && let Some(c) = conn.as_mut()
                    && sqlx::Connection::ping(&mut **c).await.is_err()
                {
                    lose(&mut conn, &mut owed);
                }
                if conn.is_none() {
                    match pool.acquire().await {
                        Ok(c) => conn = Some(c),
                        Err(e) => {
                            let _ = job.reply.send(Err(e));
                            continue;
                        }
                    }
                }
                busy_at = std::time::Instant::now();
                let Some(c) = conn.as_mut() else { continue };
                if let Some(sql) = job.ahead {
                    c.queue_prepared_in_next_query_sync(sql);
                }
                match c.send_pipelined(job.sql, job.arguments).await {
                    Ok(()) => owed.push_back(job.reply),
                    Err(e) => {
                        let _ = job.reply.send(Err(e));
                        // What was written of it, if anything, is unknown: start afresh.
                        lose(&mut conn, &mut owed);
                    }
                }
            }
            Event::Answer(readable) => {
                let Some(c) = conn.as_mut() else { continue };
                let answer = match readable {
                    Ok(()) => c.recv_pipelined().await,
                    Err(e) => Err(e),
                };
                let broken = matches!(&answer, Err(e) if !matches!(e, sqlx::Error::Database(_)));
                if let Some(reply) = owed.pop_front() {
                    let _ = reply.send(answer);
                }
                busy_at = std::time::Instant::now();
                if broken {
                    lose(&mut conn, &mut owed);
                }
            }
        }
    }
}

/// The connection is broken or its state unknown: close it, and fail every answer owed (their
/// statements committed or not; the batches' callers see an error, as for any lost connection).
fn lose(conn: &mut Option<PoolConnection<Postgres>>, owed: &mut VecDeque<oneshot::Sender<Answer>>) {
    if let Some(mut c) = conn.take() {
        c.close_on_drop();
        metrics::counter!("ledger_pipeline_connections_lost_total").increment(1);
    }
    for reply in owed.drain(..) {
        let _ = reply.send(Err(gone()));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::Pipeline;
    use pb_testkit::postgres;
    use sqlx::postgres::{PgArguments, PgPoolOptions};
    use sqlx::{Arguments, Connection};
    use std::time::Duration;

    const SLEEP: &str = "SELECT pg_sleep($1::float8)";

    fn seconds(s: f64) -> PgArguments {
        let mut a = PgArguments::default();
        a.add(s).unwrap();
        a
    }

    #[tokio::test]
    async fn answers_in_order_and_a_lost_connection_fails_what_is_owed_then_reconnects() {
        let url = postgres::fresh_database().await;
        let pipeline = Pipeline::new(PgPoolOptions::new().max_connections(1).connect_lazy(&url).unwrap());
        let mut observer = sqlx::PgConnection::connect(&url).await.unwrap();

        // In order, whatever the time each takes.
        let slow = pipeline.send(SLEEP, seconds(0.05), None);
        let fast = pipeline.send(SLEEP, seconds(0.0), Some("SELECT 1"));
        assert_eq!(slow.await.unwrap(), 1);
        assert_eq!(fast.await.unwrap(), 1);

        // The backend dies with two statements owed: both fail, neither hangs.
        let first = pipeline.send(SLEEP, seconds(5.0), None);
        let second = pipeline.send(SLEEP, seconds(0.0), None);
        let killed: bool = loop {
            let pid: Option<i32> = sqlx::query_scalar(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep%' \
                 AND state = 'active' AND pid <> pg_backend_pid()",
            )
            .fetch_optional(&mut observer)
            .await
            .unwrap();
            if let Some(pid) = pid {
                break sqlx::query_scalar("SELECT pg_terminate_backend($1)")
                    .bind(pid)
                    .fetch_one(&mut observer)
                    .await
                    .unwrap();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        assert!(killed);
        let answers =
            tokio::time::timeout(Duration::from_secs(3), async { (first.await, second.await) }).await.unwrap();
        assert!(answers.0.is_err() && answers.1.is_err(), "{answers:?}");

        // The next statement opens a new connection.
        assert_eq!(pipeline.send(SLEEP, seconds(0.0), None).await.unwrap(), 1);
    }

    /// A connection that died while idle (a restart, a failover) is found by the ping before
    /// the next statement, which goes out on a new one instead of failing.
    #[tokio::test]
    async fn a_connection_that_died_idle_is_replaced_before_the_next_statement() {
        let url = postgres::fresh_database().await;
        let pipeline = Pipeline::new(PgPoolOptions::new().max_connections(1).connect_lazy(&url).unwrap());
        let mut observer = sqlx::PgConnection::connect(&url).await.unwrap();
        assert_eq!(pipeline.send(SLEEP, seconds(0.0), None).await.unwrap(), 1);
        let killed: i64 = sqlx::query_scalar(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .fetch_one(&mut observer)
        .await
        .unwrap();
        assert_eq!(killed, 1, "the pipeline's connection");
        tokio::time::sleep(crate::store::PING_IF_IDLE + Duration::from_millis(100)).await;
        assert_eq!(pipeline.send(SLEEP, seconds(0.0), None).await.unwrap(), 1);
    }
}
