//! The world a run needs, built only through the public API and the CLI an operator has:
//! two staff members (maker and checker), customers who sign up and verify by email, their
//! accounts, funded by an approved adjustment and then a batch spread across their accounts.

use crate::client::{Api, key};
use crate::mail_sink::Sink;
use crate::server::Server;
use futures::{StreamExt, TryStreamExt, stream};
use serde_json::json;

const PASSWORD: &str = "bench-violet-tractor-91";

#[derive(Debug, Clone)]
pub struct Customer {
    pub token: String,
    pub accounts: Vec<String>,
}

#[derive(Debug)]
pub struct World {
    pub customers: Vec<Customer>,
    pub accounts: Vec<String>,
    /// The account 10% of the hot workload's transfers credit.
    pub hot: String,
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn totp(secret: &str, at: i64) -> anyhow::Result<String> {
    pb_domain::identity::totp::code_at(secret, at).ok_or_else(|| anyhow::anyhow!("the TOTP secret is not base32"))
}

async fn login(api: &Api, email: &str, password: &str) -> anyhow::Result<String> {
    let v = api.ok(None, "/v1/auth/login", None, &json!({"email": email, "password": password})).await?;
    v["session"]["token"].as_str().map(str::to_owned).ok_or_else(|| anyhow::anyhow!("no session in {v}"))
}

/// A staff member created by the operator CLI, with TOTP enrolled and a fresh step-up.
async fn staff(srv: &Server, api: &Api, email: &str, role: &str) -> anyhow::Result<String> {
    let out = srv.cli(&["admin", "create-staff", "--email", email, "--role", role])?;
    anyhow::ensure!(out.status.success(), "create-staff: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let password = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default().trim().to_owned();
    let token = login(api, email, &password).await?;
    let enrol = api.ok(Some(&token), "/v1/me/mfa/totp", None, &json!({})).await?;
    let secret = enrol["secret"].as_str().unwrap_or_default().to_owned();
    api.ok(Some(&token), "/v1/me/mfa/totp/confirm", None, &json!({"code": totp(&secret, now())?})).await?;
    api.ok(Some(&token), "/v1/auth/step-up", None, &json!({"code": totp(&secret, now() + 30)?})).await?;
    Ok(token)
}

async fn customer(base: &str, sink: &Sink, i: usize, email: String, accounts: usize) -> anyhow::Result<Customer> {
    let api = &Api::from_ip(base, &format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255));
    let body = json!({"email": email, "password": PASSWORD, "name": "Bench Customer", "kind": "individual"});
    api.ok(None, "/v1/auth/register", None, &body).await?;
    let token = sink.token_for(&email).await?;
    api.ok(None, "/v1/auth/verify-email", None, &json!({"token": token})).await?;
    let token = login(api, &email, PASSWORD).await?;
    let ids: Vec<String> = stream::iter(0..accounts)
        .map(|i| {
            let (api, token) = (api.clone(), token.clone());
            async move {
                let v = api
                    .ok(
                        Some(&token),
                        "/v1/accounts",
                        Some(&key()),
                        &json!({"asset": "USD", "name": format!("Pot {i}")}),
                    )
                    .await?;
                anyhow::Ok(v["id"].as_str().unwrap_or_default().to_owned())
            }
        })
        .buffered(8)
        .try_collect()
        .await?;
    Ok(Customer { token, accounts: ids })
}

impl World {
    pub async fn build(srv: &Server, sink: &Sink, customers: usize, accounts: usize) -> anyhow::Result<Self> {
        let api = Api::new(&srv.base, 64);
        let run = uuid::Uuid::new_v4().simple().to_string();
        let maker = staff(srv, &api, &format!("maker-{run}@bench.invalid"), "compliance_officer").await?;
        let checker = staff(srv, &api, &format!("checker-{run}@bench.invalid"), "admin").await?;
        let per = accounts.div_ceil(customers).max(2);
        let people: Vec<Customer> = stream::iter(0..customers)
            .map(|i| customer(&srv.base, sink, i, format!("c{i}-{run}@bench.invalid"), per))
            .buffered(4)
            .try_collect()
            .await?;

        // Fund each customer's first account by an approved adjustment, then spread it.
        for c in &people {
            let proposal = json!({"account_id": c.accounts[0], "direction": "credit", "amount": "1000000000000000",
                "reason": "Benchmark funding, approved by a second staff member"});
            let adj = api.ok(Some(&maker), "/v1/admin/adjustments", None, &proposal).await?;
            let id = adj["id"].as_str().unwrap_or_default();
            let done = api.ok(Some(&checker), &format!("/v1/admin/adjustments/{id}/approve"), None, &json!({})).await?;
            anyhow::ensure!(done["status"] == "posted", "funding failed: {done}");
            for chunk in c.accounts[1..].chunks(1000) {
                let transfers: Vec<_> = chunk
                    .iter()
                    .map(|to| json!({"from_account": c.accounts[0], "to": {"account_id": to}, "amount": "1000000000000"}))
                    .collect();
                let body = json!({"transfers": transfers, "atomic": true});
                api.ok(Some(&c.token), "/v1/transfers/batch", Some(&key()), &body).await?;
            }
        }
        let all: Vec<String> = people.iter().flat_map(|c| c.accounts.iter().cloned()).collect();
        let hot = people[0].accounts[0].clone();
        Ok(Self { customers: people, accounts: all, hot })
    }
}
