//! A small JSON client for the API under test.

use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(base: &str, pool: usize) -> Self {
        let http = reqwest::Client::builder().pool_max_idle_per_host(pool).build().unwrap_or_default();
        Self { base: base.to_owned(), http }
    }

    /// As a client behind the load balancer at `ip` (the server trusts one proxy hop), so
    /// per-IP sign-up and sign-in limits apply per simulated customer, as in production.
    pub fn from_ip(base: &str, ip: &str) -> Self {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Ok(v) = reqwest::header::HeaderValue::from_str(ip) {
            headers.insert("x-forwarded-for", v);
        }
        let http = reqwest::Client::builder().default_headers(headers).build().unwrap_or_default();
        Self { base: base.to_owned(), http }
    }

    pub async fn post(
        &self,
        token: Option<&str>,
        path: &str,
        key: Option<&str>,
        body: &Value,
    ) -> anyhow::Result<(u16, Value)> {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        let res = req.send().await?;
        let status = res.status().as_u16();
        Ok((status, res.json().await.unwrap_or(Value::Null)))
    }

    /// Posts and insists on a 2xx answer.
    pub async fn ok(&self, token: Option<&str>, path: &str, key: Option<&str>, body: &Value) -> anyhow::Result<Value> {
        let (status, v) = self.post(token, path, key, body).await?;
        anyhow::ensure!((200..300).contains(&status), "POST {path}: {status} {v}");
        Ok(v)
    }
}

pub fn key() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
