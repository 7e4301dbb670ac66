//! Spawning the app for a test. Every test gets its own data directory, its own PostgreSQL
//! database and its own Redis namespace, so tests run in parallel.

use pb_testkit::{TempDir, postgres, redis};
use protocol_bank::config::{Config, Raw};
use protocol_bank::server::Server;
use serde_json::Value;
use std::collections::HashMap;
use tokio::sync::oneshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default: SQLite file, in-process cache and pub/sub.
    Sqlite,
    /// The production shape: PostgreSQL (fresh database) and Redis (fresh namespace).
    Postgres,
}

/// Runs `$story(app)` once per backend: `mod <story> { fn sqlite(); fn postgres(); }`.
#[macro_export]
macro_rules! stories {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await).await;
                }
            }
        )*
    };
}

pub struct TestApp {
    pub backend: Backend,
    pub base: String,
    pub admin: String,
    pub client: reqwest::Client,
    pub state: pb_api::AppState,
    /// Set for the PostgreSQL backend, for tests that look behind the API.
    #[allow(dead_code)]
    pub database_url: Option<String>,
    /// The settings it runs with: the real binary started with them serves the same data.
    pub vars: HashMap<String, String>,
    _dir: TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// Settings for a backend, before a test adds its own.
pub async fn base_vars(backend: Backend, dir: &TempDir) -> HashMap<String, String> {
    let mut vars: HashMap<String, String> = [
        ("DATA_DIR", dir.path().display().to_string()),
        ("LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        ("ADMIN_LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        ("LOG_LEVEL", "warn".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if backend == Backend::Postgres {
        on_postgres(&mut vars, postgres::fresh_database().await);
    }
    vars
}

/// The production shape's settings on database `url` (and a fresh Redis namespace).
pub fn on_postgres(vars: &mut HashMap<String, String>, url: String) {
    vars.insert("DATABASE_URL".into(), url);
    vars.insert("REDIS_URL".into(), redis::url());
    vars.insert("REDIS_KEY_PREFIX".into(), redis::unique_prefix());
    vars.insert("DATABASE_MAX_CONNECTIONS".into(), "5".into());
}

/// What production mode needs beyond the PostgreSQL backend's settings. The SMTP server is not
/// contacted unless an email is sent.
pub const PRODUCTION: &[(&str, &str)] = &[
    ("PROTOCOL_BANK_ENV", "production"),
    ("SECRET_KEY", "test-secret-key-0123456789-abcdefghij"),
    ("SMTP_URL", "smtp://127.0.0.1:1"),
    ("PUBLIC_URL", "https://bank.example.com"),
];

pub fn config_from(vars: &HashMap<String, String>) -> anyhow::Result<Config> {
    Config::from_raw(&Raw::load(None, &|name| vars.get(name).cloned())?)
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, &[]).await
    }

    /// Spawns with extra settings (`("CORS_ALLOWED_ORIGINS", "…")`, …) over the backend's.
    pub async fn spawn_with(backend: Backend, extra: &[(&str, &str)]) -> Self {
        let dir = TempDir::new("app");
        let mut vars = base_vars(backend, &dir).await;
        for (k, v) in extra {
            vars.insert((*k).to_owned(), (*v).to_owned());
        }
        Self::spawn_vars(backend, dir, vars).await
    }

    /// Spawns with exactly these settings, its data directory `dir` kept until it is dropped.
    pub async fn spawn_vars(backend: Backend, dir: TempDir, vars: HashMap<String, String>) -> Self {
        let config = config_from(&vars).unwrap();
        let server = Server::build(&config).await.unwrap();
        let base = format!("http://{}", server.public_addr());
        let admin = format!("http://{}", server.admin_addr());
        let state = server.state().clone();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async move {
            let _ = rx.await;
        }));
        Self {
            backend,
            base,
            admin,
            client: client(),
            state,
            database_url: vars.get("DATABASE_URL").cloned(),
            vars,
            _dir: dir,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn post_raw(&self, path: &str, content_type: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.client.post(self.url(path)).header("content-type", content_type).body(body).send().await.unwrap()
    }

    /// Stops serving and waits until the listeners are closed.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The JSON body, asserting the content type says so.
pub async fn json(response: reqwest::Response) -> Value {
    let ct = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    assert!(ct.starts_with("application/json"), "expected JSON, got {ct:?}");
    response.json().await.unwrap()
}

/// Asserts an error response: status, stable code, and a request id equal to the header's.
pub async fn assert_error(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "status for {code}");
    let header_id = response.headers().get("x-request-id").map(|v| v.to_str().unwrap().to_owned());
    let body = json(response).await;
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["type"].is_string(), "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert_eq!(body["error"]["request_id"].as_str(), header_id.as_deref(), "{body}");
    body
}

/// The codes `GET /v1/error-codes` lists: every refusal a sweep or fuzz provokes is held to them.
pub struct ErrorCatalogue(std::collections::BTreeSet<String>);

impl ErrorCatalogue {
    pub async fn fetch(app: &TestApp) -> Self {
        let listed = json(app.get("/v1/error-codes").await).await;
        Self(listed["data"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap().to_owned()).collect())
    }

    /// Asserts the answer is no 500 and, if a refusal, JSON with a listed code. Returns the
    /// status and the code.
    pub async fn check(&self, what: &str, r: reqwest::Response) -> (u16, Option<String>) {
        let status = r.status().as_u16();
        let ct = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let text = r.text().await.unwrap();
        assert!(status < 500, "{what}: {status} {text}");
        if status < 400 {
            return (status, None);
        }
        assert!(ct.starts_with("application/json"), "{what}: {status} {ct:?}");
        let error: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{what}: {status} {text}"));
        let code = error["error"]["code"].as_str().unwrap_or_else(|| panic!("{what}: {text}")).to_owned();
        assert!(self.0.contains(&code), "{what}: {code} is not in /v1/error-codes");
        (status, Some(code))
    }
}

/// An HTTP client for tests, with the one TLS provider the workspace uses (ring) installed.
pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}
