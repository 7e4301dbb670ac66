//! Each kind of bad input gets a JSON error with a stable code: never HTML, never a 500.

use crate::helpers::{TestApp, assert_error, json};
use crate::stories;

stories!(bad_input_gets_json_errors_with_stable_codes, error_codes_are_discoverable);

const REPORT: &str = r#"[{"type":"csp-violation","url":"https://app.example/page?token=secret","body":{"effectiveDirective":"script-src-elem","blockedURL":"https://evil.example/x.js","disposition":"enforce"}}]"#;

async fn bad_input_gets_json_errors_with_stable_codes(app: TestApp) {
    let reports = "/v1/security/csp-reports";

    // A well-formed request is accepted, in both JSON content types.
    assert_eq!(app.post_raw(reports, "application/reports+json", REPORT).await.status(), 204);
    assert_eq!(app.post_raw(reports, "application/json", REPORT).await.status(), 204);

    // Malformed JSON.
    assert_error(app.post_raw(reports, "application/json", "[{\"type\": ").await, 400, "invalid_json").await;
    // Wrong content type, and none at all.
    assert_error(app.post_raw(reports, "text/plain", REPORT).await, 415, "unsupported_media_type").await;
    let no_type = app.client.post(app.url(reports)).body(REPORT).send().await.unwrap();
    assert_error(no_type, 415, "unsupported_media_type").await;
    // Valid JSON of the wrong shape names the field.
    let body =
        assert_error(app.post_raw(reports, "application/json", r#"[{"url": "x"}]"#).await, 422, "validation_failed")
            .await;
    assert_eq!(body["error"]["param"], "type");
    // U+0000 anywhere (PostgreSQL's text cannot hold it): refused at the edge on both backends,
    // in a body, a path and a query alike.
    let nul = REPORT.replace("?token=secret", "\\u0000");
    let body = assert_error(app.post_raw(reports, "application/json", nul).await, 422, "validation_failed").await;
    assert!(body["error"]["message"].as_str().unwrap().contains("U+0000"), "{body}");
    assert_error(app.get("/v1/error-codes/a%00b").await, 400, "invalid_path_parameter").await;
    assert_error(app.get("/v1/dev/outbox?limit=1%00").await, 400, "invalid_query_parameter").await;
    // Oversized body (the default limit is 1 MiB).
    let huge = format!("[{}]", vec![r#"{"type":"x"}"#; 100_000].join(","));
    assert!(huge.len() > 1024 * 1024);
    assert_error(app.post_raw(reports, "application/json", huge).await, 413, "payload_too_large").await;
    // Unknown route, on every method, and under /v1.
    assert_error(app.get("/no/such/thing").await, 404, "route_not_found").await;
    assert_error(app.get("/v1/nothing-here").await, 404, "route_not_found").await;
    assert_error(app.post_raw("/v1/nothing-here", "application/json", "{}").await, 404, "route_not_found").await;
    // Known route, wrong method: 405 with Allow.
    let r = app.client.delete(app.url("/health")).send().await.unwrap();
    assert!(r.headers().contains_key("allow"));
    assert_error(r, 405, "method_not_allowed").await;
    // Bad path parameter.
    assert_error(app.get("/v1/error-codes/Not-A-Code!").await, 400, "invalid_path_parameter").await;
    // A well-formed parameter naming nothing.
    assert_error(app.get("/v1/error-codes/no_such_code").await, 404, "not_found").await;

    // After all that, the service is still healthy: nothing was a 500.
    assert_eq!(app.get("/ready").await.status(), 200);
}

async fn error_codes_are_discoverable(app: TestApp) {
    let list = json(app.get("/v1/error-codes").await).await;
    assert_eq!(list["object"], "list");
    let codes: Vec<&str> = list["data"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect();
    for code in ["invalid_json", "unsupported_media_type", "payload_too_large", "route_not_found", "rate_limited"] {
        assert!(codes.contains(&code), "{code}");
    }
    let one = json(app.get("/v1/error-codes/rate_limited").await).await;
    assert_eq!(one["http_status"], 429);
    assert_eq!(one["type"], "rate_limit_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abusive_reporter_is_rate_limited_with_retry_after() {
    let app = TestApp::spawn(crate::helpers::Backend::Postgres).await;
    let mut last = None;
    for _ in 0..61 {
        last = Some(app.post_raw("/v1/security/csp-reports", "application/json", "[]").await);
    }
    let r = last.unwrap();
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_error(r, 429, "rate_limited").await;
}
