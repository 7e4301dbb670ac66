//! The micro-batcher (ledger.md): concurrent commands in this instance are gathered (up to
//! `max_batch`) and committed in one transaction, each caller getting its own outcome. A free
//! worker takes everything queued while the previous batches committed — group commit, so the
//! batch grows with the load by itself — and then waits at most `max_wait` for more (zero by
//! default: measured, any wait only added latency, since commands arriving during the wait
//! would have queued for the next batch anyway). Instances share only the database, whose row
//! locks keep batches from different instances correct.

use pb_domain::ledger::store::{Command, CommandOutcome, LedgerStore};
use pb_domain::{Clock, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

#[derive(Debug, Clone, Copy)]
pub struct BatcherSettings {
    /// How long a free worker waits for more commands after taking those queued.
    pub max_wait: Duration,
    pub max_batch: usize,
    /// Batches in flight at once. On PostgreSQL a second one is decided from the instance's
    /// view of the ledger while the first is in the database, and takes the journal head right
    /// after it (pipelining: store-postgres ledger.rs); SQLite has a single writer, so more
    /// than one only waits there.
    pub workers: usize,
    /// A worker starts gathering while another batch is in flight only if that batch holds at
    /// least this many transfers. Below it, a second batch only splits the requests waiting
    /// into two smaller batches, each with PostgreSQL's fixed cost per batch: 64 clients
    /// sending single transfers, pipelined without this gate, made batches of 19 commands
    /// instead of 29 and no more transfers/s; the batch endpoint (100 transfers per request)
    /// gains from pipelining, 7.5-9.8x pgbench (mean 8.7) instead of 6.8-8.6x (mean 7.9).
    /// Sending a second small batch only once it held as many transfers as the one in flight
    /// measured 10% slower too (batches of 26 instead of 30). All of that was with the second
    /// batch on a second connection; a store that queues it behind the first on the same one
    /// (`LedgerStore::pipelines_batches`) has no gate: there, two small batches in flight
    /// measured faster on one 2-core machine, and on another spent 12-15% more CPU per
    /// transfer than one at a time; pipelined stays, for PostgreSQL on cores of its own
    /// (bench/RESULTS.md, docs/ledger.md).
    pub pipeline_min_transfers: usize,
    /// The batch thread's nice value (0: the default priority; below 0 needs `CAP_SYS_NICE`):
    /// see thread_priority.rs.
    pub thread_nice: i32,
}

impl Default for BatcherSettings {
    fn default() -> Self {
        Self { max_wait: Duration::ZERO, max_batch: 512, workers: 2, pipeline_min_transfers: 128, thread_nice: 0 }
    }
}

/// Batches in flight too small to start another batch beside them (`pipeline_min_transfers`).
#[derive(Default)]
struct Gate {
    small_in_flight: std::sync::atomic::AtomicUsize,
    changed: tokio::sync::Notify,
}

impl Gate {
    /// Waits until no small batch is in flight.
    async fn open(&self) {
        loop {
            let changed = self.changed.notified();
            if self.small_in_flight.load(std::sync::atomic::Ordering::Acquire) == 0 {
                return;
            }
            changed.await;
        }
    }

    fn enter(&self) {
        self.small_in_flight.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    fn leave(&self) {
        self.small_in_flight.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
        self.changed.notify_waiters();
    }
}

type Job = (Command, oneshot::Sender<Result<CommandOutcome, StoreError>>);

#[derive(Debug, Clone)]
pub struct Batcher {
    tx: mpsc::Sender<Job>,
}

impl Batcher {
    pub fn start(store: Arc<dyn LedgerStore>, clock: Arc<dyn Clock>, settings: BatcherSettings) -> Self {
        let (tx, rx) = mpsc::channel::<Job>(settings.max_batch * 8);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let gate = Arc::new(Gate::default());
        let settings = BatcherSettings {
            pipeline_min_transfers: if store.pipelines_batches() { 0 } else { settings.pipeline_min_transfers },
            ..settings
        };
        let workers: Vec<_> = (0..settings.workers.max(1))
            .map(|_| worker(rx.clone(), gate.clone(), store.clone(), clock.clone(), settings))
            .collect();
        // The batches run on a thread and runtime of their own: on the shared runtime, each
        // of a batch's awaits (its two round trips, the commit) waited in the run queue behind
        // the HTTP tasks before the batch went on, while PostgreSQL's one busy backend sat
        // idle. Measured: 2.6 -> 2.0 ms per batch of 32 (bench/RESULTS.md). If the thread cannot
        // start, its receiver is dropped with it and every submit fails as `Unavailable`.
        let spawned = std::thread::Builder::new().name("ledger-batches".into()).spawn(move || {
            crate::thread_priority::set_current_thread_nice(settings.thread_nice);
            match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt.block_on(async move {
                    let mut running = tokio::task::JoinSet::new();
                    for w in workers {
                        running.spawn(w);
                    }
                    while running.join_next().await.is_some() {}
                }),
                Err(e) => tracing::error!(error = %e, "the ledger batch runtime did not start"),
            }
        });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "the ledger batch thread did not start");
        }
        Self { tx }
    }

    /// Submits one command and waits for its outcome.
    pub async fn submit(&self, command: Command) -> Result<CommandOutcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx.send((command, reply)).await.map_err(|_| StoreError::Unavailable("ledger batcher stopped".into()))?;
        answer.await.map_err(|_| StoreError::Unavailable("ledger batch abandoned".into()))?
    }
}

async fn worker(
    rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>,
    gate: Arc<Gate>,
    store: Arc<dyn LedgerStore>,
    clock: Arc<dyn Clock>,
    s: BatcherSettings,
) {
    loop {
        // Gather: the first job, then whatever is queued or arrives within max_wait, up to max_batch.
        let mut jobs = Vec::with_capacity(s.max_batch);
        let small = {
            let mut rx = rx.lock().await;
            gate.open().await;
            match rx.recv().await {
                Some(job) => jobs.push(job),
                None => return,
            }
            let deadline = tokio::time::Instant::now() + s.max_wait;
            while jobs.len() < s.max_batch {
                let next = match rx.try_recv() {
                    Ok(job) => Some(job),
                    Err(mpsc::error::TryRecvError::Empty) if !s.max_wait.is_zero() => {
                        tokio::time::timeout_at(deadline, rx.recv()).await.ok().flatten()
                    }
                    Err(_) => None,
                };
                match next {
                    Some(job) => jobs.push(job),
                    None => break,
                }
            }
            // Entered before the next worker can gather (it waits for `rx`).
            let small = jobs.iter().map(|(c, _)| c.requests.len()).sum::<usize>() < s.pipeline_min_transfers;
            if small {
                gate.enter();
            }
            small
        };
        metrics::histogram!("ledger_batch_size").record(jobs.len() as f64);
        let (commands, replies): (Vec<Command>, Vec<_>) = jobs.into_iter().unzip();
        // Shared with the batch's task rather than copied: kept for the retries below.
        let commands = Arc::new(commands);
        let started = std::time::Instant::now();
        match run(&store, &clock, commands.clone()).await {
            Ok(outcomes) => {
                let (mut ok, mut failed) = (0u64, 0u64);
                for o in &outcomes {
                    if let CommandOutcome::Executed(results) = o {
                        for r in results {
                            if r.is_ok() { ok += 1 } else { failed += 1 }
                        }
                    }
                }
                metrics::counter!("ledger_transfers_total", "result" => "committed").increment(ok);
                metrics::counter!("ledger_transfers_total", "result" => "refused").increment(failed);
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
            }
            // One bad command must not fail its neighbours: retry each alone.
            Err(e) if commands.len() > 1 && !matches!(e, StoreError::Unavailable(_)) => {
                tracing::warn!(error = %e, size = commands.len(), "ledger batch failed; retrying its commands one by one");
                for (command, reply) in commands.iter().zip(replies) {
                    let outcome = run(&store, &clock, Arc::new(vec![command.clone()])).await.map(|mut o| o.remove(0));
                    let _ = reply.send(outcome);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "ledger batch failed");
                for reply in replies {
                    let _ = reply.send(Err(StoreError::Unavailable(e.to_string())));
                }
            }
        }
        if small {
            gate.leave();
        }
        metrics::histogram!("ledger_batch_seconds").record(started.elapsed());
    }
}

/// Runs one batch in its own task, so a panic (a broken invariant: the transaction is never
/// committed) becomes an error for its callers instead of killing the worker.
async fn run(
    store: &Arc<dyn LedgerStore>,
    clock: &Arc<dyn Clock>,
    commands: Arc<Vec<Command>>,
) -> Result<Vec<CommandOutcome>, StoreError> {
    let n = commands.len();
    let store = store.clone();
    let now = clock.now_ms();
    let outcomes = tokio::spawn(async move { store.execute(&commands, now).await })
        .await
        .map_err(|e| StoreError::Other(format!("ledger batch panicked: {e}")))??;
    if outcomes.len() != n {
        return Err(StoreError::Other(format!("ledger batch returned {} outcomes for {n} commands", outcomes.len())));
    }
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use super::Gate;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn the_gate_waits_out_every_small_batch_in_flight() {
        let gate = Arc::new(Gate::default());
        tokio::time::timeout(Duration::from_secs(1), gate.open()).await.expect("nothing in flight: open");
        gate.enter();
        gate.enter();
        let waiting = tokio::spawn({
            let gate = gate.clone();
            async move { gate.open().await }
        });
        gate.leave();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "one small batch still in flight");
        gate.leave();
        tokio::time::timeout(Duration::from_secs(1), waiting).await.expect("opened").expect("no panic");
    }
}
