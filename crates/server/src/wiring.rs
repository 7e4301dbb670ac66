//! Chooses the implementation behind each domain trait from the configuration: the only place
//! that knows which database, cache and email provider are in use.

use crate::config::{Config, DatabaseTarget};
use anyhow::Context;
use pb_api::{ApiSettings, Services};
use pb_cache::{InProcess, RedisCache};
use pb_custody::CustodyService;
use pb_domain::custody::CustodyStore;
use pb_domain::identity::store::IdentityStore;
use pb_domain::ledger::AssetRegistry;
use pb_domain::ledger::store::{AdjustmentStore, LedgerStore, OutboxStore};
use pb_domain::notify::EmailSender;
use pb_domain::{Cache, Environment, LeaseStore, PubSub, Store, SystemClock};
use pb_identity::{IdentityService, IdentitySettings};
use pb_ledger::{Batcher, BatcherSettings, LedgerService};
use pb_notify::{LocalOutbox, SendGridSender, SmtpSender};
use pb_store_postgres::{PgStore, PgStoreOptions};
use pb_store_sqlite::SqliteStore;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;

/// One database, seen through each trait it implements.
#[derive(Debug, Clone)]
pub struct Stores {
    pub store: Arc<dyn Store>,
    pub identity: Arc<dyn IdentityStore>,
    pub leases: Arc<dyn LeaseStore>,
    pub ledger: Arc<dyn LedgerStore>,
    pub outbox: Arc<dyn OutboxStore>,
    pub adjustments: Arc<dyn AdjustmentStore>,
    pub custody: Arc<dyn CustodyStore>,
}

fn split<S: Store + IdentityStore + LeaseStore + LedgerStore + OutboxStore + AdjustmentStore + CustodyStore>(
    s: S,
) -> Stores {
    let s = Arc::new(s);
    Stores {
        store: s.clone(),
        identity: s.clone(),
        leases: s.clone(),
        ledger: s.clone(),
        outbox: s.clone(),
        adjustments: s.clone(),
        custody: s,
    }
}

pub async fn open_stores(config: &Config) -> anyhow::Result<Stores> {
    Ok(match &config.database {
        DatabaseTarget::Sqlite(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            }
            split(SqliteStore::open(path).await?)
        }
        DatabaseTarget::Postgres { primary, replica } => split(PgStore::connect(&PgStoreOptions {
            primary_url: primary.expose_secret(),
            replica_url: replica.as_ref().map(|r| r.expose_secret()),
            max_connections: config.database_max_connections,
            batch_connections: u32::try_from(config.ledger_batch_workers).unwrap_or(1),
            acquire_timeout: config.database_acquire_timeout,
            ledger_view_accounts: config.ledger_view_accounts,
        })?),
    })
}

pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    Ok(open_stores(config).await?.store)
}

pub fn cache(config: &Config) -> anyhow::Result<(Arc<dyn Cache>, Arc<dyn PubSub>)> {
    Ok(match &config.redis_url {
        Some(url) => {
            let redis = Arc::new(RedisCache::connect(url.expose_secret(), &config.redis_key_prefix)?);
            (redis.clone(), redis)
        }
        None => {
            let local = Arc::new(InProcess::new());
            (local.clone(), local)
        }
    })
}

/// SMTP when configured, else SendGrid, else (development only) the local outbox.
pub fn email_sender(config: &Config) -> anyhow::Result<Arc<dyn EmailSender>> {
    if let Some(url) = &config.smtp_url {
        return Ok(Arc::new(SmtpSender::new(url.expose_secret(), &config.email_from).map_err(anyhow::Error::msg)?));
    }
    if let Some(key) = &config.sendgrid_api_key {
        return Ok(Arc::new(
            SendGridSender::new(key.expose_secret(), &config.sendgrid_api_url, &config.email_from)
                .map_err(anyhow::Error::msg)?,
        ));
    }
    anyhow::ensure!(config.environment == Environment::Development, "no email provider configured in production");
    Ok(Arc::new(LocalOutbox))
}

pub fn identity_settings(config: &Config) -> IdentitySettings {
    let mut s = IdentitySettings::new(config.environment, config.public_url.clone());
    s.session_idle_ms = i64::try_from(config.session_idle.as_millis()).unwrap_or(i64::MAX);
    s.session_absolute_ms = i64::try_from(config.session_lifetime.as_millis()).unwrap_or(i64::MAX);
    s.lockout_threshold = config.login_lockout_threshold;
    s
}

pub async fn services(config: &Config, stores: &Stores, secret_key: &SecretString) -> anyhow::Result<Services> {
    let (cache, pubsub) = cache(config)?;
    let identity = IdentityService::new(
        stores.identity.clone(),
        cache.clone(),
        Arc::new(SystemClock),
        identity_settings(config),
        secret_key.expose_secret().as_bytes(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("identity service: {e}"))?
    .with_session_cache(i64::try_from(config.session_cache.as_millis()).unwrap_or(0), pubsub.clone())
    .await;
    Ok(Services {
        store: stores.store.clone(),
        cache,
        pubsub,
        identity: Arc::new(identity),
        ledger: Arc::new(ledger(config, stores)?),
        custody: Arc::new(custody(config, stores, secret_key).await?),
    })
}

/// Custody is on for each chain whose RPC endpoint is configured, with the seed from the
/// secret or the database. A seed that cannot be opened (wrong SECRET_KEY) stops the start.
pub async fn custody(config: &Config, stores: &Stores, secret_key: &SecretString) -> anyhow::Result<CustodyService> {
    let mut chains = Vec::new();
    if config.ethereum_rpc_url.is_some() {
        chains.push(pb_chains::Chain::Ethereum);
    }
    if config.solana_rpc_url.is_some() {
        chains.push(pb_chains::Chain::Solana);
    }
    let mnemonic = config.custody_mnemonic.as_ref().map(|m| m.expose_secret().to_owned());
    let seed =
        pb_custody::unlock_seed(stores.custody.as_ref(), secret_key.expose_secret().as_bytes(), mnemonic.as_deref())
            .await
            .map_err(anyhow::Error::msg)?;
    match (&seed, chains.is_empty()) {
        (_, true) => tracing::info!("custody off: set ETHEREUM_RPC_URL and/or SOLANA_RPC_URL to switch it on"),
        (None, false) => tracing::warn!("custody has no master seed: run `protocol-bank custody init`"),
        (Some((_, source)), false) => {
            tracing::info!(chains = ?chains.iter().map(|c| c.as_str()).collect::<Vec<_>>(), seed = ?source, "custody on")
        }
    }
    if let Some(url) = &config.ethereum_rpc_url {
        // Withdrawals are signed for ETHEREUM_CHAIN_ID: refuse to start against another chain.
        match pb_chains::eth_rpc::EthRpc::new(url.expose_secret()).chain_id().await {
            Ok(id) if id != config.ethereum_chain_id => {
                anyhow::bail!(
                    "ETHEREUM_RPC_URL serves chain {id}, but ETHEREUM_CHAIN_ID is {}",
                    config.ethereum_chain_id
                )
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "ethereum node unreachable at start; custody retries"),
        }
    }
    let solana = match &config.solana_rpc_url {
        Some(url) => {
            let rpc = pb_chains::sol_rpc::SolRpc::new(url.expose_secret());
            // Withdrawals are signed for whichever cluster answers: refuse the wrong one.
            if let Some(want) = &config.solana_genesis_hash {
                match rpc.genesis_hash().await {
                    Ok(got) if got != *want => {
                        anyhow::bail!("SOLANA_RPC_URL serves cluster {got}, but SOLANA_GENESIS_HASH is {want}")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "solana node unreachable at start; custody retries"),
                }
            }
            Some(pb_custody::SolanaCustody {
                rpc,
                tokens: solana_tokens(config)?,
                withdrawal_fee: config.solana_withdrawal_fee_lamports,
                token_withdrawal_fee: config.solana_token_withdrawal_fee,
            })
        }
        None => None,
    };
    let service = CustodyService::new(
        stores.custody.clone(),
        seed.map(|(s, _)| s),
        chains,
        Arc::new(SystemClock),
        config.ethereum_withdrawal_fee_wei,
        config.ethereum_rpc_url.as_ref().map(|u| pb_chains::eth_rpc::EthRpc::new(u.expose_secret())),
    )
    .with_tokens(ethereum_tokens(config)?, config.ethereum_token_withdrawal_fee);
    let service = service.with_withdrawal_limits(pb_custody::WithdrawalLimits {
        per_day: withdrawal_limits(config)?,
        leases: stores.leases.clone(),
    });
    Ok(match solana {
        Some(s) => service.with_solana(s),
        None => service,
    })
}

/// `NAME=ASSET=value,…`: each asset known to the ledger (see LEDGER_EXTRA_ASSETS), its value
/// parsed by `parse`. Shared by ETHEREUM_TOKENS, SOLANA_TOKENS and WITHDRAWAL_DAILY_LIMITS.
fn asset_pairs<T>(
    config: &Config,
    name: &str,
    list: &str,
    parse: impl Fn(&pb_domain::ledger::asset::Asset, &str) -> Result<T, String>,
) -> anyhow::Result<Vec<(String, T)>> {
    let assets = AssetRegistry::with_extra(&config.ledger_extra_assets).map_err(anyhow::Error::msg)?;
    let mut out = Vec::new();
    for pair in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (asset, value) = pair.split_once('=').with_context(|| format!("{name}: {pair:?} is not ASSET=value"))?;
        let asset = asset.trim();
        let Some(spec) = assets.get(asset) else {
            anyhow::bail!("{name}: unknown asset {asset:?} (see LEDGER_EXTRA_ASSETS)");
        };
        let value = parse(spec, value.trim()).map_err(|e| anyhow::anyhow!("{name}: {asset}: {e}"))?;
        out.push((asset.to_owned(), value));
    }
    Ok(out)
}

/// `ETHEREUM_TOKENS`: `ASSET=0xContract,…`.
fn ethereum_tokens(config: &Config) -> anyhow::Result<Vec<(String, pb_chains::EthAddress)>> {
    asset_pairs(config, "ETHEREUM_TOKENS", &config.ethereum_tokens, |_, v| {
        pb_chains::EthAddress::parse(v).map_err(|e| e.to_string())
    })
}

/// `SOLANA_TOKENS`: `ASSET=Mint,…`; the asset's scale is the mint's decimals.
fn solana_tokens(config: &Config) -> anyhow::Result<Vec<pb_custody::SolToken>> {
    let pairs = asset_pairs(config, "SOLANA_TOKENS", &config.solana_tokens, |spec, v| {
        Ok((pb_chains::SolAddress::parse(v).map_err(|e| e.to_string())?, spec.scale))
    })?;
    Ok(pairs.into_iter().map(|(asset, (mint, decimals))| pb_custody::SolToken { asset, mint, decimals }).collect())
}

/// `WITHDRAWAL_DAILY_LIMITS`: `ASSET=amount,…` in smallest units.
fn withdrawal_limits(config: &Config) -> anyhow::Result<std::collections::BTreeMap<String, u128>> {
    let pairs = asset_pairs(config, "WITHDRAWAL_DAILY_LIMITS", &config.withdrawal_daily_limits, |_, v| {
        v.parse::<u128>().map_err(|_| format!("{v:?} is not an amount in smallest units"))
    })?;
    Ok(pairs.into_iter().collect())
}

/// The ledger service with this instance's micro-batcher (needs a Tokio runtime).
pub fn ledger(config: &Config, stores: &Stores) -> anyhow::Result<LedgerService> {
    let assets = AssetRegistry::with_extra(&config.ledger_extra_assets).map_err(anyhow::Error::msg)?;
    let batcher = Batcher::start(
        stores.ledger.clone(),
        Arc::new(SystemClock),
        BatcherSettings {
            max_wait: config.ledger_batch_max_wait,
            max_batch: config.ledger_batch_max,
            // SQLite has one writer: a second batch in flight would only wait for it.
            workers: if matches!(config.database, DatabaseTarget::Sqlite(_)) { 1 } else { config.ledger_batch_workers },
            thread_nice: config.ledger_batch_thread_nice,
            ..BatcherSettings::default()
        },
    );
    Ok(LedgerService::new(
        stores.ledger.clone(),
        stores.adjustments.clone(),
        stores.identity.clone(),
        batcher,
        Arc::new(SystemClock),
        assets,
        config.environment,
    ))
}

pub fn api_settings(config: &Config) -> anyhow::Result<ApiSettings> {
    let cors_origins = config
        .cors_allowed_origins
        .iter()
        .map(|o| o.parse().with_context(|| format!("CORS origin {o:?}")))
        .collect::<anyhow::Result<_>>()?;
    Ok(ApiSettings {
        environment: config.environment,
        cors_origins,
        max_body_bytes: config.max_body_bytes,
        request_timeout: config.request_timeout,
        trusted_proxy_hops: config.trusted_proxy_hops,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> Config {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::from_raw(&crate::config::Raw::load(None, &|name| map.get(name).cloned()).unwrap()).unwrap()
    }

    #[test]
    fn asset_lists_are_checked_against_the_ledger_assets() {
        let c = load(&[
            ("SOLANA_TOKENS", "USDC-SOL=EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"),
            ("WITHDRAWAL_DAILY_LIMITS", " ETH=10000000000000000000 , SOL=5 "),
        ]);
        let tokens = solana_tokens(&c).unwrap();
        assert_eq!((tokens[0].asset.as_str(), tokens[0].decimals), ("USDC-SOL", 6), "decimals from the asset's scale");
        let limits = withdrawal_limits(&c).unwrap();
        assert_eq!((limits["ETH"], limits["SOL"]), (10_000_000_000_000_000_000, 5));
        assert!(ethereum_tokens(&c).unwrap().is_empty());

        for (name, value, says) in [
            ("WITHDRAWAL_DAILY_LIMITS", "DOGE=1", "unknown asset"),
            ("WITHDRAWAL_DAILY_LIMITS", "SOL=1.5", "not an amount"),
            ("ETHEREUM_TOKENS", "USDC-ETH", "is not ASSET=value"),
            ("ETHEREUM_TOKENS", "USDC-ETH=0x1234", "USDC-ETH"),
            ("SOLANA_TOKENS", "USDC-SOL=0xabc", "USDC-SOL"),
        ] {
            let c = load(&[(name, value)]);
            let err = match name {
                "WITHDRAWAL_DAILY_LIMITS" => withdrawal_limits(&c).err(),
                "ETHEREUM_TOKENS" => ethereum_tokens(&c).err(),
                _ => solana_tokens(&c).err(),
            };
            let err = err.map(|e| e.to_string()).unwrap_or_default();
            assert!(err.starts_with(name) && err.contains(says), "{name}={value}: {err}");
        }
    }
}
