//! Messages to people. The outbox table holds them (written with what caused them); a worker
//! hands each to an `EmailSender` at least once.

use async_trait::async_trait;

#[derive(Clone)]
pub struct EmailMessage {
    pub id: String,
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl std::fmt::Debug for EmailMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Bodies carry single-use links and recipients are personal data.
        f.debug_struct("EmailMessage").field("id", &self.id).finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// Worth retrying (network, 5xx, rate limit).
    #[error("temporary: {0}")]
    Temporary(String),
    /// Will not succeed as is (bad address, rejected credentials).
    #[error("permanent: {0}")]
    Permanent(String),
}

#[async_trait]
pub trait EmailSender: Send + Sync + std::fmt::Debug + 'static {
    /// `local_outbox`, `smtp` or `sendgrid`.
    fn name(&self) -> &'static str;
    /// The local outbox keeps message bodies for `/v1/dev/outbox`; real senders let the
    /// dispatcher blank them once delivered (they hold single-use links).
    fn keeps_bodies(&self) -> bool;
    async fn send(&self, message: &EmailMessage) -> Result<(), NotifyError>;
}
