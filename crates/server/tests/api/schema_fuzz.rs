//! Every field of every documented request body, one at a time, set to a hostile value or left
//! out, the rest of the body valid: so each value reaches the handler's own checks (an amount's
//! parser, a name's rules, the ledger) instead of stopping at the first malformed field. Then
//! every documented query parameter, alone and beside the others. Bodies and parameters come
//! from the OpenAPI document, so a field added later is fuzzed too. A customer (of a business,
//! so its routes answer) sends the customer routes; an admin and a compliance officer the staff
//! routes. No answer is a 500; every refusal is JSON with a code `/v1/error-codes` lists; the
//! ledger verifies after.

use crate::helpers::{ErrorCatalogue, TestApp, json};
use crate::people::{PASSWORD, Person, Staff};
use crate::stories;
use pb_domain::identity::roles::StaffRole;
use serde_json::{Value, json};
use url::form_urlencoded;

stories!(every_body_field_takes_hostile_values, every_query_parameter_takes_hostile_values);

/// Routes left out: they end the session the rest of the run uses.
const SKIPPED: &[&str] = &["/v1/auth/logout", "/v1/me/password"];

fn hostile() -> Vec<Value> {
    vec![
        json!(""),
        json!(" "),
        json!("x".repeat(10_000)),
        json!(-1),
        json!(0),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(1e308),
        json!(0.5),
        json!(true),
        Value::Null,
        json!([]),
        json!({}),
        json!("-1"),
        json!("0"),
        json!("1e3"),
        json!("0x10"),
        json!("+5"),
        json!("00100"),
        json!(" 100"),
        json!("1.000"),
        json!("-0"),
        json!("340282366920938463463374607431768211456"),
        json!("99999999999999999999999999999999999999"),
        json!("\u{202e}\u{661}\u{662}"),
        json!("'; drop table accounts;--"),
        json!("acct_00000000000000000000000000000000"),
        json!("tr_ffffffffffffffffffffffffffffffff"),
        json!("usr_1"),
    ]
}

/// What valid values are made of: the caller's own objects.
struct Context {
    account: String,
    second: String,
    email: String,
}

/// A valid value for `schema`, at `at` (a JSON pointer) in the body.
fn sample(components: &Value, schema: &Value, at: &str, ctx: &Context) -> Value {
    // A transfer's payee is one of several optional fields, all left out otherwise.
    if at.ends_with("/to/account_id") {
        return json!(ctx.second);
    }
    let name = at.rsplit('/').next().unwrap_or("");
    let mut schema = schema;
    while let Some(reference) = schema["$ref"].as_str() {
        schema = &components[reference.rsplit('/').next().unwrap()];
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(first) = schema[key].as_array().and_then(|options| options.iter().find(|o| o["type"] != "null")) {
            return sample(components, first, at, ctx);
        }
    }
    if let Some(first) = schema["enum"].as_array().and_then(|values| values.first()) {
        return first.clone();
    }
    let kind = match &schema["type"] {
        // An optional field (`["string", "null"]`) is left out of the valid body.
        Value::Array(kinds) if kinds.iter().any(|k| k == "null") => return Value::Null,
        Value::Array(kinds) => kinds.first().and_then(Value::as_str).unwrap_or("string"),
        Value::String(kind) => kind.as_str(),
        _ if schema["properties"].is_object() => "object",
        _ => "string",
    };
    match kind {
        "object" => {
            let properties = schema["properties"].as_object().cloned().unwrap_or_default();
            let sampled = properties.iter().map(|(k, v)| (k.clone(), sample(components, v, &format!("{at}/{k}"), ctx)));
            Value::Object(sampled.collect())
        }
        "array" => json!([sample(components, &schema["items"], &format!("{at}/0"), ctx)]),
        "integer" => json!(60),
        "number" => json!(1),
        "boolean" => json!(false),
        _ => json!(match name {
            "account_id" | "from_account" => ctx.account.as_str(),
            "asset" => "USD",
            "amount" => "100",
            "email" => ctx.email.as_str(),
            "password" | "current_password" | "new_password" => PASSWORD,
            "role" => "view_only",
            "chain" => "ethereum",
            "direction" => "credit",
            "kind" => "individual",
            "reason" => "fuzzing every field of the body",
            _ => "x",
        }),
    }
}

/// JSON pointers to every value inside `value`, itself included.
fn pointers(value: &Value, at: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                pointers(v, &format!("{at}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                pointers(v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at.to_owned());
}

/// `body` with the value at `pointer` replaced by `value`, or removed when `value` is `None`.
fn mutated(body: &Value, pointer: &str, value: Option<&Value>) -> Value {
    let mut body = body.clone();
    match (value, pointer.rsplit_once('/')) {
        (Some(value), _) => *body.pointer_mut(pointer).unwrap() = value.clone(),
        (None, Some((parent, key))) => match body.pointer_mut(parent) {
            Some(Value::Object(map)) => {
                map.remove(key);
            }
            Some(Value::Array(items)) => {
                items.remove(key.parse::<usize>().unwrap());
            }
            _ => {}
        },
        (None, None) => {}
    }
    body
}

/// Query values: out of range, malformed, oversized, and well-formed ones of every kind.
const QUERY_VALUES: &[&str] = &[
    "",
    " ",
    "-1",
    "0",
    "1",
    "101",
    "99999999999999999999",
    "abc",
    "1e3",
    "2020-13-45",
    "2026-12-06",
    "2026-12-06T00:00:00Z",
    "1700000000",
    "%",
    "\u{202e}",
    "acct_00000000000000000000000000000000",
    "tr_ffffffffffffffffffffffffffffffff",
    "pending",
    "csv",
    "true",
];

/// The people and objects both stories aim at.
struct World {
    spec: Value,
    codes: ErrorCatalogue,
    owner: Person,
    business: String,
    account: String,
    second: String,
    hold: String,
    admin: Staff,
    compliance: Staff,
    support: Staff,
    target: Person,
}

impl World {
    async fn new(app: &TestApp) -> Self {
        let spec = serde_json::to_value(pb_api::openapi()).unwrap();
        let codes = ErrorCatalogue::fetch(app).await;
        let owner = app.verified_person("owner@fuzz.example", "business").await;
        let me = json(app.get_as(&owner.token, "/v1/me").await).await;
        let business = me["businesses"][0]["id"].as_str().unwrap().to_owned();
        let account = app.open_account(&owner, "USD").await;
        let second = app.open_account(&owner, "USD").await;
        app.deposit(&owner, &account, "100000").await;
        let body = json!({"from_account": account, "to": {"account_id": second}, "amount": "100", "hold": {"timeout_seconds": 3600}});
        let hold = json(app.post_idem(&owner.token, "/v1/transfers", "fuzz-hold", body).await).await;
        let hold = hold["id"].as_str().unwrap().to_owned();
        // Withdrawals ask for a recent second factor.
        app.step_up(&owner).await;
        Self {
            spec,
            codes,
            business,
            account,
            second,
            hold,
            admin: app.staff_member("admin@fuzz.example", StaffRole::Admin).await,
            compliance: app.staff_member("compliance@fuzz.example", StaffRole::ComplianceOfficer).await,
            support: app.staff_member("support@fuzz.example", StaffRole::Support).await,
            target: app.verified_person("target@fuzz.example", "individual").await,
            owner,
        }
    }

    /// `path` with its `{…}` filled by an object of the right kind.
    fn url(&self, path: &str) -> String {
        let id = match path {
            p if p.starts_with("/v1/accounts/") => self.second.as_str(),
            p if p.starts_with("/v1/transfers/") => self.hold.as_str(),
            p if p.starts_with("/v1/businesses/") => self.business.as_str(),
            p if p.starts_with("/v1/admin/users/") => self.target.id.as_str(),
            p if p.starts_with("/v1/admin/staff/") => self.support.id.as_str(),
            p if p.starts_with("/v1/error-codes/") => "invalid_json",
            _ => "x",
        };
        path.replace("{id}", id).replace("{code}", id)
    }

    /// Who sends to `path`: the customer, or each staff member who may use it.
    fn callers(&self, path: &str) -> Vec<&str> {
        if path.starts_with("/v1/admin/") {
            vec![self.admin.token.as_str(), self.compliance.token.as_str()]
        } else {
            vec![self.owner.token.as_str()]
        }
    }

    async fn still_whole(&self, app: &TestApp) {
        for token in [&self.owner.token, &self.admin.token, &self.compliance.token] {
            assert_eq!(app.get_as(token, "/v1/me").await.status(), 200);
        }
        assert!(app.state.ledger().verify().await.unwrap().ok());
    }
}

async fn every_body_field_takes_hostile_values(app: TestApp) {
    let world = World::new(&app).await;
    let ctx =
        Context { account: world.account.clone(), second: world.second.clone(), email: world.owner.email.clone() };
    let mut values = hostile().into_iter().map(Some).collect::<Vec<_>>();
    values.push(None);
    let mut sent = 0;
    for (path, item) in world.spec["paths"].as_object().unwrap() {
        let Some(op) = item.get("post") else { continue };
        let Some(content) = op["requestBody"]["content"].as_object() else { continue };
        if SKIPPED.contains(&path.as_str()) {
            continue;
        }
        let (content_type, media) = content.iter().next().unwrap();
        let valid = sample(&world.spec["components"]["schemas"], &media["schema"], "", &ctx);
        let url = world.url(path);
        let mut at = Vec::new();
        pointers(&valid, "", &mut at);
        for token in world.callers(path) {
            for pointer in &at {
                for value in &values {
                    if value.is_none() && pointer.is_empty() {
                        continue;
                    }
                    let body = mutated(&valid, pointer, value.as_ref());
                    sent += 1;
                    let r = app
                        .client
                        .post(app.url(&url))
                        .bearer_auth(token)
                        .header("idempotency-key", uuid::Uuid::new_v4().to_string())
                        .header("content-type", content_type.as_str())
                        .body(body.to_string())
                        .send()
                        .await
                        .unwrap();
                    world.codes.check(&format!("POST {url} with {pointer} = {value:?}"), r).await;
                }
            }
        }
    }
    assert!(sent > 2_500, "{sent} requests");
    world.still_whole(&app).await;
}

async fn every_query_parameter_takes_hostile_values(app: TestApp) {
    let world = World::new(&app).await;
    let mut sent = 0;
    for (path, item) in world.spec["paths"].as_object().unwrap() {
        let Some(op) = item.get("get") else { continue };
        let names: Vec<&str> = op["parameters"]
            .as_array()
            .map(|ps| ps.iter().filter(|p| p["in"] == "query").filter_map(|p| p["name"].as_str()).collect())
            .unwrap_or_default();
        let url = world.url(path);
        for token in world.callers(path) {
            for name in &names {
                for value in QUERY_VALUES {
                    // The value alone, then beside every other parameter set to "1".
                    let others: Vec<(&str, &str)> = names.iter().filter(|n| *n != name).map(|n| (*n, "1")).collect();
                    for beside in [&[][..], &others[..]] {
                        let mut query = form_urlencoded::Serializer::new(String::new());
                        query.append_pair(name, value);
                        query.extend_pairs(beside.iter().copied());
                        let query = query.finish();
                        sent += 1;
                        let r = app.get_as(token, &format!("{url}?{query}")).await;
                        world.codes.check(&format!("GET {url}?{query}"), r).await;
                    }
                }
            }
        }
    }
    assert!(sent > 500, "{sent} requests");
    world.still_whole(&app).await;
}

#[test]
fn pointers_and_mutations_reach_every_value() {
    let body = json!({"a": 1, "b": {"c": [true]}});
    let mut at = Vec::new();
    pointers(&body, "", &mut at);
    assert_eq!(at, ["/a", "/b/c/0", "/b/c", "/b", ""]);
    assert_eq!(mutated(&body, "/b/c/0", Some(&json!("x"))), json!({"a": 1, "b": {"c": ["x"]}}));
    assert_eq!(mutated(&body, "/b", None), json!({"a": 1}));
    assert_eq!(mutated(&body, "/b/c/0", None), json!({"a": 1, "b": {"c": []}}));
    assert_eq!(mutated(&body, "", Some(&Value::Null)), Value::Null);
}
