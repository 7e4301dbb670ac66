//! The server under test, as a child process (release build), in either mode.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

#[derive(Debug)]
pub struct Server {
    pub base: String,
    child: Child,
    binary: PathBuf,
    env: HashMap<String, String>,
    data_dir: Option<PathBuf>,
}

/// What the server runs under: nothing, or a program that takes its command line after its own
/// (`valgrind --tool=callgrind …`, for `--instructions`).
#[derive(Debug, Clone, Default)]
pub struct Launcher(pub Vec<String>);

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn common(mail: &str, extra: &[(String, String)]) -> anyhow::Result<HashMap<String, String>> {
    let (public, admin) = (free_port()?, free_port()?);
    let mut env = HashMap::from([
        ("LISTEN_ADDR".into(), format!("127.0.0.1:{public}")),
        ("ADMIN_LISTEN_ADDR".into(), format!("127.0.0.1:{admin}")),
        ("SENDGRID_API_KEY".into(), "bench-sink".into()),
        ("SENDGRID_API_URL".into(), mail.into()),
        // Access logs at info cost a JSON line per request; the table says this ran at warn.
        ("LOG_LEVEL".into(), "warn".into()),
        ("SHUTDOWN_DELAY_SECONDS".into(), "0".into()),
        // As behind the production load balancer: client addresses come from X-Forwarded-For.
        ("TRUSTED_PROXY_HOPS".into(), "1".into()),
    ]);
    env.extend(extra.iter().cloned());
    Ok(env)
}

impl Server {
    pub async fn start_production(
        binary: &Path,
        database_url: &str,
        redis: &str,
        mail: &str,
        extra: &[(String, String)],
        launcher: &Launcher,
    ) -> anyhow::Result<Self> {
        let mut env = common(mail, extra)?;
        env.insert("PROTOCOL_BANK_ENV".into(), "production".into());
        env.insert("SECRET_KEY".into(), format!("bench-{}", uuid::Uuid::new_v4().simple()));
        env.insert("DATABASE_URL".into(), database_url.into());
        env.insert("REDIS_URL".into(), redis.into());
        env.insert("REDIS_KEY_PREFIX".into(), format!("bench{}:", std::process::id()));
        env.insert("PUBLIC_URL".into(), "https://bench.invalid".into());
        Self::spawn(binary, env, None, launcher).await
    }

    pub async fn start_embedded(binary: &Path, mail: &str, extra: &[(String, String)]) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("pb-bench-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir)?;
        let mut env = common(mail, extra)?;
        env.insert("DATA_DIR".into(), dir.display().to_string());
        Self::spawn(binary, env, Some(dir), &Launcher::default()).await
    }

    async fn spawn(
        binary: &Path,
        env: HashMap<String, String>,
        data_dir: Option<PathBuf>,
        launcher: &Launcher,
    ) -> anyhow::Result<Self> {
        let mut command = match launcher.0.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(binary);
                c
            }
            None => Command::new(binary),
        };
        let child = command
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(&env)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?;
        let base = format!("http://{}", env["LISTEN_ADDR"]);
        println!("server pid {}: {base}, metrics at http://{}/metrics", child.id(), env["ADMIN_LISTEN_ADDR"]);
        let server = Self { base, child, binary: binary.to_owned(), env, data_dir };
        let http = reqwest::Client::new();
        // Two minutes: under valgrind, starting up (migrations, pools) takes tens of seconds.
        for _ in 0..1200 {
            if http.get(format!("{}/ready", server.base)).send().await.is_ok_and(|r| r.status().is_success()) {
                return Ok(server);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("the server did not become ready")
    }

    /// Runs a CLI subcommand with the server's configuration.
    pub fn cli(&self, args: &[&str]) -> anyhow::Result<std::process::Output> {
        Ok(Command::new(&self.binary)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(&self.env)
            .output()?)
    }

    pub fn ledger_verify(&self) -> anyhow::Result<bool> {
        let out = self.cli(&["ledger", "verify"])?;
        if !out.status.success() {
            println!("{}", String::from_utf8_lossy(&out.stdout));
        }
        Ok(out.status.success())
    }

    /// The admin listener's Prometheus endpoint.
    pub fn metrics_url(&self) -> String {
        format!("http://{}/metrics", self.env["ADMIN_LISTEN_ADDR"])
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(d) = &self.data_dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// A process's resident set now (`VmRSS`), in MiB.
pub fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next().and_then(|k| k.parse::<f64>().ok()))
        })
        .map_or(0.0, |kb| kb / 1024.0)
}
