//! The two modes of one binary, and readiness when a dependency is down.

use crate::helpers::{Backend, PRODUCTION, TestApp, base_vars, config_from, json};
use pb_testkit::TempDir;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_mode_runs_on_postgres_and_redis_and_ready_names_both() {
    let app = TestApp::spawn_with(Backend::Postgres, PRODUCTION).await;
    let body = json(app.get("/ready").await).await;
    assert_eq!(body["status"], "ready", "{body}");
    let backends: Vec<&str> =
        body["checks"].as_array().unwrap().iter().map(|c| c["backend"].as_str().unwrap()).collect();
    assert_eq!(backends, ["postgres", "redis"]);
}

#[tokio::test]
async fn production_mode_refuses_to_start_without_its_requirements() {
    let dir = TempDir::new("prod");
    let mut vars = base_vars(Backend::Sqlite, &dir).await;
    vars.insert("PROTOCOL_BANK_ENV".into(), "production".into());
    let err = config_from(&vars).expect_err("must refuse").to_string();
    for needed in ["SECRET_KEY", "DATABASE_URL", "REDIS_URL"] {
        assert!(err.contains(needed), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_is_503_and_names_redis_when_it_is_down() {
    let app = TestApp::spawn_with(Backend::Postgres, &[("REDIS_URL", "redis://127.0.0.1:1")]).await;
    let r = app.get("/ready").await;
    assert_eq!(r.status(), 503);
    let body = json(r).await;
    assert_eq!(body["status"], "not_ready");
    let cache = body["checks"].as_array().unwrap().iter().find(|c| c["name"] == "cache").unwrap().clone();
    assert_eq!(cache["backend"], "redis");
    assert_eq!(cache["status"], "down");
    assert_eq!(app.get("/health").await.status(), 200, "liveness does not depend on Redis");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_names_the_replica_when_configured() {
    let dir = TempDir::new("replica");
    let vars = base_vars(Backend::Postgres, &dir).await;
    let url = vars["DATABASE_URL"].clone();
    // The primary stands in for its replica here; deploy/local runs a real streaming replica.
    let app = TestApp::spawn_with(Backend::Postgres, &[("DATABASE_URL", &url), ("DATABASE_REPLICA_URL", &url)]).await;
    let body = json(app.get("/ready").await).await;
    let names: Vec<&str> = body["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["database", "database_replica", "cache"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draining_instance_is_not_ready_but_still_serves() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.state.start_draining();
    let r = app.get("/ready").await;
    assert_eq!(r.status(), 503);
    assert_eq!(json(r).await["status"], "draining");
    assert_eq!(app.get("/health").await.status(), 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_default_keeps_its_secret_key_across_restarts() {
    let dir = TempDir::new("restart");
    let vars = base_vars(Backend::Sqlite, &dir).await;
    let build = || async {
        protocol_bank::server::Server::build(&config_from(&vars).unwrap()).await.unwrap();
        std::fs::read_to_string(dir.path().join("secret_key")).unwrap()
    };
    let first = build().await;
    let second = build().await;
    assert_eq!(first, second);
    assert!(dir.path().join("protocol-bank.db").exists());
}
