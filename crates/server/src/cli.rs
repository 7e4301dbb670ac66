//! Command line: `serve`, `migrate`, `admin …`, `openapi`.

use crate::config::{Config, Overrides, Raw, apply_overrides};
use crate::server::{Server, shutdown_signal};
use crate::{settings, telemetry, wiring};
use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(name = "protocol-bank", version, about = "Protocol Bank: a digital bank core for fiat and crypto")]
pub struct Cli {
    /// Optional TOML file with non-secret settings (keys are the variable names in lowercase).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory (DATA_DIR).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (and the web app) until SIGTERM.
    Serve {
        /// Public listener (LISTEN_ADDR).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Admin listener for /metrics (ADMIN_LISTEN_ADDR).
        #[arg(long, value_name = "ADDR")]
        admin_listen: Option<String>,
        /// Do not apply migrations at start (MIGRATE_ON_START=false).
        #[arg(long)]
        no_migrate: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Operator tasks.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Print the OpenAPI 3.1 document.
    Openapi,
    /// Ledger operations.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// Crypto custody operations.
    Custody {
        #[command(subcommand)]
        command: CustodyCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum CustodyCommand {
    /// Create the deployment's master seed (a 24-word BIP-39 mnemonic) and store it sealed with a
    /// key derived from SECRET_KEY. Does nothing if a seed exists. The mnemonic is not shown
    /// unless asked for, for an offline backup kept under dual control.
    Init {
        #[arg(long)]
        print_mnemonic_for_offline_backup: bool,
    },
    /// Compare what the bank holds on chain with what its ledger says it should hold, per asset.
    /// Exits 3 when they differ.
    Reserves,
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Check every ledger invariant (balanced debits and credits per asset, counters equal to
    /// their transfers, no overdrawn accounts, holds resolved at most once, the hash chain).
    /// Exits non-zero with a report when anything is off.
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Show the effective configuration, secrets redacted.
    Config {
        /// Print the reference table of every setting in Markdown instead.
        #[arg(long)]
        markdown: bool,
    },
    /// Check that the database and cache answer; exits non-zero if one does not.
    Check,
    /// Create a staff account and print its one-time password (MFA enrolment is required at
    /// first sign-in before any staff route answers).
    CreateStaff {
        #[arg(long)]
        email: String,
        /// `support`, `compliance_officer` or `admin`.
        #[arg(long)]
        role: String,
        #[arg(long, default_value = "Staff member")]
        name: String,
    },
}

impl Cli {
    fn overrides(&self) -> Overrides {
        Overrides { config_file: self.config.clone(), data_dir: self.data_dir.clone(), ..Overrides::default() }
    }
}

/// Writes to stdout; a closed pipe (`| head`) is not an error worth a panic.
fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut overrides = cli.overrides();
    match cli.command {
        Command::Serve { listen, admin_listen, no_migrate } => {
            overrides.listen = listen;
            overrides.admin_listen = admin_listen;
            overrides.no_migrate = no_migrate;
            let config = Config::load(&overrides)?;
            telemetry::init_logging(&config);
            tracing::info!(version = env!("CARGO_PKG_VERSION"), mode = %config.mode_description(), "starting protocol-bank");
            let server = Server::build(&config).await?;
            server.run(shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let config = Config::load(&overrides)?;
            telemetry::init_logging(&config);
            let store = wiring::open_store(&config).await?;
            let report = store.migrate().await?;
            print(&format!(
                "{}: {} migration(s) applied; schema at version {}\n",
                report.backend,
                report.applied.len(),
                report.known.last().copied().unwrap_or(0)
            ));
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Admin { command: AdminCommand::Config { markdown: true } } => {
            print(&settings::markdown());
            Ok(ExitCode::SUCCESS)
        }
        Command::Admin { command: AdminCommand::Config { markdown: false } } => {
            let file =
                overrides.config_file.clone().or_else(|| std::env::var_os("PROTOCOL_BANK_CONFIG").map(PathBuf::from));
            let mut raw = Raw::load(file.as_deref(), &|name| std::env::var(name).ok())?;
            apply_overrides(&mut raw, &overrides);
            let config = Config::from_raw(&raw)?;
            let mut out = format!("# {}\n", config.mode_description());
            for (name, value) in raw.redacted() {
                out.push_str(&format!("{name}={value}\n"));
            }
            print(&out);
            Ok(ExitCode::SUCCESS)
        }
        Command::Admin { command: AdminCommand::CreateStaff { email, role, name } } => {
            let config = Config::load(&overrides)?;
            let role = pb_domain::identity::roles::StaffRole::parse(&role)
                .ok_or_else(|| anyhow::anyhow!("--role must be support, compliance_officer or admin"))?;
            let email = pb_domain::identity::email::EmailAddress::parse(&email)
                .map_err(|_| anyhow::anyhow!("--email is not a valid address"))?;
            let secret = crate::secret_key::resolve(&config)?;
            let stores = wiring::open_stores(&config).await?;
            stores.store.migrate().await?;
            let services = wiring::services(&config, &stores, &secret).await?;
            let staff =
                services.identity.create_staff(&email, &name, role).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            print(&format!(
                "Created {} ({}) as {}.\nOne-time password (shown once; sign in, then enrol an authenticator at POST /v1/me/mfa/totp):\n{}\n",
                staff.user.id,
                staff.user.email,
                role.as_str(),
                staff.one_time_password
            ));
            stores.store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Admin { command: AdminCommand::Check } => {
            let config = Config::load(&overrides)?;
            let store = wiring::open_store(&config).await?;
            let (cache, _) = wiring::cache(&config)?;
            let mut checks = store.check().await;
            let cache_result = cache.ping().await;
            let mut ok = checks.iter().all(|c| c.up) && cache_result.is_ok();
            checks.push(pb_domain::ComponentCheck {
                name: "cache",
                backend: cache.backend(),
                up: cache_result.is_ok(),
                latency_ms: 0,
                detail: cache_result.err().map(|e| e.to_string()),
            });
            for c in &checks {
                print(&format!(
                    "{:<18} {:<10} {}{}\n",
                    c.name,
                    c.backend,
                    if c.up { "up" } else { "DOWN" },
                    c.detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
                ));
            }
            ok &= !checks.is_empty();
            Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Ledger { command: LedgerCommand::Verify } => {
            let config = Config::load(&overrides)?;
            let stores = wiring::open_stores(&config).await?;
            let (accounts, journal) = stores.ledger.verification_data().await?;
            let report = pb_domain::ledger::verify::verify(&accounts, &journal);
            stores.store.close().await;
            if report.ok() {
                print(&format!(
                    "ledger ok: {} accounts, {} transfers, hash chain intact\n",
                    report.accounts, report.transfers
                ));
                Ok(ExitCode::SUCCESS)
            } else {
                let mut out = format!(
                    "LEDGER VERIFY FAILED: {} problem(s) in {} accounts, {} transfers\n",
                    report.problems.len(),
                    report.accounts,
                    report.transfers
                );
                for p in &report.problems {
                    out.push_str(&format!("  - {p}\n"));
                }
                print(&out);
                Ok(ExitCode::from(2))
            }
        }
        Command::Custody { command: CustodyCommand::Init { print_mnemonic_for_offline_backup } } => {
            let config = Config::load(&overrides)?;
            let secret_key = crate::secret_key::resolve(&config)?;
            let stores = wiring::open_stores(&config).await?;
            stores.store.migrate().await?;
            let now = pb_domain::Clock::now_ms(&pb_domain::SystemClock);
            let created =
                pb_custody::seal_new_seed(stores.custody.as_ref(), secret_key.expose_secret().as_bytes(), now).await?;
            stores.store.close().await;
            match created {
                None => print("custody: a master seed already exists; nothing changed\n"),
                Some(mnemonic) if print_mnemonic_for_offline_backup => print(&format!(
                    "custody: master seed created and sealed.\nOffline backup (shown once; write it down, never store it digitally):\n{}\n",
                    mnemonic.as_str()
                )),
                Some(_) => print("custody: master seed created and sealed in the database\n"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Custody { command: CustodyCommand::Reserves } => {
            let config = Config::load(&overrides)?;
            let secret_key = crate::secret_key::resolve(&config)?;
            let stores = wiring::open_stores(&config).await?;
            let services = wiring::services(&config, &stores, &secret_key).await?;
            let reserves = services.custody.reserves(&services.ledger).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            stores.store.close().await;
            if reserves.is_empty() {
                print("custody reserves: custody is off (no chain endpoint configured)\n");
                return Ok(ExitCode::SUCCESS);
            }
            let mut out = String::from("chain     asset  on chain  ledger expects  customer liabilities  difference\n");
            for r in &reserves {
                out.push_str(&format!(
                    "{:<9} {:<6} {}  {}  {}  {}\n",
                    r.chain, r.asset, r.on_chain, r.expected, r.customer_liabilities, r.difference
                ));
            }
            print(&out);
            Ok(if reserves.iter().all(|r| r.difference == 0) { ExitCode::SUCCESS } else { ExitCode::from(3) })
        }
        Command::Openapi => {
            let spec = pb_api::openapi().to_pretty_json()?;
            print(&spec);
            print("\n");
            Ok(ExitCode::SUCCESS)
        }
    }
}
