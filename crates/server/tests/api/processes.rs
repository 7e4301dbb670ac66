//! The real binary, as operators run it: several `serve` processes on one PostgreSQL and Redis,
//! SIGTERM, and the CLI subcommands.

use crate::helpers::{Backend, base_vars};
use pb_testkit::TempDir;
use std::collections::HashMap;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_protocol-bank");

pub(crate) fn command(vars: &HashMap<String, String>) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd.envs(vars);
    cmd
}

pub(crate) struct Serving {
    pub(crate) child: Child,
    /// The public listener's URL, once the instance has logged it.
    pub(crate) base: String,
    /// The admin listener's URL (`/metrics`), set with `base`.
    pub(crate) admin: String,
    /// stdout and stderr: where the bound addresses are read, and shown when the instance fails.
    log: std::path::PathBuf,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `serve` on ports the kernel picks at bind time (a port chosen here and handed over could
/// be taken by another test's connection in between); `wait_ready` reads them from the log.
pub(crate) fn serve(vars: &HashMap<String, String>, dir: &TempDir, name: &str) -> Serving {
    let log = dir.path().join(format!("{name}.log"));
    let out = std::fs::File::create(&log).unwrap();
    let child = command(vars)
        .env("LOG_LEVEL", "info")
        .env("LOG_FORMAT", "json")
        .args(["serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"])
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    Serving { child, base: String::new(), admin: String::new(), log }
}

/// The public and admin URLs from the instance's "listening" log line, once written.
fn listening(log: &str) -> Option<(String, String)> {
    let line = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["message"] == "listening")?;
    Some((format!("http://{}", line["public"].as_str()?), format!("http://{}", line["admin"].as_str()?)))
}

/// Waits for `/ready` to say 200; fails early, with the instance's output, if it exits.
pub(crate) async fn wait_ready(client: &reqwest::Client, s: &mut Serving) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = String::from("not listening yet");
    loop {
        let output = std::fs::read_to_string(&s.log).unwrap_or_default();
        if s.base.is_empty()
            && let Some((base, admin)) = listening(&output)
        {
            (s.base, s.admin) = (base, admin);
        }
        if !s.base.is_empty() {
            match client.get(format!("{}/ready", s.base)).send().await {
                Ok(r) if r.status() == 200 => return r.json().await.unwrap(),
                Ok(r) => last = format!("{}: {}", r.status(), r.text().await.unwrap_or_default()),
                Err(e) => last = e.to_string(),
            }
        }
        let exited = s.child.try_wait().unwrap();
        if exited.is_some() || Instant::now() >= deadline {
            panic!("{:?} did not become ready (exit: {exited:?}; last: {last})\n{output}", s.base);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgres_and_redis_both_become_ready_and_stop_on_sigterm() {
    let dir = TempDir::new("two");
    let mut vars = base_vars(Backend::Postgres, &dir).await;
    for (k, v) in crate::helpers::PRODUCTION {
        vars.insert((*k).into(), (*v).into());
    }
    // Both start at once and race to migrate: the advisory lock makes that safe.
    let mut a = serve(&vars, &dir, "a");
    let mut b = serve(&vars, &dir, "b");
    let client = crate::helpers::client();
    for s in [&mut a, &mut b] {
        let ready = wait_ready(&client, s).await;
        let backends: Vec<&str> =
            ready["checks"].as_array().unwrap().iter().map(|c| c["backend"].as_str().unwrap()).collect();
        assert_eq!(backends, ["postgres", "redis"]);
    }
    let status = Command::new("kill").args(["-TERM", &a.child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let exit = loop {
        if let Some(exit) = a.child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "graceful shutdown exits 0: {exit:?}");
    assert_eq!(client.get(format!("{}/ready", b.base)).send().await.unwrap().status(), 200, "the other carries on");
}

#[tokio::test]
async fn migrate_openapi_and_admin_config_subcommands() {
    let dir = TempDir::new("cli");
    let mut vars = base_vars(Backend::Postgres, &dir).await;
    vars.insert("SECRET_KEY".into(), "cli-secret-key-do-not-print-0123456789".into());

    let out = command(&vars).arg("migrate").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let migrations =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../store-postgres/migrations")).unwrap().count();
    let applied = format!("postgres: {migrations} migration(s) applied");
    assert!(String::from_utf8_lossy(&out.stdout).contains(&applied), "{}", String::from_utf8_lossy(&out.stdout));
    let again = command(&vars).arg("migrate").output().unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 migration(s) applied"));

    let out = command(&vars).arg("openapi").output().unwrap();
    let spec: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    assert!(spec["paths"]["/ready"].is_object());

    let out = command(&vars).args(["admin", "config"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("SECRET_KEY=[REDACTED]") && text.contains("DATABASE_URL=[REDACTED]"), "{text}");
    assert!(!text.contains("do-not-print") && !text.contains("postgres://"), "{text}");

    let out = command(&vars).args(["admin", "check"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));

    let out = command(&vars)
        .args(["admin", "create-staff", "--email", "ops@bank.example", "--role", "admin"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("One-time password"), "{text}");
    let bad_role =
        command(&vars).args(["admin", "create-staff", "--email", "x@bank.example", "--role", "boss"]).output().unwrap();
    assert!(!bad_role.status.success());

    let mut bad = vars.clone();
    bad.insert("PROTOCOL_BANK_ENV".into(), "production".into());
    bad.remove("SECRET_KEY");
    let out = command(&bad).arg("serve").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("SECRET_KEY"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custody_init_seals_one_seed_that_serve_unlocks_and_a_wrong_secret_key_refuses() {
    let dir = TempDir::new("custody");
    let mut vars = base_vars(Backend::Postgres, &dir).await;
    vars.insert("SECRET_KEY".into(), "custody-secret-key-0123456789-abcdefghij".into());

    let first = command(&vars).args(["custody", "init"]).output().unwrap();
    let text = String::from_utf8_lossy(&first.stdout);
    assert!(first.status.success() && text.contains("created and sealed"), "{text}");
    assert!(text.split_whitespace().count() < 20, "the mnemonic is not printed unless asked: {text}");
    let again = command(&vars).args(["custody", "init"]).output().unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("already exists"));
    let url = vars["DATABASE_URL"].clone();
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let sealed: String = sqlx::query_scalar("SELECT sealed FROM custody_seed").fetch_one(&pool).await.unwrap();
    assert!(sealed.starts_with("v1.") && !sealed.contains(' '), "stored sealed, never as words");

    vars.insert("ETHEREUM_RPC_URL".into(), "http://127.0.0.1:1".into());
    let client = crate::helpers::client();
    {
        let mut server = serve(&vars, &dir, "custody");
        let ready = wait_ready(&client, &mut server).await;
        assert_eq!(ready["status"], "ready");
    }

    let mut wrong = vars.clone();
    wrong.insert("SECRET_KEY".into(), "another-secret-key-0123456789-abcdefghij".into());
    let out =
        command(&wrong).args(["serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("custody seed cannot be opened"));
}

/// proc(5): a task's nice value, field 19 of its `stat`, counted after the command name.
fn nice_of(task: &std::path::Path) -> i32 {
    let stat = std::fs::read_to_string(task.join("stat")).unwrap();
    stat.rsplit_once(')').unwrap().1.split_whitespace().nth(16).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_batch_thread_runs_at_its_configured_nice_and_nothing_else_does() {
    let dir = TempDir::new("nice");
    let mut vars = base_vars(Backend::Sqlite, &dir).await;
    // Above the test's own nice, which needs no privilege wherever the tests run.
    let own = nice_of(std::path::Path::new("/proc/thread-self"));
    let wanted = (own + 4).clamp(1, 19);
    vars.insert("LEDGER_BATCH_THREAD_NICE".into(), wanted.to_string());
    let mut s = serve(&vars, &dir, "nice");
    wait_ready(&crate::helpers::client(), &mut s).await;
    let mut batch_threads = Vec::new();
    let mut others = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{}/task", s.child.id())).unwrap() {
        let task = task.unwrap().path();
        let name = std::fs::read_to_string(task.join("comm")).unwrap();
        if name.trim() == "ledger-batches" { batch_threads.push(nice_of(&task)) } else { others.push(nice_of(&task)) }
    }
    assert_eq!(batch_threads, [wanted]);
    assert!(!others.is_empty() && others.iter().all(|n| *n == own), "{others:?}");
}
