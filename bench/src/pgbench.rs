//! Databases for the run, and pgbench's built-in TPC-B-like script as the yardstick.

use std::process::Command;
use std::time::Duration;

#[derive(Debug)]
pub struct Database {
    pub url: String,
    pub name: String,
    admin: String,
}

pub async fn create_database(admin: &str, prefix: &str) -> anyhow::Result<Database> {
    let name = format!("{prefix}_{}", std::process::id());
    psql(admin, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
    psql(admin, &format!("CREATE DATABASE {name}"))?;
    Ok(Database { url: format!("{admin}/{name}"), name, admin: admin.to_owned() })
}

fn psql(admin: &str, sql: &str) -> anyhow::Result<()> {
    let out =
        Command::new("psql").args([&format!("{admin}/postgres"), "-v", "ON_ERROR_STOP=1", "-qc", sql]).output()?;
    anyhow::ensure!(out.status.success(), "psql: {}", String::from_utf8_lossy(&out.stderr));
    Ok(())
}

impl Database {
    pub async fn drop_now(&self) {
        let _ = psql(&self.admin, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

/// `pgbench -i -s 16` then `pgbench -c <clients> -j 2 -M prepared -T <secs>`: tps.
pub async fn tpcb(db: &Database, clients: u32, duration: Duration) -> anyhow::Result<f64> {
    let init = Command::new("pgbench").args(["-i", "-q", "-s", "16", &db.url]).output()?;
    anyhow::ensure!(init.status.success(), "pgbench -i: {}", String::from_utf8_lossy(&init.stderr));
    let run = Command::new("pgbench")
        .args(["-c", &clients.to_string(), "-j", "2", "-M", "prepared", "-T", &duration.as_secs().to_string(), &db.url])
        .output()?;
    let text = String::from_utf8_lossy(&run.stdout);
    anyhow::ensure!(run.status.success(), "pgbench: {}", String::from_utf8_lossy(&run.stderr));
    text.lines()
        .find_map(|l| l.strip_prefix("tps = ").and_then(|r| r.split_whitespace().next()).and_then(|n| n.parse().ok()))
        .ok_or_else(|| anyhow::anyhow!("no tps in pgbench output: {text}"))
}
