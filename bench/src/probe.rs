//! What explains a workload's figure, read around it: the ledger's micro-batches (from the
//! server's `/metrics`) and CPU seconds by process — the server, PostgreSQL (every `postgres`
//! process) and this load generator — from `/proc`, so a run says whether it was bound by
//! CPU (about 2.0 cores in all here) or by waiting (locks, commits).

use std::collections::HashMap;
use std::time::Instant;

#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    batch_size_sum: f64,
    batches: f64,
    batch_seconds_sum: f64,
    /// PostgreSQL batches decided from the instance's view, and all (store-postgres ledger_view.rs).
    from_view: f64,
    reads: f64,
}

/// A reading taken before a workload, compared with one after it.
#[derive(Debug)]
pub struct Probe {
    at: Instant,
    sums: Sums,
    cpu: ([f64; 3], HashMap<u32, f64>),
    machine: f64,
}

/// What changed between two readings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Diagnosis {
    pub mean_batch_commands: f64,
    pub mean_batch_ms: f64,
    /// Share of batches decided from the instance's view (one round trip); None on SQLite.
    pub from_view: Option<f64>,
    /// Cores busy on average: server, PostgreSQL, load generator.
    pub cores: [f64; 3],
    /// Of the server's, its `ledger-batches` thread's (see `BATCH_THREAD`).
    pub batch_thread_cores: f64,
    /// Cores busy on average in the whole machine (`/proc/stat`: everything but idle and I/O
    /// wait), the kernel's work for all of them included.
    pub machine_cores: f64,
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && (name.ends_with('}') || l[name.len()..].starts_with([' ', '{'])))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn sums(metrics_url: &str) -> Sums {
    let text = match reqwest::get(metrics_url).await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    Sums {
        batch_size_sum: metric(&text, "ledger_batch_size_sum"),
        batches: metric(&text, "ledger_batch_size_count"),
        batch_seconds_sum: metric(&text, "ledger_batch_seconds_sum"),
        from_view: metric(&text, "ledger_batch_reads_total{from=\"view\"}"),
        reads: metric(&text, "ledger_batch_reads_total"),
    }
}

/// Clock ticks per second in `/proc`'s CPU times (USER_HZ, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// The server's thread that decides and encodes every ledger batch (crates/ledger/src/batcher.rs):
/// with PostgreSQL's backend, the serial path each batch takes, so what it saves shortens every
/// batch, which the server's whole figure blurs.
const BATCH_THREAD: &str = "ledger-batches";

/// CPU seconds (user + system) a process has used, 0 if it is gone.
fn cpu_seconds(pid: u32) -> f64 {
    stat_cpu_seconds(&format!("/proc/{pid}/stat"))
}

/// CPU seconds of a process's threads named `name` (`/proc/<pid>/task/<tid>/comm`).
fn thread_cpu_seconds(pid: u32, name: &str) -> f64 {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return 0.0 };
    dir.filter_map(Result::ok)
        .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim_end() == name))
        .map(|t| stat_cpu_seconds(&t.path().join("stat").to_string_lossy()))
        .sum()
}

/// CPU seconds (user + system) from a process's or a thread's `stat` file, 0 if it is gone.
fn stat_cpu_seconds(path: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(path) else { return 0.0 };
    // Fields after the command name, which is in parentheses and may hold spaces.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { return 0.0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of stat(5), 12 and 13 after the name.
    (ticks(11) + ticks(12)) / TICKS_PER_SECOND
}

/// CPU seconds of every process named `name` now running, by pid.
fn cpu_of(name: &str) -> HashMap<u32, f64> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return HashMap::new() };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim_end() == name))
        .map(|pid| (pid, cpu_seconds(pid)))
        .collect()
}

/// CPU seconds the whole machine has been busy (all CPUs; `/proc/stat`'s first line: user,
/// nice, system, irq, softirq and steal), 0 if unreadable.
fn machine_busy_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else { return 0.0 };
    let Some(line) = stat.lines().next().filter(|l| l.starts_with("cpu ")) else { return 0.0 };
    let ticks: Vec<f64> = line.split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
    let at = |i: usize| ticks.get(i).copied().unwrap_or(0.0);
    (at(0) + at(1) + at(2) + at(5) + at(6) + at(7)) / TICKS_PER_SECOND
}

/// The server's, this process's and the server's batch thread's CPU seconds, and PostgreSQL's
/// processes' by pid.
fn cpu(server_pid: u32) -> ([f64; 3], HashMap<u32, f64>) {
    (
        [cpu_seconds(server_pid), cpu_seconds(std::process::id()), thread_cpu_seconds(server_pid, BATCH_THREAD)],
        cpu_of("postgres"),
    )
}

impl Probe {
    pub async fn start(metrics_url: &str, server_pid: u32) -> Self {
        Self {
            at: Instant::now(),
            sums: sums(metrics_url).await,
            cpu: cpu(server_pid),
            machine: machine_busy_seconds(),
        }
    }

    /// PostgreSQL's figure counts each process's CPU since the first reading (all of it for a
    /// process started since), and misses processes that exited in between (an autovacuum
    /// worker, say); the server's pooled connections live throughout.
    pub async fn finish(self, metrics_url: &str, server_pid: u32) -> Diagnosis {
        let (after, (own_after, pg_after)) = (sums(metrics_url).await, cpu(server_pid));
        let seconds = self.at.elapsed().as_secs_f64().max(1e-9);
        let batches = (after.batches - self.sums.batches).max(1.0);
        let (own_before, pg_before) = &self.cpu;
        let pg: f64 = pg_after.iter().map(|(pid, t)| (t - pg_before.get(pid).unwrap_or(&0.0)).max(0.0)).sum();
        let busy = |used: f64| used.max(0.0) / seconds;
        Diagnosis {
            mean_batch_commands: (after.batch_size_sum - self.sums.batch_size_sum) / batches,
            mean_batch_ms: (after.batch_seconds_sum - self.sums.batch_seconds_sum) * 1000.0 / batches,
            from_view: (after.reads > self.sums.reads)
                .then(|| (after.from_view - self.sums.from_view) / (after.reads - self.sums.reads)),
            cores: [busy(own_after[0] - own_before[0]), busy(pg), busy(own_after[1] - own_before[1])],
            batch_thread_cores: busy(own_after[2] - own_before[2]),
            machine_cores: busy(machine_busy_seconds() - self.machine),
        }
    }
}
