//! Every setting the binary reads, in one table: the loader, `protocol-bank admin config` and
//! docs/configuration.md all come from it, so documentation cannot drift from the code.

/// One configuration setting.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// Environment variable name; its lowercase form is the key in the TOML file.
    pub env: &'static str,
    /// Secrets are redacted everywhere, may also be read from `<NAME>_FILE`, and are refused in
    /// the TOML file (a config file tends to be committed or copied around).
    pub secret: bool,
    pub default: Option<&'static str>,
    pub doc: &'static str,
}

const fn s(env: &'static str, default: Option<&'static str>, doc: &'static str) -> Setting {
    Setting { env, secret: false, default, doc }
}

const fn secret(env: &'static str, doc: &'static str) -> Setting {
    Setting { env, secret: true, default: None, doc }
}

pub const SETTINGS: &[Setting] = &[
    s(
        "PROTOCOL_BANK_ENV",
        Some("development"),
        "`development` (sandbox providers and sandbox-only routes on) or `production` (they are refused; SECRET_KEY, DATABASE_URL=postgres://… and REDIS_URL are required).",
    ),
    s("LISTEN_ADDR", Some("127.0.0.1:8080"), "Public HTTP listener (API, docs, web app). CLI: `serve --listen`."),
    s(
        "ADMIN_LISTEN_ADDR",
        Some("127.0.0.1:9090"),
        "Admin listener serving `/metrics` and `/health`; keep it off the public network. CLI: `serve --admin-listen`.",
    ),
    s(
        "DATA_DIR",
        Some("./data"),
        "Directory for the embedded default's SQLite file and the generated secret key. CLI: `--data-dir`.",
    ),
    secret(
        "SECRET_KEY",
        "Root secret (≥ 32 characters) from which encryption and signing keys are derived. Required in production; generated once into DATA_DIR/secret_key in development.",
    ),
    secret(
        "DATABASE_URL",
        "`postgres://user:pass@host:5432/db` for PostgreSQL; `sqlite://path/to/file.db` for a SQLite file; unset: SQLite at DATA_DIR/protocol-bank.db.",
    ),
    secret(
        "DATABASE_REPLICA_URL",
        "Optional PostgreSQL read replica for read-only queries that tolerate replication lag.",
    ),
    s(
        "DATABASE_MAX_CONNECTIONS",
        Some("20"),
        "Connections per pool (primary and replica each) per instance; the primary has `LEDGER_BATCH_WORKERS` + 1 more, for ledger batches alone.",
    ),
    s("DATABASE_ACQUIRE_TIMEOUT_SECONDS", Some("5"), "How long a request waits for a free database connection."),
    s(
        "MIGRATE_ON_START",
        Some("true"),
        "Apply pending migrations when `serve` starts (`false`: run `protocol-bank migrate` as a deploy step).",
    ),
    secret(
        "REDIS_URL",
        "`redis://[:password@]host:6379/0`: shared cache, cluster-wide rate limits and pub/sub. Unset: in-process (single instance only).",
    ),
    s("REDIS_KEY_PREFIX", Some("pb:"), "Prefix for every Redis key and channel, so deployments can share a server."),
    s(
        "CORS_ALLOWED_ORIGINS",
        None,
        "Comma-separated origins allowed to call the API from browsers, e.g. `https://app.example.com`. Unset: same-origin only.",
    ),
    s("MAX_BODY_BYTES", Some("1048576"), "Largest accepted request body; larger ones get 413 `payload_too_large`."),
    s("REQUEST_TIMEOUT_SECONDS", Some("30"), "Requests running longer are abandoned with 503 `request_timeout`."),
    s(
        "TRUSTED_PROXY_HOPS",
        Some("0"),
        "Number of reverse proxies in front of the service that append to X-Forwarded-For (1 behind one load balancer). 0 trusts none.",
    ),
    s(
        "SHUTDOWN_DELAY_SECONDS",
        Some("0"),
        "On SIGTERM, answer `/ready` with 503 for this long before closing the listener, so load balancers drain the instance first.",
    ),
    s(
        "PUBLIC_URL",
        None,
        "Public base URL of the web app, used in links in emails (e.g. `https://bank.example.com`). Default: http://LISTEN_ADDR. Required in production.",
    ),
    secret(
        "SMTP_URL",
        "Email by SMTP: `smtps://user:pass@smtp.example.com:465` or `smtp://…:587` (STARTTLS required except to loopback).",
    ),
    secret("SENDGRID_API_KEY", "Email by SendGrid's Mail Send API (used when SMTP_URL is unset)."),
    s(
        "SENDGRID_API_URL",
        Some("https://api.sendgrid.com"),
        "SendGrid API base URL (tests point it at a local server).",
    ),
    s("EMAIL_FROM", Some("Protocol Bank <no-reply@localhost>"), "Sender of outgoing email."),
    s("SESSION_IDLE_TIMEOUT_SECONDS", Some("1800"), "A session unused this long ends."),
    s(
        "SESSION_CACHE_SECONDS",
        Some("5"),
        "How long an instance reuses a session it has read, instead of reading it per request. Sign-out, revocation and every other change to a user's sessions drop the copies on every instance at once (pub/sub); this bounds staleness only if that message is lost. 0 turns the cache off.",
    ),
    s("SESSION_LIFETIME_SECONDS", Some("43200"), "A session ends this long after sign-in, used or not."),
    s(
        "LOGIN_LOCKOUT_THRESHOLD",
        Some("10"),
        "Failed sign-ins for one account before it locks (1 min, then doubling up to 1 h).",
    ),
    s(
        "LEDGER_EXTRA_ASSETS",
        None,
        "More assets beside the built-in ones: `CODE:scale:Name[:crypto]`, comma-separated (e.g. `CHF:2:Swiss franc`).",
    ),
    s(
        "LEDGER_BATCH_MAX_WAIT_MICROS",
        Some("0"),
        "How long a free ledger batch worker waits for more transfers after taking those already queued (which grow with the load by themselves).",
    ),
    s("LEDGER_BATCH_MAX", Some("512"), "Most commands in one ledger batch (one database transaction)."),
    s(
        "LEDGER_BATCH_WORKERS",
        Some("2"),
        "PostgreSQL: ledger batches in flight at once per instance. With 2, a batch is in the database while the next is decided and sent behind it on the same connection (pipelining, docs/ledger.md: uniform single transfers about 10% more per second, bench/RESULTS.md). A batch that must read first runs on a connection of its own, one per worker; with `LEDGER_VIEW_ACCOUNTS=0` every batch does, and then only a large one (128 transfers or more) lets the next start beside it. SQLite always uses 1.",
    ),
    s(
        "LEDGER_BATCH_THREAD_NICE",
        Some("-5"),
        "Nice value (-20 to 19) of the thread that decides, sends and commits every ledger batch, so it runs before the HTTP workers when both want a core: each batch waits for it (bench/RESULTS.md). Below 0 needs `CAP_SYS_NICE` or an `RLIMIT_NICE` allowing it (the compose file sets one; Kubernetes cannot, docs/operations.md); without either the server says so in its log at start and the thread keeps the default priority. 0 leaves the thread alone.",
    ),
    s(
        "LEDGER_VIEW_ACCOUNTS",
        Some("100000"),
        "PostgreSQL: accounts each instance remembers as of its last ledger batch, so a batch touching only those is decided without reading them first (one round trip instead of two; PostgreSQL refuses it if anything moved, and it runs again the ordinary way). 0 turns this off.",
    ),
    s(
        "IDEMPOTENCY_KEY_RETENTION_HOURS",
        Some("720"),
        "How long an Idempotency-Key is remembered (30 days by default): a retry within it gets the first answer, and after it the same key is a new request. One instance at a time deletes older keys every 10 minutes (counter `idempotency_keys_forgotten_total`). At least 24 (the withdrawal limits count the last day's requests by their keys); 0 keeps every key forever.",
    ),
    s(
        "LEDGER_VERIFY_INTERVAL_SECONDS",
        Some("3600"),
        "How often one instance checks every ledger invariant and the hash chain in the background (gauge `ledger_verify_ok`); 0 turns it off.",
    ),
    s("LOG_FORMAT", Some("json"), "`json` (one JSON object per line) or `text`."),
    s("LOG_LEVEL", Some("info"), "A tracing filter such as `info` or `info,pb_api=debug` (RUST_LOG overrides it)."),
    secret(
        "CUSTODY_MNEMONIC",
        "The custody master seed as a BIP-39 mnemonic, from your secret manager. Unset: the seed sealed in the database by `protocol-bank custody init`.",
    ),
    s(
        "ETHEREUM_CONFIRMATIONS",
        Some("12"),
        "Blocks on top of a deposit's block before it is credited (small on local nodes).",
    ),
    s(
        "ETHEREUM_START_BLOCK",
        None,
        "First block the deposit watcher scans on its very first start. Default: the head then.",
    ),
    s("CUSTODY_POLL_MILLIS", Some("2000"), "How often the chain watchers look for new blocks."),
    s(
        "ETHEREUM_CHAIN_ID",
        Some("1"),
        "The chain id withdrawals are signed for (1 mainnet, 11155111 Sepolia, 31337 anvil); checked against the node at start.",
    ),
    s(
        "ETHEREUM_WITHDRAWAL_FEE_WEI",
        Some("500000000000000"),
        "What a customer pays per ETH withdrawal towards the network fee, in wei (held with the amount; 0.0005 ETH by default).",
    ),
    s(
        "ETHEREUM_TOKENS",
        None,
        "ERC-20 tokens custody handles, as `ASSET=0xContract` pairs separated by commas (e.g. `USDC-ETH=0xA0b8…eB48`); each asset must exist (see LEDGER_EXTRA_ASSETS) with the token's decimals as its scale.",
    ),
    s(
        "ETHEREUM_TOKEN_WITHDRAWAL_FEE",
        Some("1000000"),
        "What a customer pays per token withdrawal towards the network fee, in the token's smallest units (1 USDC by default).",
    ),
    s(
        "ETHEREUM_STUCK_AFTER_SECONDS",
        Some("120"),
        "A withdrawal not mined after this long is replaced at the same nonce with higher fees.",
    ),
    s(
        "SOLANA_CONFIRMATIONS",
        Some("32"),
        "Slots on top of a deposit's slot before it is credited (32 is about finalized on mainnet; small on local nodes).",
    ),
    s(
        "SOLANA_START_SLOT",
        None,
        "First slot the Solana deposit watcher reads on its very first start. Default: the current slot then.",
    ),
    s(
        "SOLANA_GENESIS_HASH",
        None,
        "The cluster's genesis hash (mainnet-beta 5eykt4UsFv8P8NJdTREpY1vzqKqZKvdpKuc147dw2N9d); checked against the node at start. Unset: not checked.",
    ),
    s(
        "SOLANA_WITHDRAWAL_FEE_LAMPORTS",
        Some("10000"),
        "What a customer pays per SOL withdrawal towards the network fee, in lamports (held with the amount).",
    ),
    s(
        "SOLANA_TOKENS",
        None,
        "SPL tokens custody handles, as `ASSET=Mint` pairs separated by commas (e.g. `USDC-SOL=EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v`); each asset must exist with the mint's decimals as its scale.",
    ),
    s(
        "SOLANA_TOKEN_WITHDRAWAL_FEE",
        Some("1000000"),
        "What a customer pays per SPL token withdrawal (which may create the recipient's token account), in the token's smallest units (1 USDC by default).",
    ),
    s(
        "WITHDRAWAL_DAILY_LIMITS",
        None,
        "Per customer, what may be withdrawn on chain in any 24 hours, as `ASSET=amount` pairs in smallest units separated by commas (e.g. `ETH=10000000000000000000,SOL=100000000000,USDC-ETH=50000000000`). Assets not named have no limit.",
    ),
    secret("ETHEREUM_RPC_URL", "Ethereum JSON-RPC endpoint (HTTP). Unset: custody on Ethereum is off."),
    secret("SOLANA_RPC_URL", "Solana JSON-RPC endpoint (HTTP). Unset: custody on Solana is off."),
    secret("KYC_API_KEY", "API key for the KYC/AML provider. Unset: the sandbox provider (development only)."),
    secret(
        "PAYMENT_GATEWAY_API_KEY",
        "API key for the payment gateway. Unset: the sandbox gateway (development only).",
    ),
    secret(
        "FACIAL_RECOGNITION_API_KEY",
        "API key for the face-verification provider. Unset: the sandbox provider (development only).",
    ),
];

pub fn find(env: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.env == env)
}

/// The table in Markdown, for `protocol-bank admin config --markdown` and docs/configuration.md.
pub fn markdown() -> String {
    let mut out = String::from("| variable | default | secret | meaning |\n| --- | --- | --- | --- |\n");
    for s in SETTINGS {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            s.env,
            s.default.map_or_else(|| "—".to_owned(), |d| format!("`{d}`")),
            if s.secret { "yes (`_FILE` too)" } else { "no" },
            s.doc
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn docs_configuration_md_lists_every_setting_as_generated() {
        let doc = include_str!("../../../docs/configuration.md");
        assert!(
            doc.contains(&super::markdown()),
            "docs/configuration.md is stale: regenerate its table with `protocol-bank admin config --markdown`"
        );
    }

    #[test]
    fn the_names_the_product_promises_are_kept() {
        for name in [
            "SECRET_KEY",
            "DATABASE_URL",
            "REDIS_URL",
            "SOLANA_RPC_URL",
            "ETHEREUM_RPC_URL",
            "KYC_API_KEY",
            "PAYMENT_GATEWAY_API_KEY",
            "FACIAL_RECOGNITION_API_KEY",
        ] {
            assert!(super::find(name).is_some_and(|s| s.secret), "{name}");
        }
    }
}
