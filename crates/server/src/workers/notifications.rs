//! Delivers the notification outbox: at least once, by whichever instance holds the lease.

use pb_domain::identity::store::IdentityStore;
use pb_domain::notify::{EmailMessage, EmailSender, NotifyError};
use pb_domain::{Clock, LeaseStore, SystemClock};
use std::sync::Arc;
use std::time::Duration;

pub const LEASE: &str = "notification-dispatcher";
const LEASE_TTL_MS: i64 = 30_000;
const BATCH: u32 = 50;

#[derive(Debug, Clone)]
pub struct Dispatcher {
    pub identity: Arc<dyn IdentityStore>,
    pub leases: Arc<dyn LeaseStore>,
    pub sender: Arc<dyn EmailSender>,
    pub holder: String,
}

impl Dispatcher {
    /// Runs until the task is aborted.
    pub async fn run(self, every: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // Stops between ticks, never in the middle of one: a lease renewal or a batch in flight
            // finishes before the server hands the lease over.
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            if let Err(e) = self.once().await {
                tracing::warn!(error = %e, "notification dispatch failed; will retry");
            }
        }
    }

    /// One pass: take the lease, send what is unsent, record each outcome.
    pub async fn once(&self) -> Result<usize, pb_domain::StoreError> {
        let now = SystemClock.now_ms();
        if !self.leases.try_acquire_lease(LEASE, &self.holder, now, LEASE_TTL_MS).await? {
            return Ok(0);
        }
        let pending = self.identity.unsent_notifications(BATCH).await?;
        let mut sent = 0;
        for n in pending {
            let message = EmailMessage {
                id: n.id.clone(),
                to: n.recipient.clone(),
                subject: n.subject.clone(),
                body: n.body.clone(),
            };
            match self.sender.send(&message).await {
                Ok(()) => {
                    sent += 1;
                    metrics::counter!("notifications_sent_total", "provider" => self.sender.name()).increment(1);
                    let keep = self.sender.keeps_bodies();
                    self.identity.mark_notification(&n.id, Some(SystemClock.now_ms()), None, !keep).await?;
                }
                Err(e) => {
                    let permanent = matches!(e, NotifyError::Permanent(_));
                    metrics::counter!("notifications_failed_total", "provider" => self.sender.name(), "permanent" => permanent.to_string())
                        .increment(1);
                    tracing::warn!(id = %n.id, provider = self.sender.name(), permanent, error = %e, "email not delivered");
                    self.identity.mark_notification(&n.id, None, Some(&e.to_string()), false).await?;
                }
            }
        }
        Ok(sent)
    }
}
