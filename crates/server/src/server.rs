//! `serve`: binds the public and admin listeners, serves until a shutdown signal, then drains.

use crate::config::Config;
use crate::workers::notifications::Dispatcher;
use crate::{secret_key, telemetry, wiring};
use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use pb_api::AppState;
use secrecy::ExposeSecret;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// A configured, migrated, bound server that has not started serving yet. Tests build one on
/// 127.0.0.1:0 and read the bound addresses before running it.
#[derive(Debug)]
pub struct Server {
    state: AppState,
    public: TcpListener,
    admin: TcpListener,
    shutdown_delay: Duration,
    dispatcher: Dispatcher,
    leases: Arc<dyn pb_domain::LeaseStore>,
    outbox: Arc<dyn pb_domain::ledger::store::OutboxStore>,
    verify_every: Duration,
    key_retention: Duration,
    watchers: Vec<pb_custody::DepositWatcher>,
    eth_sender: Option<pb_custody::EthSender>,
    sol_sender: Option<pb_custody::SolSender>,
}

impl Server {
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        // One TLS provider for every client in the process (reqwest, lettre): ring.
        let _ = rustls::crypto::ring::default_provider().install_default();
        // The recorder first: what is counted while the instance is built (the session cache's
        // first subscription) would otherwise go to no recorder and be lost.
        telemetry::metrics_handle();
        let secret_key = secret_key::resolve(config)?;
        let stores = wiring::open_stores(config).await?;
        if config.migrate_on_start {
            let report = stores.store.migrate().await.context("applying migrations")?;
            tracing::info!(backend = report.backend, applied = ?report.applied, "schema is current");
        }
        let services = wiring::services(config, &stores, &secret_key).await?;
        let sender = wiring::email_sender(config)?;
        tracing::info!(provider = sender.name(), "email delivery");
        let dispatcher = Dispatcher {
            identity: stores.identity.clone(),
            leases: stores.leases.clone(),
            sender,
            holder: pb_domain::identity::ids::new_id("inst"),
        };
        let state = AppState::new(services, wiring::api_settings(config)?);
        let mut watchers = Vec::new();
        let watcher = |scanner: Box<dyn pb_custody::ChainScanner>, confirmations: u64, start: Option<u64>| {
            pb_custody::DepositWatcher {
                scanner,
                store: stores.custody.clone(),
                ledger: state.ledger_arc(),
                clock: Arc::new(pb_domain::SystemClock),
                settings: pb_custody::WatcherSettings { confirmations, start, poll: config.custody_poll },
            }
        };
        if let (Some(url), true) = (&config.ethereum_rpc_url, state.custody().has_seed()) {
            let scanner = pb_custody::EthScanner {
                rpc: pb_chains::eth_rpc::EthRpc::new(url.expose_secret()),
                tokens: state.custody().tokens().to_vec(),
            };
            watchers.push(watcher(Box::new(scanner), config.ethereum_confirmations, config.ethereum_start_block));
        }
        let eth_sender = match (&config.ethereum_rpc_url, state.custody().has_seed()) {
            (Some(url), true) => Some(pb_custody::EthSender {
                rpc: pb_chains::eth_rpc::EthRpc::new(url.expose_secret()),
                store: stores.custody.clone(),
                custody: state.custody_arc(),
                ledger: state.ledger_arc(),
                clock: Arc::new(pb_domain::SystemClock),
                settings: pb_custody::EthSenderSettings {
                    chain_id: config.ethereum_chain_id,
                    confirmations: config.ethereum_confirmations,
                    stuck_after: config.ethereum_stuck_after,
                    poll: config.custody_poll,
                },
            }),
            _ => None,
        };
        let solana = state.custody().solana().filter(|_| state.custody().has_seed()).cloned();
        if let Some(s) = &solana {
            let scanner = pb_custody::SolScanner { rpc: s.rpc.clone(), tokens: s.tokens.clone() };
            watchers.push(watcher(Box::new(scanner), config.solana_confirmations, config.solana_start_slot));
        }
        let sol_sender = solana.as_ref().map(|s| pb_custody::SolSender {
            rpc: s.rpc.clone(),
            store: stores.custody.clone(),
            custody: state.custody_arc(),
            ledger: state.ledger_arc(),
            clock: Arc::new(pb_domain::SystemClock),
            settings: pb_custody::SolSenderSettings {
                confirmations: config.solana_confirmations,
                poll: config.custody_poll,
            },
            sweeps: Default::default(),
        });
        let public = TcpListener::bind(config.listen).await.with_context(|| format!("binding {}", config.listen))?;
        let admin =
            TcpListener::bind(config.admin_listen).await.with_context(|| format!("binding {}", config.admin_listen))?;
        Ok(Self {
            state,
            public,
            admin,
            shutdown_delay: config.shutdown_delay,
            dispatcher,
            leases: stores.leases.clone(),
            outbox: stores.outbox.clone(),
            verify_every: config.ledger_verify_interval,
            key_retention: config.idempotency_key_retention,
            watchers,
            eth_sender,
            sol_sender,
        })
    }

    pub fn public_addr(&self) -> SocketAddr {
        self.public.local_addr().unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    pub fn admin_addr(&self) -> SocketAddr {
        self.admin.local_addr().unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes; then `/ready` turns 503 for `SHUTDOWN_DELAY_SECONDS`,
    /// the listeners close, requests in flight finish, and the pools close.
    pub async fn run(mut self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let handle = telemetry::metrics_handle();
        let upkeep = tokio::spawn({
            let handle = handle.clone();
            async move {
                let mut tick = tokio::time::interval(Duration::from_secs(5));
                loop {
                    tick.tick().await;
                    handle.run_upkeep();
                }
            }
        });

        // The singleton workers stop between ticks when told, so none is cut off mid-renewal.
        let (workers_stop, stop) = watch::channel(false);
        let holder = self.dispatcher.holder.clone();
        let mut workers = vec![
            tokio::spawn(self.dispatcher.clone().run(Duration::from_secs(1), stop.clone())),
            tokio::spawn(pb_ledger::expire_holds(
                self.state.ledger_arc(),
                self.leases.clone(),
                holder.clone(),
                Duration::from_secs(1),
                stop.clone(),
            )),
            tokio::spawn(pb_ledger::relay_outbox(
                self.outbox.clone(),
                self.state.ledger_arc(),
                self.state.pubsub_arc(),
                self.leases.clone(),
                holder.clone(),
                Duration::from_millis(200),
                stop.clone(),
            )),
        ];
        if !self.verify_every.is_zero() {
            workers.push(tokio::spawn(pb_ledger::verify_periodically(
                self.state.ledger_arc(),
                self.leases.clone(),
                holder.clone(),
                self.verify_every,
                stop.clone(),
            )));
        }
        if !self.key_retention.is_zero() {
            workers.push(tokio::spawn(pb_ledger::forget_idempotency_keys(
                self.state.ledger_arc(),
                self.leases.clone(),
                holder.clone(),
                self.key_retention,
                Duration::from_secs(600),
                stop.clone(),
            )));
        }
        for w in std::mem::take(&mut self.watchers) {
            workers.push(tokio::spawn(w.run(self.leases.clone(), holder.clone(), stop.clone())));
        }
        if let Some(s) = self.eth_sender.take() {
            workers.push(tokio::spawn(s.run(self.leases.clone(), holder.clone(), stop.clone())));
        }
        if let Some(s) = self.sol_sender.take() {
            workers.push(tokio::spawn(s.run(self.leases.clone(), holder.clone(), stop.clone())));
        }
        let (stop_tx, stop_rx) = watch::channel(false);
        let state = self.state.clone();
        let delay = self.shutdown_delay;
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!(delay_secs = delay.as_secs(), "shutdown requested: draining");
            state.start_draining();
            tokio::time::sleep(delay).await;
            let _ = stop_tx.send(true);
        });

        tracing::info!(public = %self.public_addr(), admin = %self.admin_addr(), "listening");
        let public_app = pb_api::router(self.state.clone()).into_make_service_with_connect_info::<SocketAddr>();
        let admin_app = admin_router(self.state.clone(), handle);
        let public = axum::serve(self.public, public_app).with_graceful_shutdown(stopped(stop_rx.clone()));
        let admin = axum::serve(self.admin, admin_app).with_graceful_shutdown(stopped(stop_rx));
        let result = tokio::try_join!(async { public.await }, async { admin.await });
        upkeep.abort();
        let _ = workers_stop.send(true);
        for w in workers {
            // A tick may be mid-way (a batch, a broadcast): let it finish, within reason.
            let abort = w.abort_handle();
            if tokio::time::timeout(Duration::from_secs(10), w).await.is_err() {
                abort.abort();
            }
        }
        // Hand the singleton workers over at once instead of after their leases expire.
        let leases = [
            crate::workers::notifications::LEASE,
            pb_ledger::EXPIRY_LEASE,
            pb_ledger::RELAY_LEASE,
            pb_ledger::VERIFY_LEASE,
            pb_custody::ETH_SENDER_LEASE,
            pb_custody::SOL_SENDER_LEASE,
        ]
        .map(str::to_owned)
        .into_iter()
        .chain(["ethereum", "solana"].map(pb_custody::watcher_lease));
        for name in leases {
            if let Err(e) = self.leases.release_lease(&name, &self.dispatcher.holder).await {
                tracing::warn!(lease = %name, error = %e, "releasing a lease at shutdown failed");
            }
        }
        self.state.store().close().await;
        tracing::info!("stopped");
        result.map(|_| ()).context("serving HTTP")
    }
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// SIGTERM (orchestrators) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}

#[derive(Clone)]
struct AdminState {
    app: AppState,
    metrics: PrometheusHandle,
}

/// The admin listener: metrics and liveness, never exposed publicly.
fn admin_router(app: AppState, metrics: PrometheusHandle) -> Router {
    Router::new()
        .route("/metrics", get(render_metrics))
        .route("/health", get(pb_api::routes::health::health))
        .with_state(AdminState { app, metrics })
}

async fn render_metrics(State(s): State<AdminState>) -> impl IntoResponse {
    // Dependencies are probed at scrape time, so `dependency_up` is as fresh as the scrape.
    let checks = pb_api::routes::health::probe_all(&s.app).await;
    let ready = !s.app.is_draining() && checks.iter().all(|c| c.up);
    metrics::gauge!("instance_ready").set(if ready { 1.0 } else { 0.0 });
    if let Some(lag) = s.app.store().replica_lag_seconds().await {
        metrics::gauge!("db_replica_lag_seconds").set(lag);
    }
    for pool in s.app.store().pool_stats() {
        let backend = s.app.store().backend();
        let labels = [("pool", pool.pool), ("backend", backend)];
        metrics::gauge!("db_pool_connections_max", &labels).set(pool.max);
        metrics::gauge!("db_pool_connections_open", &labels).set(pool.size);
        metrics::gauge!("db_pool_connections_idle", &labels).set(pool.idle);
        metrics::gauge!("db_pool_connections_in_use", &labels).set(pool.size.saturating_sub(pool.idle));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], s.metrics.render())
}
