use async_trait::async_trait;
use pb_domain::notify::{EmailMessage, EmailSender, NotifyError};

/// The embedded default's sender: delivers nowhere. The notifications table is the outbox,
/// readable at `GET /v1/dev/outbox` in development. Refused in production.
#[derive(Debug, Default)]
pub struct LocalOutbox;

#[async_trait]
impl EmailSender for LocalOutbox {
    fn name(&self) -> &'static str {
        "local_outbox"
    }
    fn keeps_bodies(&self) -> bool {
        true
    }
    async fn send(&self, message: &EmailMessage) -> Result<(), NotifyError> {
        tracing::info!(id = %message.id, "email kept in the local outbox (development)");
        Ok(())
    }
}
