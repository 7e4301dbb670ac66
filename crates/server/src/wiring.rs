//! Chooses the implementation behind each domain trait from the configuration: the only place
//! that knows which database and cache are in use.

use crate::config::{Config, DatabaseTarget};
use anyhow::Context;
use pb_api::{ApiSettings, Services};
use pb_cache::{InProcess, RedisCache};
use pb_domain::Store;
use pb_store_postgres::{PgStore, PgStoreOptions};
use pb_store_sqlite::SqliteStore;
use secrecy::ExposeSecret;
use std::sync::Arc;

pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match &config.database {
        DatabaseTarget::Sqlite(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            }
            Arc::new(SqliteStore::open(path).await?)
        }
        DatabaseTarget::Postgres { primary, replica } => Arc::new(PgStore::connect(&PgStoreOptions {
            primary_url: primary.expose_secret(),
            replica_url: replica.as_ref().map(|r| r.expose_secret()),
            max_connections: config.database_max_connections,
            acquire_timeout: config.database_acquire_timeout,
        })?),
    })
}

pub async fn services(config: &Config) -> anyhow::Result<Services> {
    let store = open_store(config).await?;
    Ok(match &config.redis_url {
        Some(url) => {
            let redis = Arc::new(RedisCache::connect(url.expose_secret(), &config.redis_key_prefix)?);
            Services { store, cache: redis.clone(), pubsub: redis }
        }
        None => {
            let local = Arc::new(InProcess::new());
            Services { store, cache: local.clone(), pubsub: local }
        }
    })
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
