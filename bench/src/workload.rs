//! The HTTP workloads: closed-loop clients, each sending its next request when the previous
//! answer arrives, for a fixed duration.

use crate::client::key;
use crate::load_client::Connection;
use crate::server::Server;
use crate::setup::World;
use bytes::Bytes;
use rand::Rng;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Random source (one of the caller's accounts) to a random account.
    Uniform,
    /// As uniform, but 10% of transfers credit one hot account.
    HotAccount,
    /// The batch endpoint, 100 transfers per request.
    Batch100,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Uniform => "uniform",
            Self::HotAccount => "hot account (10%)",
            Self::Batch100 => "batch endpoint (100/request)",
        }
    }

    /// Issue 4's target for this workload: transfers/s at least this many times pgbench's
    /// TPC-B-like TPS from the same run.
    pub fn target_ratio(self) -> f64 {
        match self {
            Self::Uniform => 4.0,
            Self::HotAccount => 2.0,
            Self::Batch100 => 8.0,
        }
    }
}

#[derive(Debug, Default)]
pub struct Measured {
    pub transfers: u64,
    pub failures: u64,
    pub seconds: f64,
    /// Request latencies, microseconds, sorted.
    pub latencies: Vec<u64>,
    pub first_error: Option<String>,
    /// The server's largest resident set sampled during the run, MiB.
    pub peak_rss_mb: f64,
}

impl Measured {
    pub fn transfers_per_second(&self) -> f64 {
        self.transfers as f64 / self.seconds.max(1e-9)
    }
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i] as f64 / 1000.0
    }
}

/// One transfer as JSON text (account ids are plain ASCII tokens: nothing to escape).
fn item(world: &World, kind: Kind, rng: &mut impl Rng, customer: usize) -> String {
    let c = &world.customers[customer];
    let from = &c.accounts[rng.random_range(0..c.accounts.len())];
    let mut to = &world.accounts[rng.random_range(0..world.accounts.len())];
    if kind == Kind::HotAccount && rng.random_bool(0.1) {
        to = &world.hot;
    }
    if to == from {
        to = if from == &world.accounts[0] { &world.accounts[1] } else { &world.accounts[0] };
    }
    format!(r#"{{"from_account":"{from}","to":{{"account_id":"{to}"}},"amount":"1"}}"#)
}

/// Items the batch endpoint refused, from its answer.
fn batch_refusals(body: &[u8], count: u64) -> Result<u64, String> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let ok = v["data"].as_array().map_or(0, |d| d.iter().filter(|x| x.get("transfer").is_some()).count());
    Ok(count - ok as u64)
}

pub async fn run(srv: &Server, world: &World, kind: Kind, connections: usize, duration: Duration) -> Measured {
    let world = Arc::new(World {
        customers: world.customers.clone(),
        accounts: world.accounts.clone(),
        hot: world.hot.clone(),
    });
    let started = Instant::now();
    let deadline = started + duration;
    let base = srv.base.clone();
    // The simulated clients run on one thread of their own (a current-thread runtime): they
    // need about a fifth of a core, and on the shared multi-threaded runtime every answer's
    // wake-up could land on the other worker thread, a cross-core hand-off per request taken
    // from the cores the server and PostgreSQL share (bench/README.md).
    let clients = std::thread::spawn(move || -> Vec<Measured> {
        let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(e) => return vec![Measured { first_error: Some(format!("load runtime: {e}")), ..Measured::default() }],
        };
        rt.block_on(clients(base, world, kind, connections, deadline))
    });
    let pid = srv.pid();
    let sampler = tokio::spawn(async move {
        let mut peak: f64 = 0.0;
        while Instant::now() < deadline {
            peak = peak.max(crate::server::rss_mb(pid));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        peak
    });
    let measured =
        tokio::task::spawn_blocking(move || clients.join()).await.ok().and_then(Result::ok).unwrap_or_else(|| {
            vec![Measured { first_error: Some("the load thread failed".into()), ..Measured::default() }]
        });
    let mut total = Measured::default();
    for m in measured {
        total.transfers += m.transfers;
        total.failures += m.failures;
        total.latencies.extend(m.latencies);
        if total.first_error.is_none() {
            total.first_error = m.first_error;
        }
    }
    total.seconds = started.elapsed().as_secs_f64();
    total.peak_rss_mb = sampler.await.unwrap_or(0.0);
    total.latencies.sort_unstable();
    if let Some(e) = &total.first_error {
        println!("{}: {} failed transfers; first: {e}", kind.name(), total.failures);
    }
    total
}

/// The closed-loop clients, until `deadline`: what each measured.
async fn clients(base: String, world: Arc<World>, kind: Kind, connections: usize, deadline: Instant) -> Vec<Measured> {
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (base, world) = (base.clone(), world.clone());
        tasks.push(tokio::spawn(async move {
            let mut m = Measured::default();
            let mut conn = match Connection::open(&base).await {
                Ok(c) => c,
                Err(e) => {
                    m.first_error = Some(format!("connect: {e}"));
                    return m;
                }
            };
            while Instant::now() < deadline {
                let (customer, body, path, count) = {
                    let mut rng = rand::rng();
                    let customer = rng.random_range(0..world.customers.len());
                    match kind {
                        Kind::Batch100 => {
                            let items: Vec<String> = (0..100).map(|_| item(&world, kind, &mut rng, customer)).collect();
                            let body = format!(r#"{{"transfers":[{}],"atomic":false}}"#, items.join(","));
                            (customer, body, "/v1/transfers/batch", 100)
                        }
                        _ => (customer, item(&world, kind, &mut rng, customer), "/v1/transfers", 1),
                    }
                };
                let token = &world.customers[customer].token;
                let t0 = Instant::now();
                let result = conn.post(path, token, &key(), Bytes::from(body)).await;
                m.latencies.push(t0.elapsed().as_micros() as u64);
                match result {
                    Ok((201, _)) => m.transfers += 1,
                    Ok((200, body)) if count > 1 => match batch_refusals(&body, count) {
                        Ok(refused) => {
                            m.transfers += count - refused;
                            m.failures += refused;
                        }
                        Err(e) => {
                            m.failures += count;
                            m.first_error.get_or_insert(e);
                        }
                    },
                    Ok((status, body)) => {
                        m.failures += count;
                        m.first_error.get_or_insert_with(|| format!("{status} {}", String::from_utf8_lossy(&body)));
                    }
                    Err(e) => {
                        m.failures += count;
                        m.first_error.get_or_insert_with(|| e.to_string());
                        // The connection may be gone: open a new one, as a client would.
                        match Connection::open(&base).await {
                            Ok(c) => conn = c,
                            Err(_) => return m,
                        }
                    }
                }
            }
            m
        }));
    }
    let mut measured = Vec::with_capacity(tasks.len());
    for t in tasks {
        if let Ok(m) = t.await {
            measured.push(m);
        }
    }
    measured
}
