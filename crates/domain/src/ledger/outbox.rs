//! Events for the outside world (ledger.md, "Exactly once"): one per committed transfer,
//! delivered at least once by a relay. Consumers dedupe by `id`.
//!
//! The journal is the outbox. An event is derived from its journal row (and the owners of its
//! two accounts) when the relay reads it, so it is committed in the transfer's own transaction
//! by construction, and nothing is written twice: a separate outbox row per transfer cost
//! about a tenth of the database's work per batch, all of it under the journal head's lock.
//!
//! An event's `position` is its transfer's journal `seq`. Seqs are handed out under the
//! journal head's row lock, which is held to commit, so positions become visible in order:
//! a relay that reads "after my cursor" never skips an event committed later with a lower
//! position (the trap of outboxes keyed by a plain sequence).

use super::store::ChainedTransfer;
use super::transfer::Transfer;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEvent {
    pub position: i64,
    /// `evt_<transfer uuid hex>`: stable, so a redelivery carries the same id.
    pub id: String,
    /// `transfer.posted`, `transfer.pending`, `transfer.captured` or `transfer.voided`.
    pub kind: String,
    /// JSON: `{"transfer": …, "owners": [debit owner, credit owner]}`.
    pub payload: String,
    pub created_at: i64,
}

pub fn kind_of(t: &Transfer) -> &'static str {
    match (t.flags.pending, t.flags.post_pending, t.flags.void_pending) {
        (true, _, _) => "transfer.pending",
        (_, true, _) => "transfer.captured",
        (_, _, true) => "transfer.voided",
        _ => "transfer.posted",
    }
}

/// The event for a committed journal row, given the owners of its debit and credit accounts.
pub fn transfer_event(c: &ChainedTransfer, debit_owner: &str, credit_owner: &str) -> OutboxEvent {
    let t = &c.transfer;
    // Serialized straight from the types: the relay handles every transfer, and building a
    // `serde_json::Value` tree first cost more than the rest of the event.
    #[derive(Serialize)]
    struct Payload<'a> {
        transfer: &'a Transfer,
        owners: [&'a str; 2],
    }
    let payload = Payload { transfer: t, owners: [debit_owner, credit_owner] };
    OutboxEvent {
        position: c.seq,
        id: format!("evt_{}", t.id.0.simple()),
        kind: kind_of(t).to_owned(),
        payload: serde_json::to_string(&payload).unwrap_or_else(|_| "{}".to_owned()),
        created_at: t.created_at,
    }
}
