//! JSON-RPC 2.0 over HTTP (jsonrpc.org/specification), shared by the Ethereum and Solana clients.

use serde_json::{Value, json};

#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    #[error("{chain} rpc unreachable: {detail}")]
    Unreachable { chain: &'static str, detail: String },
    #[error("{chain} rpc error {code}: {message}")]
    Node { chain: &'static str, code: i64, message: String },
    #[error("unexpected {chain} rpc answer: {detail}")]
    Malformed { chain: &'static str, detail: String },
}

#[derive(Clone)]
pub struct JsonRpc {
    chain: &'static str,
    url: String,
    http: reqwest::Client,
}

/// The endpoint URL often carries a provider's API key: never printed.
impl std::fmt::Debug for JsonRpc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonRpc").field("chain", &self.chain).field("url", &"[REDACTED]").finish_non_exhaustive()
    }
}

impl JsonRpc {
    pub fn new(chain: &'static str, url: &str) -> Self {
        // The workspace's one TLS provider (ring), in case nothing installed it yet.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(15)).build().unwrap_or_default();
        Self { chain, url: url.to_owned(), http }
    }

    pub fn malformed(&self, detail: impl Into<String>) -> RpcError {
        RpcError::Malformed { chain: self.chain, detail: detail.into() }
    }

    pub async fn call(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let res = self
            .http
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .map_err(|e| RpcError::Unreachable { chain: self.chain, detail: e.without_url().to_string() })?;
        let v: Value = res.json().await.map_err(|e| self.malformed(e.to_string()))?;
        if let Some(err) = v.get("error") {
            return Err(RpcError::Node {
                chain: self.chain,
                code: err["code"].as_i64().unwrap_or(0),
                message: err["message"].as_str().unwrap_or_default().to_owned(),
            });
        }
        v.get("result").cloned().ok_or_else(|| self.malformed(format!("no result in {v}")))
    }
}
