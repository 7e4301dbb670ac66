//! `ledger-bench --instructions`: the server's CPU work per transfer as a count of instructions,
//! which, unlike transfers/s or CPU seconds, does not move with the machine. Every session runs
//! on another 2-core machine, and the same binary took 144–232 µs of CPU per transfer from one
//! run to the next on one of them (bench/RESULTS.md), so a change to the server's request path
//! worth 10% could not be told from noise. Callgrind counts the instructions the server
//! executes; the count repeats for the same binary and load, whatever else the machine does.
//!
//! The server runs under `valgrind --tool=callgrind` with instrumentation off while the world is
//! built, then each workload runs with it on. Under valgrind the server's threads share one core
//! and run tens of times slower, so the micro-batches grow (every waiting request is in the
//! next one): the count is of the work per request, not a model of the server's speed. Valgrind
//! does not offer the CPU's SHA extensions, so SHA-256 (the hash chain, keys' digests, session
//! tokens) runs in software there, several times the instructions it takes on a CPU with
//! them: the table shows that part on its own.

use crate::mail_sink::Sink;
use crate::server::{Launcher, Server};
use crate::setup::World;
use crate::workload::{self, Kind};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// One workload's count.
#[derive(Debug)]
pub struct Count {
    pub kind: Kind,
    pub transfers: u64,
    /// Instructions the server executed during the workload, its timers and workers included.
    pub instructions: u64,
    pub dump: PathBuf,
}

pub fn launcher(dir: &Path) -> Launcher {
    Launcher(vec![
        "valgrind".into(),
        "--tool=callgrind".into(),
        "--instr-atstart=no".into(),
        format!("--callgrind-out-file={}/callgrind.out.%p", dir.display()),
    ])
}

/// `callgrind_control`, given a minute: valgrind takes the command only when the server next
/// runs (its timers wake it several times a second), and a vgdb that never hears back would
/// otherwise wait forever.
fn control(pid: u32, arg: &str) -> anyhow::Result<()> {
    let out = Command::new("timeout").args(["60", "callgrind_control", arg, &pid.to_string()]).output()?;
    anyhow::ensure!(out.status.success(), "callgrind_control {arg}: {}", String::from_utf8_lossy(&out.stderr));
    Ok(())
}

/// Counts instructions from zero for as long as `during` runs, and returns the dump's file
/// with its total.
async fn counted<T>(
    srv: &Server,
    dir: &Path,
    label: &str,
    during: impl std::future::Future<Output = T>,
) -> anyhow::Result<(T, PathBuf, u64)> {
    let pid = srv.pid();
    control(pid, "--instr=on")?;
    control(pid, "--zero")?;
    let value = during.await;
    let before = dumps(dir)?;
    // The label goes into callgrind's command file: a `/` there loses the dump.
    let label: String = label.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    control(pid, &format!("--dump={label}"))?;
    control(pid, "--instr=off")?;
    let dump = newest_since(dir, &before).await?;
    let total = summary(&dump)?;
    Ok((value, dump, total))
}

fn dumps(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    Ok(std::fs::read_dir(dir)?.filter_map(Result::ok).map(|e| e.path()).collect())
}

async fn newest_since(dir: &Path, before: &[PathBuf]) -> anyhow::Result<PathBuf> {
    for _ in 0..600 {
        if let Some(p) = dumps(dir)?.into_iter().find(|p| !before.contains(p)) {
            // callgrind_control returns once the dump is asked for; wait until it is whole.
            if std::fs::read_to_string(&p).is_ok_and(|t| t.lines().any(|l| l.starts_with("totals:"))) {
                return Ok(p);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("callgrind wrote no dump in {}", dir.display())
}

/// The `summary:` (or `totals:`) line of a callgrind dump: instructions executed.
fn summary(dump: &Path) -> anyhow::Result<u64> {
    let text = std::fs::read_to_string(dump)?;
    text.lines()
        .find_map(|l| l.strip_prefix("summary:").or_else(|| l.strip_prefix("totals:")))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no summary in {}", dump.display()))
}

/// Builds the world with instrumentation off, measures the idle rate, then counts each workload.
pub async fn run(
    srv: &Server,
    sink: &Sink,
    dir: &Path,
    customers: usize,
    accounts: usize,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<Vec<Count>> {
    let world = World::build(srv, sink, customers, accounts).await?;
    println!("setup: {} accounts of {} customers funded", world.accounts.len(), world.customers.len());
    // Warm the pools, caches and prepared statements, uncounted.
    let _ = workload::run(srv, &world, Kind::Uniform, connections, Duration::from_secs(3)).await;

    // For scale only: what the server's timers and workers execute with no load (the relay's
    // and the hold expiry's polls). It varies from run to run, so it is not taken off the
    // workloads' counts, which it changes by about 1%.
    let idle_for = Duration::from_secs(5);
    let ((), _, idle) = counted(srv, dir, "idle", tokio::time::sleep(idle_for)).await?;
    println!("idle: {:.0} instructions/s", idle as f64 / idle_for.as_secs_f64());

    let mut counts = Vec::new();
    for kind in [Kind::Uniform, Kind::Batch100] {
        let conns = if kind == Kind::Batch100 { connections.min(16) } else { connections };
        let (m, dump, total) =
            counted(srv, dir, kind.name(), workload::run(srv, &world, kind, conns, duration)).await?;
        let count = Count { kind, transfers: m.transfers, instructions: total, dump };
        println!(
            "{}: {} transfers ({} failed), {:.0} instructions per transfer",
            kind.name(),
            m.transfers,
            m.failures,
            count.per_transfer()
        );
        counts.push(count);
    }
    Ok(counts)
}

impl Count {
    pub fn per_transfer(&self) -> f64 {
        self.instructions as f64 / self.transfers.max(1) as f64
    }
}

/// The table, then the functions that executed the most instructions themselves
/// (`callgrind_annotate`), for each workload.
pub fn print(counts: &[Count], functions: usize) {
    println!();
    println!("| workload | transfers | server instructions per transfer | of them, SHA-256 in software |");
    println!("| --- | ---: | ---: | ---: |");
    for c in counts {
        let sha = annotate(&c.dump)
            .lines()
            .filter(|l| l.contains("sha256::soft::compress"))
            .filter_map(|l| l.split_whitespace().next()?.replace(',', "").parse::<u64>().ok())
            .sum::<u64>();
        println!(
            "| {} | {} | {:.0} | {:.0} |",
            c.kind.name(),
            c.transfers,
            c.per_transfer(),
            sha as f64 / c.transfers.max(1) as f64
        );
    }
    for c in counts {
        println!();
        println!("{} ({}):", c.kind.name(), c.dump.display());
        let text = annotate(&c.dump);
        for l in text.lines().skip_while(|l| !l.contains("file:function")).take(functions + 2) {
            println!("{l}");
        }
    }
}

/// `callgrind_annotate`'s list of functions by the instructions they executed themselves.
fn annotate(dump: &Path) -> String {
    match Command::new("callgrind_annotate").args(["--inclusive=no"]).arg(dump).output() {
        Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned(),
        Err(e) => format!("callgrind_annotate: {e}"),
    }
}
