//! Delivers the outbox to the pub/sub bus (Redis in production, in-process in the embedded
//! default), at least once, in position order; one instance at a time (lease). Each message is
//! `{"events": [...]}` with one or more events; subscribers (realtime updates, webhooks,
//! notifications) dedupe by event id.

use crate::LedgerService;
use crate::lease_loop::LeaseLoop;
use pb_domain::ledger::outbox::{OutboxEvent, transfer_event};
use pb_domain::ledger::store::OutboxStore;
use pb_domain::{LeaseStore, PubSub};
use std::sync::Arc;
use std::time::Duration;

pub const LEASE: &str = "ledger-outbox-relay";
pub const CONSUMER: &str = "pubsub";
/// The channel every ledger event is published on.
pub const CHANNEL: &str = "ledger.events";

/// One message: `{"events": [{"id", "type", "position", "created", "data"}, …]}`, written
/// straight into bytes. Each event's payload is already JSON (`transfer_event` printed it with
/// serde_json), so it goes in as it is. Embedding it as a `RawValue` parsed it back first, to
/// check text this process had just printed: with printing the message, about a tenth of the
/// server's instructions per transfer went to the relay's JSON (bench/RESULTS.md).
fn message(events: &[OutboxEvent]) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(events.iter().map(|e| e.payload.len() + 96).sum::<usize>() + 16);
    out.extend_from_slice(b"{\"events\":[");
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"id\":");
        serde_json::to_writer(&mut out, &e.id)?;
        out.extend_from_slice(b",\"type\":");
        serde_json::to_writer(&mut out, &e.kind)?;
        out.extend_from_slice(
            format!(",\"position\":{},\"created\":{},\"data\":", e.position, e.created_at).as_bytes(),
        );
        // `transfer_event` is the one maker of events, and prints payloads with serde_json;
        // the tests' builds check that it still does.
        debug_assert!(serde_json::from_str::<&serde_json::value::RawValue>(&e.payload).is_ok());
        out.extend_from_slice(e.payload.as_bytes());
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
    Ok(out)
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
        let message = message(chunk).map_err(|e| e.to_string())?;
        bus.publish(CHANNEL, &message).await.map_err(|e| e.to_string())?;
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn event(position: i64, payload: &str) -> OutboxEvent {
        OutboxEvent {
            position,
            id: format!("evt_{position}"),
            kind: "transfer.posted".into(),
            payload: payload.into(),
            created_at: 1_700_000_000_000 + position,
        }
    }

    /// The bytes are what serde_json prints for the same message, field for field: subscribers
    /// parse it as JSON, and nothing about the shape changed when it stopped being printed by
    /// serde.
    #[test]
    fn a_message_is_the_json_subscribers_expect() {
        let events = [
            event(7, r#"{"transfer":{"id":"t1","amount":"1050"},"owners":["usr_a","usr_b"]}"#),
            event(8, r#"{"transfer":{"description":"caf\u00e9 \"quoted\""},"owners":["bank","usr_\u2603"]}"#),
        ];
        let written = message(&events).unwrap();
        let expected = serde_json::json!({"events": events.iter().map(|e| serde_json::json!({
            "id": e.id, "type": e.kind, "position": e.position, "created": e.created_at,
            "data": serde_json::from_str::<serde_json::Value>(&e.payload).unwrap(),
        })).collect::<Vec<_>>()});
        let parsed: serde_json::Value = serde_json::from_slice(&written).unwrap();
        assert_eq!(parsed, expected);
        // Key order and spacing as serde_json prints a struct, so a byte-level consumer sees
        // no change either.
        assert!(std::str::from_utf8(&written).unwrap().starts_with(
            r#"{"events":[{"id":"evt_7","type":"transfer.posted","position":7,"created":1700000000007,"data":{"transfer":"#
        ));
        assert_eq!(message(&[]).unwrap(), br#"{"events":[]}"#);
    }
}
