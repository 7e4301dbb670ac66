//! `ledger-bench`: starts `protocol-bank serve` in production mode on a fresh PostgreSQL
//! database, creates funded accounts through the public API (customers sign up and verify by
//! email, staff fund them with maker-checker adjustments), runs pgbench's TPC-B-like script on
//! the same PostgreSQL for the same duration, then the HTTP workloads, and prints one table.
//! Then the same uniform workload on the embedded default (SQLite). Run by `bench/run`.
//! `--runs` and `--variant` repeat the PostgreSQL part, servers taking turns (compare.rs).
#![allow(clippy::print_stdout, clippy::float_arithmetic)]

mod client;
mod compare;
mod instructions;
mod load_client;
mod mail_sink;
mod pgbench;
mod probe;
mod report;
mod server;
mod setup;
mod workload;

use clap::Parser;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
struct Args {
    /// The release binary under test.
    #[arg(long, default_value = "target/release/protocol-bank")]
    binary: PathBuf,
    /// Seconds per workload (and for pgbench).
    #[arg(long, default_value_t = 20)]
    duration: u64,
    #[arg(long, default_value_t = 10_000)]
    accounts: usize,
    /// Customers owning the accounts (sign-ins per IP are rate limited: keep it under ~90).
    #[arg(long, default_value_t = 50)]
    customers: usize,
    #[arg(long, default_value_t = 64)]
    connections: usize,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    postgres: String,
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis: String,
    /// Skip the embedded-default (SQLite) run.
    #[arg(long)]
    skip_sqlite: bool,
    /// Measure only the embedded default (SQLite): no pgbench, no PostgreSQL runs, so no ratio.
    #[arg(long, conflicts_with_all = ["skip_sqlite", "instructions", "runs", "variants"])]
    sqlite_only: bool,
    /// Count the server's instructions per transfer under callgrind instead (valgrind; no
    /// pgbench, no SQLite): a figure that repeats from run to run on any machine.
    #[arg(long)]
    instructions: bool,
    /// Where `--instructions` keeps callgrind's dumps (default: a new directory under /tmp).
    #[arg(long)]
    instructions_dir: Option<PathBuf>,
    /// Extra server settings, e.g. `--server-env LEDGER_BATCH_WORKERS=4` (repeatable).
    #[arg(long = "server-env", value_parser = parse_kv)]
    server_env: Vec<(String, String)>,
    /// Measure PostgreSQL this many times (each server in turn when there are variants), then
    /// print the medians.
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// Another server to measure in turn with the one given: `NAME:KEY=VALUE[,KEY=VALUE…]`,
    /// server settings on top of `--server-env`, or `binary=PATH` for another binary; e.g.
    /// `--variant one-worker:LEDGER_BATCH_WORKERS=1`, `--variant before:binary=/tmp/pb-old`
    /// (repeatable).
    #[arg(long = "variant")]
    variants: Vec<String>,
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    s.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())).ok_or_else(|| "expected KEY=VALUE".into())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args = Args::parse();
    let duration = Duration::from_secs(args.duration);
    let sink = mail_sink::start().await?;
    if args.instructions {
        return count_instructions(&args, &sink).await;
    }
    if args.sqlite_only {
        let (mut row, ok) = measure_sqlite(&args, &sink, duration, 0.0).await?;
        row.ratio = None;
        report::print(&[row], args.duration);
        anyhow::ensure!(ok, "ledger verify failed after the SQLite run");
        return Ok(());
    }
    let given = given(&args);
    let mut series = vec![compare::Series { variant: given.clone(), runs: Vec::new() }];
    for spec in &args.variants {
        let variant = compare::Variant::parse(spec, &given).map_err(|e| anyhow::anyhow!("--variant {spec:?}: {e}"))?;
        series.push(compare::Series { variant, runs: Vec::new() });
    }
    let servers = series.len();
    let turns = args.runs.max(1) * servers;
    // A single run's table waits for the SQLite row, to be printed once with it.
    let print = args.skip_sqlite || turns > 1;
    for turn in 0..turns {
        let s = &mut series[turn % servers];
        if turns > 1 {
            println!("\n=== run {} of {}: {} ===", turn / servers + 1, args.runs.max(1), s.variant.name);
        }
        let rows = measure_postgres(&args, &s.variant, &sink, duration, print).await?;
        s.runs.push(rows);
    }
    let verified = series.iter().flat_map(|s| &s.runs).all(|(_, ok)| *ok);

    if !args.skip_sqlite {
        // The server as given on the embedded default, its row added to that server's last
        // PostgreSQL run (the ratio is to that run's pgbench).
        let (mut rows, ok) = series[0].runs.pop().unwrap_or_default();
        let tps = rows.first().map_or(0.0, |r| r.per_second);
        let (row, sqlite_ok) = measure_sqlite(&args, &sink, duration, tps).await?;
        rows.push(row);
        if turns > 1 {
            println!("\nThe last PostgreSQL run of the server as given, with the embedded default beside it:");
        }
        report::print(&rows, args.duration);
        series[0].runs.push((rows, ok));
        if !sqlite_ok {
            anyhow::bail!("ledger verify failed after the SQLite run");
        }
    }
    if turns > 1 {
        compare::print(&series, &WORKLOADS.map(|w| (w.name(), w.target_ratio())));
    }
    if !verified {
        anyhow::bail!("ledger verify failed");
    }
    Ok(())
}

const WORKLOADS: [workload::Kind; 3] = [workload::Kind::Uniform, workload::Kind::HotAccount, workload::Kind::Batch100];

/// One measurement on PostgreSQL: a fresh database and world, pgbench, the three workloads,
/// `ledger verify`; prints its tables if `print`, and returns its rows (pgbench's first) and the
/// verdict.
async fn measure_postgres(
    args: &Args,
    variant: &compare::Variant,
    sink: &mail_sink::Sink,
    duration: Duration,
    print: bool,
) -> anyhow::Result<(Vec<report::Row>, bool)> {
    let mut rows = Vec::new();
    let db = pgbench::create_database(&args.postgres, "pb_bench").await?;
    let tpcb_db = pgbench::create_database(&args.postgres, "pb_bench_tpcb").await?;
    let result = async {
        let srv = production(args, variant, &db.url, sink, &server::Launcher::default()).await?;
        println!("server RSS at start: {:.0} MiB", server::rss_mb(srv.pid()));
        let world = setup::World::build(&srv, sink, args.customers, args.accounts).await?;
        println!(
            "setup: {} accounts of {} customers funded; server RSS {:.0} MiB",
            world.accounts.len(),
            world.customers.len(),
            server::rss_mb(srv.pid())
        );

        let tps = pgbench::tpcb(&tpcb_db, 16, duration).await?;
        println!("pgbench TPC-B-like, 16 clients, {}s: {tps:.0} tps", args.duration);
        rows.push(report::Row::baseline(tps));

        for w in WORKLOADS {
            let connections = if w == workload::Kind::Batch100 { 16 } else { args.connections };
            let probe = probe::Probe::start(&srv.metrics_url(), srv.pid()).await;
            let m = workload::run(&srv, &world, w, connections, duration).await;
            let d = probe.finish(&srv.metrics_url(), srv.pid()).await;
            println!("{}: {:.0} transfers/s", w.name(), m.transfers_per_second());
            rows.push(report::Row::measured(w.name(), connections, &m, tps).with(d));
        }
        let verified = srv.ledger_verify()?;
        println!("ledger verify after the PostgreSQL runs: {}", if verified { "ok" } else { "FAILED" });
        anyhow::Ok(verified)
    }
    .await;
    db.drop_now().await;
    tpcb_db.drop_now().await;
    let verified = result?;
    if print {
        report::print(&rows, args.duration);
    }
    Ok((rows, verified))
}

/// The server as `--binary` and `--server-env` give it.
/// The server as given on the embedded default: its uniform row (the ratio to `tps`, pgbench's
/// TPS of the PostgreSQL run beside it) and whether `ledger verify` passed after it.
async fn measure_sqlite(
    args: &Args,
    sink: &mail_sink::Sink,
    duration: Duration,
    tps: f64,
) -> anyhow::Result<(report::Row, bool)> {
    let srv = server::Server::start_embedded(&args.binary, &sink.url, &args.server_env).await?;
    let world = setup::World::build(&srv, sink, args.customers, args.accounts).await?;
    println!("SQLite setup: {} accounts funded; uniform for {} s", world.accounts.len(), duration.as_secs());
    let probe = probe::Probe::start(&srv.metrics_url(), srv.pid()).await;
    let m = workload::run(&srv, &world, workload::Kind::Uniform, args.connections, duration).await;
    let d = probe.finish(&srv.metrics_url(), srv.pid()).await;
    let row = report::Row::measured("uniform (SQLite, embedded)", args.connections, &m, tps).with(d);
    let ok = srv.ledger_verify()?;
    println!("ledger verify after the SQLite run: {}", if ok { "ok" } else { "FAILED" });
    Ok((row, ok))
}

fn given(args: &Args) -> compare::Variant {
    compare::Variant { name: "as given".into(), binary: args.binary.clone(), env: args.server_env.clone() }
}

/// The server under test in production mode on `database`, run under `launcher`.
async fn production(
    args: &Args,
    variant: &compare::Variant,
    database: &str,
    sink: &mail_sink::Sink,
    launcher: &server::Launcher,
) -> anyhow::Result<server::Server> {
    server::Server::start_production(&variant.binary, database, &args.redis, &sink.url, &variant.env, launcher).await
}

/// `--instructions`: the server under callgrind (instructions.rs).
async fn count_instructions(args: &Args, sink: &mail_sink::Sink) -> anyhow::Result<()> {
    let dir = args
        .instructions_dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("pb-callgrind-{}", std::process::id())));
    std::fs::create_dir_all(&dir)?;
    let db = pgbench::create_database(&args.postgres, "pb_bench").await?;
    let result = async {
        let launcher = instructions::launcher(&dir);
        let srv = production(args, &given(args), &db.url, sink, &launcher).await?;
        let duration = Duration::from_secs(args.duration);
        let counts =
            instructions::run(&srv, sink, &dir, args.customers, args.accounts, args.connections, duration).await?;
        let verified = srv.ledger_verify()?;
        println!("ledger verify: {}", if verified { "ok" } else { "FAILED" });
        instructions::print(&counts, 25);
        anyhow::Ok(verified)
    }
    .await;
    db.drop_now().await;
    match result {
        Ok(true) => Ok(()),
        Ok(false) => anyhow::bail!("ledger verify failed"),
        Err(e) => Err(e),
    }
}
