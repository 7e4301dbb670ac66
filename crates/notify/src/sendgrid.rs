//! SendGrid Mail Send API v3 (`POST /v3/mail/send`, bearer key, 202 Accepted on success), as
//! documented at docs.sendgrid.com/api-reference/mail-send/mail-send.

use async_trait::async_trait;
use pb_domain::notify::{EmailMessage, EmailSender, NotifyError};
use std::time::Duration;

pub struct SendGridSender {
    client: reqwest::Client,
    api_key: String,
    base_url: String,
    from_email: String,
    from_name: Option<String>,
}

impl std::fmt::Debug for SendGridSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendGridSender").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

impl SendGridSender {
    /// `from`: `Name <address>` or a bare address.
    pub fn new(api_key: &str, base_url: &str, from: &str) -> Result<Self, String> {
        // The process uses one TLS provider, ring (aws-lc stays out of the build).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let (from_name, from_email) = match from.rsplit_once('<') {
            Some((name, rest)) => {
                (Some(name.trim().trim_matches('"').to_owned()), rest.trim_end_matches('>').trim().to_owned())
            }
            None => (None, from.trim().to_owned()),
        };
        Ok(Self {
            client,
            api_key: api_key.to_owned(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            from_email,
            from_name: from_name.filter(|n| !n.is_empty()),
        })
    }
}

#[async_trait]
impl EmailSender for SendGridSender {
    fn name(&self) -> &'static str {
        "sendgrid"
    }
    fn keeps_bodies(&self) -> bool {
        false
    }
    async fn send(&self, m: &EmailMessage) -> Result<(), NotifyError> {
        let mut from = serde_json::json!({ "email": self.from_email });
        if let Some(name) = &self.from_name {
            from["name"] = serde_json::json!(name);
        }
        let body = serde_json::json!({
            "personalizations": [{ "to": [{ "email": m.to }] }],
            "from": from,
            "subject": m.subject,
            "content": [{ "type": "text/plain", "value": m.body }],
            // Lets SendGrid's event webhooks be matched to our outbox row.
            "custom_args": { "notification_id": m.id },
        });
        let response = self
            .client
            .post(format!("{}/v3/mail/send", self.base_url))
            .bearer_auth(&self.api_key)
            .json(&body)
            .send()
            .await
            .map_err(|e| NotifyError::Temporary(format!("sendgrid: {}", e.without_url())))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        // The error body lists what was wrong; it never echoes the key.
        let detail = response.text().await.unwrap_or_default().chars().take(500).collect::<String>();
        if status.as_u16() == 429 || status.is_server_error() {
            Err(NotifyError::Temporary(format!("sendgrid {status}: {detail}")))
        } else {
            Err(NotifyError::Permanent(format!("sendgrid {status}: {detail}")))
        }
    }
}
