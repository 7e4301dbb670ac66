//! Delivers the outbox to the pub/sub bus (Redis in production, in-process in the embedded
//! default), at least once, in position order; one instance at a time (lease). Each message is
//! `{"events": [...]}` with one or more events; subscribers (realtime updates, webhooks,
//! notifications) dedupe by event id.

use crate::LedgerService;
use crate::lease_loop::LeaseLoop;
use pb_domain::ledger::outbox::{OutboxEvent, transfer_event};
use pb_domain::ledger::store::OutboxStore;
use pb_domain::{LeaseStore, PubSub};
use serde::Serialize;
use serde_json::value::RawValue;
use std::sync::Arc;
use std::time::Duration;

pub const LEASE: &str = "ledger-outbox-relay";
pub const CONSUMER: &str = "pubsub";
/// The channel every ledger event is published on.
pub const CHANNEL: &str = "ledger.events";

#[derive(Serialize)]
struct Message<'a> {
    events: Vec<Wire<'a>>,
}

/// One event as subscribers see it. The payload is already JSON and is embedded as it is,
/// not parsed into a tree and printed again (the relay handles every transfer).
#[derive(Serialize)]
struct Wire<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    position: i64,
    created: i64,
    data: &'a RawValue,
}

fn wire(e: &OutboxEvent) -> Result<Wire<'_>, serde_json::Error> {
    Ok(Wire {
        id: &e.id,
        kind: &e.kind,
        position: e.position,
        created: e.created_at,
        data: serde_json::from_str(&e.payload)?,
    })
}

/// The events of the journal rows after `position`: each row with its accounts' owners
/// (remembered by the ledger service, since they never change).
async fn events_after(
    outbox: &dyn OutboxStore,
    ledger: &LedgerService,
    position: i64,
    limit: u32,
) -> Result<Vec<OutboxEvent>, String> {
    let journal = outbox.journal_after(position, limit).await.map_err(|e| e.to_string())?;
    let mut events = Vec::with_capacity(journal.len());
    for c in &journal {
        let debit = ledger.owner_of(c.transfer.debit_account_id).await.map_err(|e| e.to_string())?;
        let credit = ledger.owner_of(c.transfer.credit_account_id).await.map_err(|e| e.to_string())?;
        events.push(transfer_event(c, &debit, &credit));
    }
    Ok(events)
}

/// Publishes what is after the cursor, then moves the cursor. Returns how many were sent.
pub async fn relay_once(
    outbox: &dyn OutboxStore,
    ledger: &LedgerService,
    bus: &dyn PubSub,
    batch: u32,
) -> Result<usize, String> {
    let cursor = outbox.cursor(CONSUMER).await.map_err(|e| e.to_string())?;
    let events = events_after(outbox, ledger, cursor, batch).await?;
    let Some(last) = events.last().map(|e| e.position) else {
        metrics::gauge!("ledger_outbox_backlog").set(0.0);
        return Ok(0);
    };
    // One message per chunk of events (in position order), not one per event: at thousands of
    // transfers a second, a round trip to Redis per event costs more than the work it reports.
    for chunk in events.chunks(100) {
        let list = chunk.iter().map(wire).collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())?;
        let message = serde_json::to_string(&Message { events: list }).map_err(|e| e.to_string())?;
        bus.publish(CHANNEL, message.as_bytes()).await.map_err(|e| e.to_string())?;
    }
    outbox.set_cursor(CONSUMER, last).await.map_err(|e| e.to_string())?;
    let head = outbox.last_position().await.map_err(|e| e.to_string())?;
    metrics::gauge!("ledger_outbox_backlog").set((head - last).max(0) as f64);
    metrics::counter!("ledger_outbox_delivered_total").increment(events.len() as u64);
    Ok(events.len())
}

pub async fn relay_outbox(
    outbox: Arc<dyn OutboxStore>,
    ledger: Arc<LedgerService>,
    bus: Arc<dyn PubSub>,
    leases: Arc<dyn LeaseStore>,
    holder: String,
    every: Duration,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let (outbox, ledger, bus) = (outbox.as_ref(), ledger.as_ref(), bus.as_ref());
    // Drains while there is a backlog; then waits for the next tick.
    LeaseLoop::new(LEASE, leases, holder, every)
        .run(stop, move || async move {
            while relay_once(outbox, ledger, bus, 500).await? == 500 {}
            Ok::<_, String>(())
        })
        .await
}
