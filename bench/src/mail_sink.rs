//! A SendGrid-compatible sink (POST /v3/mail/send) so customers can verify their email in
//! production mode, where the development outbox is switched off.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Sink {
    pub url: String,
    tokens: Arc<Mutex<HashMap<String, String>>>,
}

async fn send(
    State(tokens): State<Arc<Mutex<HashMap<String, String>>>>,
    Json(v): Json<serde_json::Value>,
) -> StatusCode {
    let to = v["personalizations"][0]["to"][0]["email"].as_str().unwrap_or_default().to_owned();
    let body = v["content"][0]["value"].as_str().unwrap_or_default();
    if let Some(start) = body.find("token=") {
        let token: String =
            body[start + 6..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
        if let Ok(mut t) = tokens.lock() {
            t.insert(to, token);
        }
    }
    StatusCode::ACCEPTED
}

pub async fn start() -> anyhow::Result<Sink> {
    let tokens = Arc::new(Mutex::new(HashMap::new()));
    let app = axum::Router::new().route("/v3/mail/send", post(send)).with_state(tokens.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(Sink { url, tokens })
}

impl Sink {
    /// The newest emailed token for `to`, waiting for the server's dispatcher to send it.
    pub async fn token_for(&self, to: &str) -> anyhow::Result<String> {
        for _ in 0..300 {
            if let Some(t) = self.tokens.lock().ok().and_then(|t| t.get(to).cloned()) {
                return Ok(t);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("no email reached the sink for {to}")
    }
}
