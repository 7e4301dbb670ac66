use crate::helpers::{Backend, TestApp, assert_error, json};
use crate::stories;

stories!(health_is_alive, ready_names_every_dependency, metrics_are_served_on_the_admin_listener_only);

async fn health_is_alive(app: TestApp) {
    let r = app.get("/health").await;
    assert_eq!(r.status(), 200);
    assert_eq!(json(r).await["status"], "ok");
}

async fn ready_names_every_dependency(app: TestApp) {
    let r = app.get("/ready").await;
    assert_eq!(r.status(), 200);
    let body = json(r).await;
    assert_eq!(body["status"], "ready");
    let checks: Vec<(String, String, String)> = body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().into(),
                c["backend"].as_str().unwrap().into(),
                c["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected = match app.backend {
        Backend::Sqlite => [("database", "sqlite"), ("cache", "in_process")],
        Backend::Postgres => [("database", "postgres"), ("cache", "redis")],
    };
    for (name, backend) in expected {
        assert!(checks.contains(&(name.into(), backend.into(), "up".into())), "{checks:?}");
    }
}

async fn metrics_are_served_on_the_admin_listener_only(app: TestApp) {
    app.get("/health").await;
    // Labelled by route template, not by path (ids would explode the series), and unmatched
    // paths all in one series: the middleware runs outside the router (app.rs).
    let id = "txn_0000000000000000000000000000000";
    assert_eq!(app.get(&format!("/v1/transfers/{id}")).await.status(), 401);
    assert_eq!(app.get("/v1/no-such-route").await.status(), 404);
    let public = app.get("/metrics").await;
    assert_eq!(public.status(), 404, "metrics must not be public");
    let r = app.client.get(format!("{}/metrics", app.admin)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(text.contains("http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"}"), "{text}");
    assert!(text.contains("http_requests_total{method=\"GET\",route=\"/v1/transfers/{id}\",status=\"401\"}"), "{text}");
    assert!(text.contains("http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}"), "{text}");
    assert!(!text.contains(id), "{text}");
    assert!(text.contains("http_request_duration_seconds_bucket"), "{text}");
    assert!(text.contains("db_pool_connections_max{pool=\"primary\""), "{text}");
}

#[tokio::test]
async fn docs_page_renders_and_openapi_lists_the_routes() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let docs = app.get("/docs/").await;
    assert_eq!(docs.status(), 200);
    let html = docs.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "the vendored Swagger UI page");
    assert!(!html.contains("https://"), "no CDN: every asset is served from here");
    let init = app.get("/docs/swagger-initializer.js").await;
    assert_eq!(init.status(), 200);
    assert!(init.text().await.unwrap().contains("/v1/openapi.json"));

    let spec = json(app.get("/v1/openapi.json").await).await;
    assert_eq!(spec["openapi"], "3.1.0");
    for path in ["/health", "/ready", "/v1/error-codes", "/v1/error-codes/{code}", "/v1/security/csp-reports"] {
        assert!(spec["paths"][path].is_object(), "{path} missing from the spec");
    }
    assert_eq!(spec, serde_json::to_value(pb_api::openapi()).unwrap(), "served = printed by `openapi`");
}

#[test]
fn operation_ids_are_unique_and_the_web_apps_copy_is_current() {
    let spec = serde_json::to_value(pb_api::openapi()).unwrap();
    let mut ids: Vec<&str> = spec["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values().filter_map(|op| op["operationId"].as_str()))
        .collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "operationIds must be unique");
    // The web app's client types are generated from web/openapi.json.
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/openapi.json")).unwrap();
    let committed: serde_json::Value = serde_json::from_str(&committed).unwrap();
    assert!(committed == spec, "web/openapi.json is stale: run scripts/gen-openapi");
}

#[tokio::test]
async fn responses_carry_request_ids_and_security_headers() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let r = app.get("/health").await;
    let id = r.headers()["x-request-id"].to_str().unwrap();
    assert!(id.starts_with("req_") && id.len() > 20, "{id}");
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
        ("cross-origin-opener-policy", "same-origin"),
    ] {
        assert_eq!(r.headers()[name], value, "{name}");
    }
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(r.headers().contains_key("strict-transport-security"));

    let echoed = app.client.get(app.url("/health")).header("x-request-id", "lb-1234567890").send().await.unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "lb-1234567890", "a well-formed upstream id is kept");
    let forged =
        app.client.get(app.url("/health")).header("x-request-id", "bad id\" with quotes").send().await.unwrap();
    assert!(forged.headers()["x-request-id"].to_str().unwrap().starts_with("req_"), "a malformed one is replaced");
}

#[tokio::test]
async fn cors_answers_only_configured_origins() {
    let app = TestApp::spawn_with(Backend::Sqlite, &[("CORS_ALLOWED_ORIGINS", "https://app.example.com")]).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/v1/error-codes"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .send()
    };
    let allowed = preflight("https://app.example.com").await.unwrap();
    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://app.example.com");
    assert_eq!(allowed.headers()["access-control-allow-credentials"], "true");
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(!refused.headers().contains_key("access-control-allow-origin"));

    let without = TestApp::spawn(Backend::Sqlite).await;
    let r =
        without.client.get(without.url("/health")).header("origin", "https://app.example.com").send().await.unwrap();
    assert!(!r.headers().contains_key("access-control-allow-origin"), "no origins configured: same-origin only");
}

#[tokio::test]
async fn the_web_app_is_served_for_browser_routes_only() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let html = |path: &str| app.client.get(app.url(path)).header("accept", "text/html,application/xhtml+xml").send();
    let shell = html("/accounts/acct_0123").await.unwrap();
    assert_eq!(shell.status(), 200);
    assert_eq!(shell.headers()["cache-control"], "no-cache", "the shell is revalidated after a deploy");
    assert!(shell.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(shell.text().await.unwrap().contains("Protocol Bank"));
    for reserved in ["/metrics", "/v1/nope", "/docs/nope"] {
        assert_eq!(html(reserved).await.unwrap().status(), 404, "{reserved} is never the app");
    }
    assert_error(app.get("/accounts/acct_0123").await, 404, "route_not_found").await;
    assert_error(app.get("/assets/missing-abc123.js").await, 404, "route_not_found").await;
}
