//! Configuration: defaults, then an optional TOML file, then the environment (with `<NAME>_FILE`
//! for secrets), then command-line flags. Parsed once into typed values; secrets stay in
//! `SecretString`, whose `Debug` prints `[REDACTED]`.

use crate::settings::{self, SETTINGS};
use anyhow::{Context, bail};
use pb_domain::Environment;
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Which database the URL names.
#[derive(Debug, Clone)]
pub enum DatabaseTarget {
    Sqlite(PathBuf),
    Postgres { primary: SecretString, replica: Option<SecretString> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub environment: Environment,
    pub listen: SocketAddr,
    pub admin_listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Resolved by [`crate::secret_key::resolve`]; `None` here means "generate in development".
    pub secret_key: Option<SecretString>,
    pub database: DatabaseTarget,
    pub database_max_connections: u32,
    pub database_acquire_timeout: Duration,
    pub migrate_on_start: bool,
    pub redis_url: Option<SecretString>,
    pub redis_key_prefix: String,
    pub cors_allowed_origins: Vec<String>,
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    pub trusted_proxy_hops: usize,
    pub shutdown_delay: Duration,
    pub log_format: LogFormat,
    pub log_level: String,
    pub public_url: String,
    pub smtp_url: Option<SecretString>,
    pub sendgrid_api_key: Option<SecretString>,
    pub sendgrid_api_url: String,
    pub email_from: String,
    pub session_idle: Duration,
    pub session_cache: Duration,
    pub session_lifetime: Duration,
    pub login_lockout_threshold: u64,
    pub ledger_extra_assets: String,
    pub ledger_batch_max_wait: Duration,
    pub ledger_batch_max: usize,
    pub ledger_batch_workers: usize,
    pub ledger_batch_thread_nice: i32,
    pub ledger_view_accounts: usize,
    /// How often one instance runs `ledger verify` in the background; zero: never.
    pub ledger_verify_interval: Duration,
    /// How long Idempotency-Keys are remembered; zero: forever.
    pub idempotency_key_retention: Duration,
    pub custody_mnemonic: Option<SecretString>,
    pub ethereum_confirmations: u64,
    pub ethereum_start_block: Option<u64>,
    pub custody_poll: Duration,
    pub ethereum_chain_id: u64,
    pub ethereum_withdrawal_fee_wei: u128,
    pub ethereum_stuck_after: Duration,
    pub ethereum_tokens: String,
    pub ethereum_token_withdrawal_fee: u128,
    pub ethereum_rpc_url: Option<SecretString>,
    pub solana_rpc_url: Option<SecretString>,
    pub solana_confirmations: u64,
    pub solana_start_slot: Option<u64>,
    pub solana_genesis_hash: Option<String>,
    pub solana_withdrawal_fee_lamports: u128,
    pub solana_tokens: String,
    pub solana_token_withdrawal_fee: u128,
    pub withdrawal_daily_limits: String,
    pub kyc_api_key: Option<SecretString>,
    pub payment_gateway_api_key: Option<SecretString>,
    pub facial_recognition_api_key: Option<SecretString>,
}

/// Flags given on the command line; they win over everything else.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub listen: Option<String>,
    pub admin_listen: Option<String>,
    pub no_migrate: bool,
}

/// Raw values by variable name, after layering.
#[derive(Default)]
pub struct Raw(BTreeMap<&'static str, String>);

impl std::fmt::Debug for Raw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.redacted()).finish()
    }
}

impl Raw {
    /// Layers defaults, the TOML file, then `env` (a function so tests need not touch the
    /// process environment).
    pub fn load(file: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let mut raw = Raw::default();
        for s in SETTINGS {
            if let Some(d) = s.default {
                raw.0.insert(s.env, d.to_owned());
            }
        }
        if let Some(path) = file {
            raw.apply_toml(path)?;
        }
        for s in SETTINGS {
            let direct = env(s.env).filter(|v| !v.is_empty());
            let from_file = if s.secret { env(&format!("{}_FILE", s.env)).filter(|v| !v.is_empty()) } else { None };
            match (direct, from_file) {
                (Some(_), Some(_)) => bail!("both {0} and {0}_FILE are set; set only one", s.env),
                (Some(v), None) => {
                    raw.0.insert(s.env, v);
                }
                (None, Some(path)) => {
                    let value =
                        std::fs::read_to_string(&path).with_context(|| format!("reading {}_FILE ({path})", s.env))?;
                    // Secret files usually end with a newline that is not part of the secret.
                    raw.0.insert(s.env, value.trim_end_matches(['\n', '\r']).to_owned());
                }
                (None, None) => {}
            }
        }
        Ok(raw)
    }

    fn apply_toml(&mut self, path: &Path) -> anyhow::Result<()> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading config file {}", path.display()))?;
        let table: toml::Table = toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        for (key, value) in table {
            let name = key.to_ascii_uppercase();
            let Some(setting) = settings::find(&name) else {
                bail!("{}: unknown setting `{key}` (see `protocol-bank admin config`)", path.display());
            };
            if setting.secret {
                bail!("{}: `{key}` is a secret; set {name} or {name}_FILE in the environment instead", path.display());
            }
            let text = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                toml::Value::Array(items) => items
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .ok_or_else(|| anyhow::anyhow!("`{key}`: list items must be strings"))
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?
                    .join(","),
                other => bail!("{}: `{key}` has an unsupported type ({})", path.display(), other.type_str()),
            };
            self.0.insert(setting.env, text);
        }
        Ok(())
    }

    pub fn set(&mut self, env: &'static str, value: impl Into<String>) {
        self.0.insert(env, value.into());
    }

    fn get(&self, env: &str) -> Option<&str> {
        self.0.get(env).map(String::as_str)
    }

    fn secret(&self, env: &str) -> Option<SecretString> {
        self.get(env).map(|v| SecretString::from(v.to_owned()))
    }

    fn parse<T: std::str::FromStr>(&self, env: &str) -> anyhow::Result<T>
    where
        T::Err: std::fmt::Display,
    {
        let value = self.get(env).with_context(|| format!("{env} is not set"))?;
        value.trim().parse().map_err(|e| anyhow::anyhow!("{env}={value:?} is invalid: {e}"))
    }

    /// (name, value) for display, secrets redacted.
    pub fn redacted(&self) -> Vec<(&'static str, String)> {
        SETTINGS
            .iter()
            .map(|s| {
                let shown = match self.get(s.env) {
                    None => "(unset)".to_owned(),
                    Some(_) if s.secret => "[REDACTED]".to_owned(),
                    Some(v) => v.to_owned(),
                };
                (s.env, shown)
            })
            .collect()
    }
}

fn parse_bool(env: &str, value: &str) -> anyhow::Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => bail!("{env}={value:?} is not a boolean (true/false)"),
    }
}

impl Config {
    /// Loads from the process environment and the given flags.
    pub fn load(overrides: &Overrides) -> anyhow::Result<Self> {
        let file =
            overrides.config_file.clone().or_else(|| std::env::var_os("PROTOCOL_BANK_CONFIG").map(PathBuf::from));
        let mut raw = Raw::load(file.as_deref(), &|name| std::env::var(name).ok())?;
        apply_overrides(&mut raw, overrides);
        Self::from_raw(&raw)
    }

    pub fn from_raw(raw: &Raw) -> anyhow::Result<Self> {
        let env_text = raw.get("PROTOCOL_BANK_ENV").unwrap_or("development");
        let environment = Environment::parse(env_text)
            .with_context(|| format!("PROTOCOL_BANK_ENV={env_text:?} must be `development` or `production`"))?;
        let data_dir = PathBuf::from(raw.get("DATA_DIR").unwrap_or("./data"));
        let database = database_target(raw, &data_dir)?;
        let database_is = database.clone();
        let log_format = match raw.get("LOG_FORMAT").unwrap_or("json") {
            "json" => LogFormat::Json,
            "text" | "pretty" => LogFormat::Text,
            other => bail!("LOG_FORMAT={other:?} must be `json` or `text`"),
        };
        let cors_allowed_origins = raw
            .get("CORS_ALLOWED_ORIGINS")
            .map(|v| v.split(',').map(str::trim).filter(|o| !o.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default();
        let listen: SocketAddr = raw.parse("LISTEN_ADDR")?;
        let public_url = raw
            .get("PUBLIC_URL")
            .map(|u| u.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| format!("http://{listen}"));
        let config = Config {
            environment,
            listen,
            admin_listen: raw.parse("ADMIN_LISTEN_ADDR")?,
            data_dir,
            secret_key: raw.secret("SECRET_KEY"),
            database: database_is,
            database_max_connections: raw.parse("DATABASE_MAX_CONNECTIONS")?,
            database_acquire_timeout: Duration::from_secs(raw.parse("DATABASE_ACQUIRE_TIMEOUT_SECONDS")?),
            migrate_on_start: parse_bool("MIGRATE_ON_START", raw.get("MIGRATE_ON_START").unwrap_or("true"))?,
            redis_url: raw.secret("REDIS_URL"),
            redis_key_prefix: raw.get("REDIS_KEY_PREFIX").unwrap_or("pb:").to_owned(),
            cors_allowed_origins,
            max_body_bytes: raw.parse("MAX_BODY_BYTES")?,
            request_timeout: Duration::from_secs(raw.parse("REQUEST_TIMEOUT_SECONDS")?),
            trusted_proxy_hops: raw.parse("TRUSTED_PROXY_HOPS")?,
            shutdown_delay: Duration::from_secs(raw.parse("SHUTDOWN_DELAY_SECONDS")?),
            log_format,
            log_level: raw.get("LOG_LEVEL").unwrap_or("info").to_owned(),
            public_url,
            smtp_url: raw.secret("SMTP_URL"),
            sendgrid_api_key: raw.secret("SENDGRID_API_KEY"),
            sendgrid_api_url: raw.get("SENDGRID_API_URL").unwrap_or("https://api.sendgrid.com").to_owned(),
            email_from: raw.get("EMAIL_FROM").unwrap_or("Protocol Bank <no-reply@localhost>").to_owned(),
            session_idle: Duration::from_secs(raw.parse("SESSION_IDLE_TIMEOUT_SECONDS")?),
            session_cache: Duration::from_secs(raw.parse("SESSION_CACHE_SECONDS")?),
            session_lifetime: Duration::from_secs(raw.parse("SESSION_LIFETIME_SECONDS")?),
            login_lockout_threshold: raw.parse("LOGIN_LOCKOUT_THRESHOLD")?,
            ledger_extra_assets: raw.get("LEDGER_EXTRA_ASSETS").unwrap_or("").to_owned(),
            ledger_batch_max_wait: Duration::from_micros(raw.parse("LEDGER_BATCH_MAX_WAIT_MICROS")?),
            ledger_batch_max: raw.parse("LEDGER_BATCH_MAX")?,
            ledger_batch_workers: raw.parse("LEDGER_BATCH_WORKERS")?,
            ledger_batch_thread_nice: raw.parse("LEDGER_BATCH_THREAD_NICE")?,
            ledger_view_accounts: raw.parse("LEDGER_VIEW_ACCOUNTS")?,
            ledger_verify_interval: Duration::from_secs(raw.parse("LEDGER_VERIFY_INTERVAL_SECONDS")?),
            idempotency_key_retention: Duration::from_secs(
                raw.parse::<u64>("IDEMPOTENCY_KEY_RETENTION_HOURS")?.saturating_mul(3600),
            ),
            custody_mnemonic: raw.secret("CUSTODY_MNEMONIC"),
            ethereum_confirmations: raw.parse("ETHEREUM_CONFIRMATIONS")?,
            ethereum_start_block: match raw.get("ETHEREUM_START_BLOCK") {
                Some(_) => Some(raw.parse("ETHEREUM_START_BLOCK")?),
                None => None,
            },
            custody_poll: Duration::from_millis(raw.parse("CUSTODY_POLL_MILLIS")?),
            ethereum_chain_id: raw.parse("ETHEREUM_CHAIN_ID")?,
            ethereum_withdrawal_fee_wei: raw.parse("ETHEREUM_WITHDRAWAL_FEE_WEI")?,
            ethereum_stuck_after: Duration::from_secs(raw.parse("ETHEREUM_STUCK_AFTER_SECONDS")?),
            ethereum_tokens: raw.get("ETHEREUM_TOKENS").unwrap_or("").to_owned(),
            ethereum_token_withdrawal_fee: raw.parse("ETHEREUM_TOKEN_WITHDRAWAL_FEE")?,
            ethereum_rpc_url: raw.secret("ETHEREUM_RPC_URL"),
            solana_rpc_url: raw.secret("SOLANA_RPC_URL"),
            solana_confirmations: raw.parse("SOLANA_CONFIRMATIONS")?,
            solana_start_slot: match raw.get("SOLANA_START_SLOT") {
                Some(_) => Some(raw.parse("SOLANA_START_SLOT")?),
                None => None,
            },
            solana_genesis_hash: raw.get("SOLANA_GENESIS_HASH").map(str::to_owned),
            solana_withdrawal_fee_lamports: raw.parse("SOLANA_WITHDRAWAL_FEE_LAMPORTS")?,
            solana_tokens: raw.get("SOLANA_TOKENS").unwrap_or("").to_owned(),
            solana_token_withdrawal_fee: raw.parse("SOLANA_TOKEN_WITHDRAWAL_FEE")?,
            withdrawal_daily_limits: raw.get("WITHDRAWAL_DAILY_LIMITS").unwrap_or("").to_owned(),
            kyc_api_key: raw.secret("KYC_API_KEY"),
            payment_gateway_api_key: raw.secret("PAYMENT_GATEWAY_API_KEY"),
            facial_recognition_api_key: raw.secret("FACIAL_RECOGNITION_API_KEY"),
        };
        config.validate()?;
        Ok(config)
    }

    /// Production refuses what is only acceptable on a laptop; every problem is listed at once.
    fn validate(&self) -> anyhow::Result<()> {
        let mut problems = Vec::new();
        for origin in &self.cors_allowed_origins {
            let ok = url::Url::parse(origin).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.path() == "/")
                && !origin.ends_with('/');
            if !ok {
                problems
                    .push(format!("CORS_ALLOWED_ORIGINS: {origin:?} is not an origin like https://app.example.com"));
            }
        }
        if url::Url::parse(&self.public_url).is_err() {
            problems.push(format!("PUBLIC_URL {:?} is not a URL", self.public_url));
        }
        if self.session_idle.is_zero() || self.session_lifetime < self.session_idle {
            problems.push("SESSION_IDLE_TIMEOUT_SECONDS must be > 0 and ≤ SESSION_LIFETIME_SECONDS".to_owned());
        }
        if let Err(e) = pb_domain::ledger::AssetRegistry::with_extra(&self.ledger_extra_assets) {
            problems.push(format!("LEDGER_EXTRA_ASSETS: {e}"));
        }
        if !(1..=10_000).contains(&self.ledger_batch_max) || !(1..=64).contains(&self.ledger_batch_workers) {
            problems.push("LEDGER_BATCH_MAX must be 1 to 10000 and LEDGER_BATCH_WORKERS 1 to 64".to_owned());
        }
        if !(-20..=19).contains(&self.ledger_batch_thread_nice) {
            problems.push("LEDGER_BATCH_THREAD_NICE must be -20 to 19".to_owned());
        }
        if self.login_lockout_threshold < 3 {
            problems.push("LOGIN_LOCKOUT_THRESHOLD must be at least 3".to_owned());
        }
        if self.max_body_bytes < 1024 {
            problems.push("MAX_BODY_BYTES must be at least 1024".to_owned());
        }
        // A key forgotten sooner would let a retried withdrawal count as new against the daily
        // limit (crates/custody/src/withdrawals.rs), and clients retry for hours.
        if !self.idempotency_key_retention.is_zero() && self.idempotency_key_retention < Duration::from_secs(24 * 3600)
        {
            problems.push("IDEMPOTENCY_KEY_RETENTION_HOURS must be at least 24 (or 0: keep keys forever)".to_owned());
        }
        if self.database_max_connections == 0 {
            problems.push("DATABASE_MAX_CONNECTIONS must be at least 1".to_owned());
        }
        if let Some(key) = &self.secret_key
            && key.expose_secret().len() < 32
        {
            problems.push("SECRET_KEY must be at least 32 characters".to_owned());
        }
        if self.environment == Environment::Production {
            if self.secret_key.is_none() {
                problems.push("SECRET_KEY (or SECRET_KEY_FILE) is required in production".to_owned());
            }
            if !matches!(self.database, DatabaseTarget::Postgres { .. }) {
                problems.push("DATABASE_URL=postgres://… is required in production".to_owned());
            }
            if self.redis_url.is_none() {
                problems.push(
                    "REDIS_URL is required in production (rate limits and revocations must be cluster-wide)".to_owned(),
                );
            }
            if self.smtp_url.is_none() && self.sendgrid_api_key.is_none() {
                problems.push(
                    "SMTP_URL or SENDGRID_API_KEY is required in production (the local outbox is development-only)"
                        .to_owned(),
                );
            }
            if !self.public_url.starts_with("https://") {
                problems.push("PUBLIC_URL=https://… is required in production (links in emails)".to_owned());
            }
            for (name, set) in [
                ("KYC_API_KEY", self.kyc_api_key.is_some()),
                ("PAYMENT_GATEWAY_API_KEY", self.payment_gateway_api_key.is_some()),
                ("FACIAL_RECOGNITION_API_KEY", self.facial_recognition_api_key.is_some()),
            ] {
                if !set {
                    tracing::warn!(
                        "{name} is not set: that provider is disabled in production (sandboxes are refused)"
                    );
                }
            }
        }
        if problems.is_empty() { Ok(()) } else { bail!("invalid configuration:\n  - {}", problems.join("\n  - ")) }
    }

    /// Embedded default: SQLite and in-process cache. Production shape: PostgreSQL and Redis.
    pub fn mode_description(&self) -> String {
        let db = match &self.database {
            DatabaseTarget::Sqlite(path) => format!("SQLite at {}", path.display()),
            DatabaseTarget::Postgres { replica, .. } => {
                format!("PostgreSQL{}", if replica.is_some() { " with read replica" } else { "" })
            }
        };
        let cache = if self.redis_url.is_some() { "Redis" } else { "in-process cache and pub/sub" };
        format!("{} mode: {db}, {cache}", self.environment.as_str())
    }
}

pub fn apply_overrides(raw: &mut Raw, overrides: &Overrides) {
    if let Some(dir) = &overrides.data_dir {
        raw.set("DATA_DIR", dir.display().to_string());
    }
    if let Some(listen) = &overrides.listen {
        raw.set("LISTEN_ADDR", listen.clone());
    }
    if let Some(listen) = &overrides.admin_listen {
        raw.set("ADMIN_LISTEN_ADDR", listen.clone());
    }
    if overrides.no_migrate {
        raw.set("MIGRATE_ON_START", "false");
    }
}

fn database_target(raw: &Raw, data_dir: &Path) -> anyhow::Result<DatabaseTarget> {
    let Some(url) = raw.get("DATABASE_URL") else {
        return Ok(DatabaseTarget::Sqlite(data_dir.join("protocol-bank.db")));
    };
    let replica = raw.secret("DATABASE_REPLICA_URL");
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        if let Some(r) = &replica
            && !(r.expose_secret().starts_with("postgres://") || r.expose_secret().starts_with("postgresql://"))
        {
            bail!("DATABASE_REPLICA_URL must be a postgres:// URL");
        }
        return Ok(DatabaseTarget::Postgres { primary: SecretString::from(url.to_owned()), replica });
    }
    if replica.is_some() {
        bail!("DATABASE_REPLICA_URL is only supported with PostgreSQL");
    }
    if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        let path = path.split('?').next().unwrap_or(path);
        if path.is_empty() {
            bail!("DATABASE_URL: sqlite:// needs a file path");
        }
        return Ok(DatabaseTarget::Sqlite(PathBuf::from(path)));
    }
    // Never echo the URL: it may hold a password.
    bail!("DATABASE_URL must start with postgres://, postgresql:// or sqlite://")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(vars: &[(&str, &str)]) -> anyhow::Result<Config> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Config::from_raw(&Raw::load(None, &|name| map.get(name).cloned())?)
    }

    #[test]
    fn nothing_set_is_the_embedded_default() {
        let c = load(&[]).expect("defaults are valid");
        assert_eq!(c.environment, Environment::Development);
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.admin_listen.to_string(), "127.0.0.1:9090");
        assert!(matches!(c.database, DatabaseTarget::Sqlite(ref p) if p == Path::new("./data/protocol-bank.db")));
        assert!(c.redis_url.is_none());
        assert!(c.migrate_on_start);
    }

    #[test]
    fn production_lists_every_missing_requirement() {
        let err = load(&[("PROTOCOL_BANK_ENV", "production")]).expect_err("must refuse").to_string();
        assert!(err.contains("SECRET_KEY"), "{err}");
        assert!(err.contains("DATABASE_URL"), "{err}");
        assert!(err.contains("REDIS_URL"), "{err}");
        assert!(err.contains("SMTP_URL") && err.contains("PUBLIC_URL"), "{err}");
    }

    #[test]
    fn production_with_postgres_redis_and_a_key_loads() {
        let c = load(&[
            ("PROTOCOL_BANK_ENV", "production"),
            ("SECRET_KEY", "0123456789abcdef0123456789abcdef"),
            ("DATABASE_URL", "postgres://u:hunter2@db/pb"),
            ("REDIS_URL", "redis://127.0.0.1:6379"),
            ("SMTP_URL", "smtps://u:p@smtp.example.com"),
            ("PUBLIC_URL", "https://bank.example.com"),
        ])
        .expect("valid");
        assert!(matches!(c.database, DatabaseTarget::Postgres { .. }));
    }

    #[test]
    fn idempotency_keys_are_kept_thirty_days_at_least_one_or_forever() {
        assert_eq!(load(&[]).expect("valid").idempotency_key_retention, Duration::from_secs(30 * 24 * 3600));
        assert!(load(&[("IDEMPOTENCY_KEY_RETENTION_HOURS", "0")]).expect("valid").idempotency_key_retention.is_zero());
        assert!(load(&[("IDEMPOTENCY_KEY_RETENTION_HOURS", "24")]).is_ok());
        let err = load(&[("IDEMPOTENCY_KEY_RETENTION_HOURS", "23")]).expect_err("too short").to_string();
        assert!(err.contains("IDEMPOTENCY_KEY_RETENTION_HOURS must be at least 24"), "{err}");
    }

    #[test]
    fn secrets_never_show_in_debug_or_errors() {
        let c = load(&[
            ("DATABASE_URL", "postgres://u:hunter2@db/pb"),
            ("SECRET_KEY", "s3cret-s3cret-s3cret-s3cret-s3cret!"),
        ])
        .expect("valid");
        let debug = format!("{c:?}");
        assert!(!debug.contains("hunter2") && !debug.contains("s3cret"), "{debug}");
        let err = load(&[("DATABASE_URL", "mysql://u:hunter2@db/pb")]).expect_err("bad scheme").to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn secret_files_are_read_and_conflicts_refused() {
        let dir = std::env::temp_dir().join(format!("pb-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("key");
        std::fs::write(&file, "abcdefghijklmnopqrstuvwxyz0123456789\n").expect("write");
        let path = file.display().to_string();
        let c = load(&[("SECRET_KEY_FILE", &path)]).expect("valid");
        assert_eq!(c.secret_key.as_ref().map(|k| k.expose_secret().len()), Some(36));
        assert!(load(&[("SECRET_KEY_FILE", &path), ("SECRET_KEY", "x")]).is_err());
    }

    #[test]
    fn toml_file_sets_plain_settings_and_refuses_secrets() {
        let dir = std::env::temp_dir().join(format!("pb-toml-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let good = dir.join("good.toml");
        std::fs::write(&good, "listen_addr = \"127.0.0.1:8181\"\ncors_allowed_origins = [\"https://a.example\"]\n")
            .expect("write");
        let c = Config::from_raw(&Raw::load(Some(&good), &|_| None).expect("load")).expect("valid");
        assert_eq!(c.listen.port(), 8181);
        assert_eq!(c.cors_allowed_origins, vec!["https://a.example".to_owned()]);
        let bad = dir.join("bad.toml");
        std::fs::write(&bad, "secret_key = \"abc\"\n").expect("write");
        assert!(Raw::load(Some(&bad), &|_| None).is_err());
        let unknown = dir.join("unknown.toml");
        std::fs::write(&unknown, "lisen_addr = \"x\"\n").expect("write");
        assert!(Raw::load(Some(&unknown), &|_| None).is_err());
    }

    #[test]
    fn bad_values_are_named() {
        let err = load(&[("LISTEN_ADDR", "nope")]).expect_err("invalid").to_string();
        assert!(err.contains("LISTEN_ADDR"), "{err}");
        let err = load(&[("CORS_ALLOWED_ORIGINS", "https://a.example/path")]).expect_err("invalid").to_string();
        assert!(err.contains("CORS_ALLOWED_ORIGINS"), "{err}");
        for nice in ["-21", "20", "high"] {
            let err = load(&[("LEDGER_BATCH_THREAD_NICE", nice)]).expect_err("invalid").to_string();
            assert!(err.contains("LEDGER_BATCH_THREAD_NICE"), "{nice}: {err}");
        }
        assert_eq!(load(&[]).expect("defaults are valid").ledger_batch_thread_nice, -5);
    }
}
