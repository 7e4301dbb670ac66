//! Redis restarted under two instances: a session signed out through one is refused at once by
//! the other, before the restart and after it. Each instance caches sessions for
//! `SESSION_CACHE_SECONDS` and drops a user's entries when another instance publishes a change
//! (pb_identity's session cache); Redis forgets its subscribers when it restarts, so an instance
//! that did not subscribe again would go on accepting a signed-out session for the whole TTL.
//! The TTL here is five minutes, so only the published change can make the refusal prompt.

use crate::helpers::{Backend, TestApp, base_vars};
use crate::processes::{serve, wait_ready};
use pb_testkit::TempDir;
use pb_testkit::redis_server::RedisServer;
use std::time::{Duration, Instant};

/// The value of an unlabelled counter or gauge in a Prometheus text exposition.
async fn metric(client: &reqwest::Client, admin: &str, name: &str) -> f64 {
    let text = client.get(format!("{admin}/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

/// The status `GET /v1/me` answers `base` for `token`.
async fn me(client: &reqwest::Client, base: &str, token: &str) -> u16 {
    client.get(format!("{base}/v1/me")).bearer_auth(token).send().await.unwrap().status().as_u16()
}

/// Signs `token` out through `app` and expects `other` to refuse it within a second.
async fn signed_out_everywhere(app: &TestApp, other: &str, token: &str) {
    let r = app.client.post(app.url("/v1/auth/logout")).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let deadline = Instant::now() + Duration::from_secs(1);
    while me(&app.client, other, token).await != 401 {
        assert!(Instant::now() < deadline, "the other instance still accepts the signed-out session");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_signed_out_on_one_instance_is_refused_on_the_other_after_redis_restarts() {
    let mut redis = RedisServer::start();
    let dir = TempDir::new("app");
    let mut vars = base_vars(Backend::Postgres, &dir).await;
    vars.insert("REDIS_URL".into(), redis.url());
    vars.insert("SESSION_CACHE_SECONDS".into(), "300".into());
    let app = TestApp::spawn_vars(Backend::Postgres, dir, vars).await;
    let other_dir = TempDir::new("other");
    let mut other = serve(&app.vars, &other_dir, "other");
    wait_ready(&app.client, &mut other).await;
    let person = app.verified_person("carol@cache.example", "individual").await;
    let subscriptions = |admin: String| {
        let client = app.client.clone();
        async move { metric(&client, &admin, "session_cache_subscriptions_total").await }
    };
    assert_eq!(subscriptions(other.admin.clone()).await, 1.0);

    // Before the restart: the other instance has the session cached, and drops it when told.
    let first = crate::helpers::json(app.login(&person.email, crate::people::PASSWORD).await).await;
    let first = first["session"]["token"].as_str().unwrap().to_owned();
    assert_eq!(me(&app.client, &other.base, &first).await, 200);
    signed_out_everywhere(&app, &other.base, &first).await;

    // Redis restarts: subscribers are forgotten. The other instance subscribes again by itself.
    redis.kill();
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    while subscriptions(other.admin.clone()).await < 2.0 {
        assert!(Instant::now() < deadline, "the other instance subscribed again after Redis restarted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(metric(&app.client, &other.admin, "session_cache_listening").await, 1.0);

    // After it: the first sign-in (its rate limit is counted in Redis) works at the first try;
    // the other instance caches the session again, and drops it again when told.
    let second = crate::helpers::json(app.login(&person.email, crate::people::PASSWORD).await).await;
    let second = second["session"]["token"].as_str().unwrap().to_owned();
    assert_eq!(me(&app.client, &other.base, &second).await, 200);
    signed_out_everywhere(&app, &other.base, &second).await;
}
