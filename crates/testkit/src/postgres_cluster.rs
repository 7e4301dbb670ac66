//! A PostgreSQL server of a test's own, for tests that crash the database: `initdb` into a
//! temp dir, the postmaster on a loopback port that the kernel hands no other socket
//! (`restartable_port`). `crash` SIGKILLs the postmaster and all its children at once (every
//! backend mid-statement, as a lost container would), and `restart` on the same data runs
//! PostgreSQL's crash recovery from the WAL; `signal("STOP")` and `signal("CONT")` freeze and
//! thaw it. The shared server on 5432 that other tests use is never touched.
//!
//! The binaries are PostgreSQL's own (`PG_BINDIR`, else `pg_config --bindir`, else the newest
//! under Debian's `/usr/lib/postgresql`). PostgreSQL refuses to run as root, so under root (CI)
//! they run as the `postgres` user through `setpriv`, which execs them without forking: the
//! child is the postmaster itself.

use crate::TempDir;
use crate::node::restartable_port;
use sqlx::Connection;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Cluster {
    dir: TempDir,
    bindir: PathBuf,
    port: u16,
    postmaster: Option<Child>,
}

/// `PG_BINDIR`; else `pg_config --bindir`; else Debian's layout, the newest version installed.
fn bindir() -> PathBuf {
    if let Ok(dir) = std::env::var("PG_BINDIR") {
        return dir.into();
    }
    if let Some(out) = Command::new("pg_config").arg("--bindir").output().ok().filter(|o| o.status.success()) {
        return PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).expect("PostgreSQL's binaries: set PG_BINDIR, or put pg_config on PATH")
}

/// proc(5): the effective uid, the second field of `Uid:` in `/proc/self/status`.
fn running_as_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|l| l.split_whitespace().nth(1)) == Some("0")
}

impl Cluster {
    /// A new cluster (trust authentication for `postgres`, `fsync` and `synchronous_commit`
    /// on, as in production), started and accepting connections.
    pub async fn start() -> Self {
        let dir = TempDir::new("pgcluster");
        if running_as_root() {
            let chown = Command::new("chown").args(["postgres:postgres"]).arg(dir.path()).status().unwrap();
            assert!(chown.success(), "chown of the cluster's directory to postgres");
        }
        let mut cluster = Self { dir, bindir: bindir(), port: restartable_port(), postmaster: None };
        let data = cluster.data();
        let out = cluster
            .command("initdb")
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions", "-D"])
            .arg(&data)
            .output()
            .unwrap();
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        cluster.restart().await;
        cluster
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bindir.join(program);
        if running_as_root() {
            let mut cmd = Command::new("setpriv");
            cmd.args(["--reuid=postgres", "--regid=postgres", "--init-groups", "--"]).arg(path);
            cmd
        } else {
            Command::new(path)
        }
    }

    /// The URL of database `db` on this cluster.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates database `db` and returns its URL.
    pub async fn create_database(&self, db: &str) -> String {
        let mut conn = sqlx::PgConnection::connect(&self.url("postgres")).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}"))).execute(&mut conn).await.unwrap();
        let _ = conn.close().await;
        self.url(db)
    }

    /// Starts the postmaster on the data directory (after `crash`: crash recovery) and waits
    /// until it accepts connections.
    pub async fn restart(&mut self) {
        assert!(self.postmaster.is_none(), "the cluster is running");
        let log =
            std::fs::OpenOptions::new().create(true).append(true).open(self.dir.path().join("postgres.log")).unwrap();
        let child = self
            .command("postgres")
            .arg("-D")
            .arg(self.data())
            .args(["-p", &self.port.to_string(), "-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", self.dir.path().display()))
            .args(["-c", "fsync=on", "-c", "synchronous_commit=on", "-c", "shared_buffers=32MB"])
            .args(["-c", "max_connections=60", "-c", "autovacuum=off"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.postmaster = Some(child);
        self.wait_accepting().await;
    }

    async fn wait_accepting(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = self.url("postgres");
        loop {
            // While it recovers, PostgreSQL refuses connections (57P03, "the database system
            // is starting up").
            match sqlx::PgConnection::connect(&url).await {
                Ok(conn) => {
                    let _ = conn.close().await;
                    return;
                }
                Err(e) if Instant::now() >= deadline => panic!("PostgreSQL did not start: {e}\n{}", self.log()),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
            if let Some(exit) = self.postmaster.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!("PostgreSQL exited ({exit}):\n{}", self.log());
            }
        }
    }

    /// What the postmaster and its backends logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
    }

    /// The postmaster and its children (every backend and auxiliary process). A process group
    /// would not do: each child calls `setsid()` when forked.
    fn processes(&self) -> Vec<u32> {
        let Some(postmaster) = self.postmaster.as_ref().map(Child::id) else { return Vec::new() };
        let mut pids = vec![postmaster];
        for entry in std::fs::read_dir("/proc").unwrap().filter_map(|e| e.ok()) {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
            if stat_fields(pid).is_some_and(|(_, ppid)| ppid == postmaster) {
                pids.push(pid);
            }
        }
        pids
    }

    /// Sends `signal` (`STOP`, `CONT`, `KILL`) to the postmaster and every child at once; on
    /// `STOP` the postmaster first, so that it forks no child after the list is taken.
    pub fn signal(&self, signal: &str) {
        let mut pids = self.processes();
        if signal == "CONT" {
            pids.reverse();
        }
        let pids: Vec<String> = pids.iter().map(u32::to_string).collect();
        let sent = Command::new("kill").arg(format!("-{signal}")).arg("--").args(&pids).stderr(Stdio::null()).status();
        assert!(sent.is_ok(), "kill -{signal} to PostgreSQL's processes");
    }

    /// SIGKILL to the postmaster and every backend at once: nothing is shut down or flushed
    /// beyond what each commit already flushed. Returns once none of them is left.
    pub fn crash(&mut self) {
        if self.postmaster.is_none() {
            return;
        }
        self.signal("STOP");
        let pids = self.processes();
        self.signal("KILL");
        if let Some(mut postmaster) = self.postmaster.take() {
            let _ = postmaster.wait();
        }
        // The children, orphaned, are reaped by init: gone once no longer listed or zombies.
        let deadline = Instant::now() + Duration::from_secs(10);
        while pids.iter().any(|&pid| stat_fields(pid).is_some_and(|(state, _)| state != 'Z')) {
            assert!(Instant::now() < deadline, "PostgreSQL's processes outlived SIGKILL");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// proc(5): a process's state and parent pid, the first two fields of its `stat` after the
/// command name; `None` once it is gone.
fn stat_fields(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    let state = fields.next()?.chars().next()?;
    Some((state, fields.next()?.parse().ok()?))
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("port", &self.port).field("running", &self.postmaster.is_some()).finish()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.crash();
    }
}
