//! Every operation in the OpenAPI document, probed with bad input by no one signed in, by a
//! customer and by an admin: the non-negotiables on input and authorization, checked for each
//! route. Routes added later are swept too: the router and the document are split from one
//! `OpenApiRouter` (`pb_api::app`), so a route cannot be served without being documented.
//! - Never a 500; every refusal is JSON with a code that `/v1/error-codes` lists.
//! - No one signed in gets 401 on everything but the routes listed in `PUBLIC`.
//! - A customer gets 403 on every staff route, before the route reads its input: a caller who
//!   is not staff learns nothing of what a staff route expects.
//! - After it all, the customer's session still works and the ledger verifies.
//!
//! Then every operation again, by one customer naming another's objects (user, session,
//! accounts, a posted transfer, a hold) in its path, query and body: nothing succeeds on them,
//! no list shows them, and the other's balances, hold and session are as they were.

use crate::helpers::{ErrorCatalogue, TestApp, json};
use crate::people::Person;
use crate::stories;
use pb_domain::identity::roles::StaffRole;
use reqwest::Method;
use serde_json::json;

stories!(every_route_refuses_bad_input_and_strangers, a_customer_reaches_nothing_of_another_through_any_route);

/// Operations that answer without a signed-in caller (method, path as in the document).
const PUBLIC: &[(&str, &str)] = &[
    ("get", "/health"),
    ("get", "/ready"),
    ("get", "/v1/assets"),
    ("get", "/v1/error-codes"),
    ("get", "/v1/error-codes/{code}"),
    ("get", "/v1/dev/outbox"),
    ("post", "/v1/security/csp-reports"),
    ("post", "/v1/auth/register"),
    ("post", "/v1/auth/verify-email"),
    ("post", "/v1/auth/verify-email/resend"),
    ("post", "/v1/auth/login"),
    ("post", "/v1/auth/mfa/verify"),
    ("post", "/v1/auth/password-reset"),
    ("post", "/v1/auth/password-reset/confirm"),
];

/// Path parameters: malformed, oversized, control characters, non-ASCII, an id of the wrong kind.
const PATH_VALUES: &[&str] = &[
    "not-an-id",
    "0",
    "%00",
    "%E2%80%AE",
    "été",
    "00000000-0000-0000-0000-000000000000",
    "acct_zzzzzzzzzzzzzzzzzzzzzzzzzz",
];

const QUERIES: &[&str] = &[
    "",
    "?limit=-1",
    "?limit=99999999999999999999",
    "?limit=abc&starting_after=%00",
    "?starting_after=acct_zzzzzzzzzzzzzzzzzzzzzzzzzz",
    "?from=not-a-date&to=2020-13-45",
    "?format=xml",
    "?status=%FF",
    "?user_id=%00&status=%00&asset=%00",
];

const BODIES: &[(&str, &str)] = &[
    ("application/json", r#"{""#),
    ("application/json", "[]"),
    ("application/json", "{}"),
    ("application/json", "null"),
    (
        "application/json",
        r#"{"amount": "-1", "asset": "USD", "from_account": "x", "to": {"email": "nobody"}, "transfers": [{}], "atomic": "yes"}"#,
    ),
    (
        "application/json",
        r#"{"amount": "1e400", "asset": 5, "account_id": [], "to": {"account_id": {}}, "transfers": "x", "code": 99999999999999999999999}"#,
    ),
    ("application/json", r#"{"amount": "340282366920938463463374607431768211456", "asset": "USD", "name": "x"}"#),
    ("text/plain", "hello"),
    // U+0000, which PostgreSQL's text cannot hold, in every kind of field.
    (
        "application/json",
        r#"{"name": "a\u0000", "asset": "USD\u0000", "description": "\u0000", "email": "a\u0000@example.com", "password": "\u0000", "reason": "\u0000", "account_id": "acct_\u0000", "metadata": {"k\u0000": "v"}}"#,
    ),
];

fn is_public(method: &str, path: &str) -> bool {
    PUBLIC.contains(&(method, path))
}

/// `/v1/accounts/{id}` with `value` for every parameter.
fn fill(path: &str, value: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        out.push_str(value);
        rest = rest[open..].split_once('}').map_or("", |(_, after)| after);
    }
    out.push_str(rest);
    out
}

/// A request for `method` as the document spells it, with a fresh `Idempotency-Key` (routes that
/// do not move money ignore it).
fn request(app: &TestApp, method: &str, url: &str) -> reqwest::RequestBuilder {
    let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    app.client.request(method, app.url(url)).header("idempotency-key", uuid::Uuid::new_v4().to_string())
}

struct Probe<'a> {
    app: &'a TestApp,
    codes: ErrorCatalogue,
    sent: usize,
}

impl Probe<'_> {
    /// Sends one request and checks it ([`ErrorCatalogue::check`]). Returns the status and the
    /// error code.
    async fn send(
        &mut self,
        token: Option<&str>,
        method: &str,
        url: &str,
        body: Option<(&str, &str)>,
    ) -> (u16, Option<String>) {
        self.sent += 1;
        let mut req = request(self.app, method, url);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some((content_type, body)) = body {
            req = req.header("content-type", content_type).body(body.to_owned());
        }
        self.codes.check(&format!("{method} {url} {body:?}"), req.send().await.unwrap()).await
    }
}

async fn every_route_refuses_bad_input_and_strangers(app: TestApp) {
    let spec = serde_json::to_value(pb_api::openapi()).unwrap();
    let codes = ErrorCatalogue::fetch(&app).await;
    let alice = app.verified_person("alice@sweep.example", "individual").await;
    let opened = app
        .client
        .post(app.url("/v1/accounts"))
        .bearer_auth(&alice.token)
        .header("idempotency-key", "sweep-open")
        .json(&serde_json::json!({"asset": "USD", "name": "Everyday"}))
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), 201);
    let own_account = json(opened).await["id"].as_str().unwrap().to_owned();
    let admin = app.staff_member("admin@sweep.example", StaffRole::Admin).await;

    let mut probe = Probe { app: &app, codes, sent: 0 };
    let mut operations = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            operations.push((method.clone(), path.clone()));
        }
    }
    assert!(operations.len() >= 50, "{} operations", operations.len());
    for (method, path) in &operations {
        // Signing out would end the session the rest of the sweep uses.
        if (method.as_str(), path.as_str()) == ("post", "/v1/auth/logout") {
            continue;
        }
        let mut values: Vec<&str> = PATH_VALUES.to_vec();
        values.push(&own_account);
        let urls: Vec<String> =
            if path.contains('{') { values.iter().map(|v| fill(path, v)).collect() } else { vec![path.clone()] };
        let staff_route = path.starts_with("/v1/admin/");
        for url in &urls {
            for token in [None, Some(alice.token.as_str()), Some(admin.token.as_str())] {
                let mut answers = Vec::new();
                if method == "get" || method == "delete" {
                    for query in QUERIES {
                        answers.push(probe.send(token, method, &format!("{url}{query}"), None).await);
                    }
                } else {
                    for body in BODIES {
                        answers.push(probe.send(token, method, url, Some(*body)).await);
                    }
                }
                for (status, code) in answers {
                    let code = code.as_deref();
                    if token.is_none() && !is_public(method, path) {
                        assert_eq!((status, code), (401, Some("unauthenticated")), "{method} {url}, no one signed in");
                    }
                    if token == Some(alice.token.as_str()) && staff_route {
                        assert_eq!((status, code), (403, Some("forbidden")), "{method} {url}, a customer");
                    }
                }
            }
        }
    }
    assert!(probe.sent > 4_500, "{} requests", probe.sent);

    // The sessions still work and the ledger verifies.
    assert_eq!(app.get_as(&alice.token, "/v1/me").await.status(), 200);
    assert_eq!(app.get_as(&admin.token, "/v1/me").await.status(), 200);
    assert!(app.state.ledger().verify().await.unwrap().ok());
    assert_eq!(app.get("/ready").await.status(), 200);
}

#[test]
fn fill_replaces_every_parameter() {
    assert_eq!(fill("/v1/a/{id}/b/{x}", "v"), "/v1/a/v/b/v");
    assert_eq!(fill("/v1/a", "v"), "/v1/a");
}

/// What a customer holds, for another to aim at.
struct Holdings {
    ids: Vec<String>,
    account: String,
    second: String,
    hold: String,
}

async fn holdings(app: &TestApp, alice: &Person) -> Holdings {
    let account = app.open_account(alice, "USD").await;
    let second = app.open_account(alice, "USD").await;
    app.deposit(alice, &account, "1000").await;
    let posted = json(app.send(alice, "sweep-posted", &account, &second, "100").await).await;
    let body = json!({"from_account": account, "to": {"account_id": second}, "amount": "50", "hold": {"timeout_seconds": 3600}});
    let hold = json(app.post_idem(&alice.token, "/v1/transfers", "sweep-hold", body).await).await;
    assert_eq!(hold["status"], "pending");
    let sessions = json(app.get_as(&alice.token, "/v1/me/sessions").await).await;
    let session = sessions["data"][0]["id"].as_str().unwrap().to_owned();
    let hold = hold["id"].as_str().unwrap().to_owned();
    let ids = vec![
        alice.id.clone(),
        session,
        account.clone(),
        second.clone(),
        posted["id"].as_str().unwrap().to_owned(),
        hold.clone(),
    ];
    Holdings { ids, account, second, hold }
}

async fn a_customer_reaches_nothing_of_another_through_any_route(app: TestApp) {
    let alice = app.verified_person("alice@strangers.example", "individual").await;
    let mallory = app.verified_person("mallory@strangers.example", "individual").await;
    let mallorys = app.open_account(&mallory, "USD").await;
    app.deposit(&mallory, &mallorys, "1000").await;
    let held = holdings(&app, &alice).await;
    let look = |path: String| {
        let app = &app;
        let token = alice.token.clone();
        async move { json(app.get_as(&token, &path).await).await }
    };
    let before = (
        look(format!("/v1/accounts/{}", held.account)).await,
        look(format!("/v1/accounts/{}", held.second)).await,
        look(format!("/v1/transfers/{}", held.hold)).await,
    );

    // Every field a body might name an object by, all aimed at Alice's.
    let aimed = json!({
        "account_id": held.account, "from_account": held.account, "parent_id": held.account,
        "to": {"account_id": mallorys}, "amount": "1", "asset": "USD", "name": "x", "corrects": held.ids[4],
        "transfers": [{"from_account": held.account, "to": {"account_id": mallorys}, "amount": "1"}],
        "atomic": false, "reason": "x", "direction": "debit", "email": alice.email,
        "chain": "ethereum", "address": "0x000000000000000000000000000000000000dEaD",
    });
    let spec = serde_json::to_value(pb_api::openapi()).unwrap();
    let mut sent = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if (method.as_str(), path.as_str()) == ("post", "/v1/auth/logout") {
                continue;
            }
            let urls: Vec<String> = if path.contains('{') {
                held.ids.iter().map(|id| fill(path, id)).collect()
            } else if method == "get" {
                let q = format!("?account_id={}&owner={}&user_id={}", held.account, alice.id, alice.id);
                vec![format!("{path}{q}")]
            } else {
                vec![path.clone()]
            };
            for url in urls {
                sent += 1;
                let mut req = request(&app, method, &url).bearer_auth(&mallory.token);
                if method == "post" {
                    req = req.json(&aimed);
                }
                let r = req.send().await.unwrap();
                let status = r.status().as_u16();
                let text = r.text().await.unwrap();
                assert!(status < 500, "{method} {url}: {status} {text}");
                if path.contains('{') {
                    // Naming Alice's object in the path reaches nothing.
                    assert!(status >= 400, "{method} {url} succeeded for another customer: {text}");
                } else if status < 300 {
                    // What succeeds is Mallory's own (an account she opens, say): it shows
                    // nothing of Alice's and hangs nothing on it.
                    for id in &held.ids {
                        assert!(!text.contains(id.as_str()), "{method} {url} shows {id}: {text}");
                    }
                }
            }
        }
    }
    assert!(sent > 100, "{sent} requests");

    // Alice's accounts, hold and session are as they were; the ledger verifies.
    let after = (
        look(format!("/v1/accounts/{}", held.account)).await,
        look(format!("/v1/accounts/{}", held.second)).await,
        look(format!("/v1/transfers/{}", held.hold)).await,
    );
    assert_eq!(after, before);
    assert_eq!(before.2["status"], "pending");
    assert_eq!(app.get_as(&alice.token, "/v1/me").await.status(), 200);
    assert!(app.state.ledger().verify().await.unwrap().ok());
}
