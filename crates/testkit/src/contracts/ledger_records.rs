//! The contract for the ledger's side records: outbox, statements, adjustments.

use super::ledger::{customer, one, transfer};
use pb_domain::ledger::Amount;
use pb_domain::ledger::account::AccountId;
use pb_domain::ledger::adjustment::{Adjustment, AdjustmentStatus, Decision, Direction};
use pb_domain::ledger::asset::AssetCode;
use pb_domain::ledger::store::{AdjustmentStore, Created, LedgerStore, OutboxStore};
use pb_domain::ledger::transfer::TransferId;

async fn open(store: &dyn LedgerStore, owner: &str) -> AccountId {
    match store.create_account(customer(owner, "USD"), None).await.unwrap() {
        Created::New(a) => a.id,
        other => panic!("{other:?}"),
    }
}

/// The outbox is the journal: every committed transfer is one row after the cursor, in commit
/// order, and its event names both accounts' owners; failed transfers have none; cursors only
/// move forward.
pub async fn outbox_has_one_event_per_committed_transfer<S: LedgerStore + OutboxStore>(store: &S) {
    let usd = AssetCode::parse("USD").unwrap();
    let world = store.system_account("sandbox_world", &usd, 1).await.unwrap();
    let a = open(store, "usr_a").await;
    let b = open(store, "usr_b").await;
    assert_eq!(store.last_position().await.unwrap(), 0);
    let mut hold = transfer(a, b, 5);
    hold.flags.pending = true;
    let commands = vec![
        one(transfer(world.id, a, 100)),
        one(transfer(a, b, 1_000)), // insufficient funds: no event
        one(transfer(a, b, 30)),
        one(hold.clone()),
    ];
    store.execute(&commands, 10).await.unwrap();
    let mut events = Vec::new();
    for c in store.journal_after(0, 100).await.unwrap() {
        let owner = |id| async move { store.account(id).await.unwrap().unwrap().owner };
        let (d, k) = (owner(c.transfer.debit_account_id).await, owner(c.transfer.credit_account_id).await);
        events.push(pb_domain::ledger::outbox::transfer_event(&c, &d, &k));
    }
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["transfer.posted", "transfer.posted", "transfer.pending"]);
    assert_eq!(events.iter().map(|e| e.position).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(events[2].id, format!("evt_{}", hold.id.0.simple()));
    let payload: serde_json::Value = serde_json::from_str(&events[1].payload).unwrap();
    assert_eq!(payload["owners"], serde_json::json!(["usr_a", "usr_b"]));
    assert_eq!(store.last_position().await.unwrap(), 3);
    assert_eq!(store.journal_after(2, 100).await.unwrap().len(), 1);

    assert_eq!(store.cursor("relay").await.unwrap(), 0);
    store.set_cursor("relay", 2).await.unwrap();
    store.set_cursor("relay", 1).await.unwrap();
    assert_eq!(store.cursor("relay").await.unwrap(), 2, "a cursor never moves back");
}

/// Each instance serves the outbox from the rows it committed itself (recent_journal.rs) and
/// the database for the rest: with two instances writing in turn, each reads, from any
/// position and with any limit, exactly the rows an instance that wrote nothing reads from the
/// database alone.
pub async fn the_outbox_reads_alike_on_every_instance<S: LedgerStore + OutboxStore>(a: &S, b: &S, reader: &S) {
    let usd = AssetCode::parse("USD").unwrap();
    let world = a.system_account("sandbox_world", &usd, 1).await.unwrap();
    let x = open(a, "usr_a").await;
    let y = open(a, "usr_b").await;
    let mut described = transfer(x, y, 3);
    described.description = Some("rent, \"May\"".into());
    described.metadata = [("invoice".to_owned(), "42".to_owned())].into();
    let mut hold = transfer(y, x, 4);
    hold.flags.pending = true;
    // Rows 1-2 by a, 3 by b, 4-5 by a, 6 by b.
    a.execute(&[one(transfer(world.id, x, 100)), one(transfer(world.id, y, 100))], 10).await.unwrap();
    b.execute(&[one(transfer(x, y, 1))], 11).await.unwrap();
    a.execute(&[one(transfer(y, x, 2)), one(described)], 12).await.unwrap();
    b.execute(&[one(hold)], 13).await.unwrap();
    let all = reader.journal_after(0, 100).await.unwrap();
    assert_eq!(all.iter().map(|c| c.seq).collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6]);
    for (name, s) in [("a", a), ("b", b), ("reader", reader)] {
        for position in 0..=6 {
            for limit in [1, 2, 3, 100] {
                let expected: Vec<_> = all.iter().skip(position).take(limit).cloned().collect();
                let read = s.journal_after(position as i64, limit as u32).await.unwrap();
                assert_eq!(read, expected, "instance {name}, after {position}, limit {limit}");
            }
        }
    }
}

/// Statement lines are posted movements in a time range, in commit order; holds are not lines.
pub async fn statements_read_posted_movements_by_time(store: &dyn LedgerStore) {
    let usd = AssetCode::parse("USD").unwrap();
    let world = store.system_account("sandbox_world", &usd, 1).await.unwrap();
    let a = open(store, "usr_a").await;
    let b = open(store, "usr_b").await;
    let at = |ms: i64, t| async move { store.execute(&[one(t)], ms).await.unwrap() };
    at(1_000, transfer(world.id, a, 500)).await;
    at(2_000, transfer(a, b, 100)).await;
    let mut hold = transfer(a, b, 50);
    hold.flags.pending = true;
    hold.timeout_ms = Some(60_000);
    at(2_500, hold).await;
    at(3_000, transfer(b, a, 40)).await;

    assert!(store.last_posted_before(a, 1_000).await.unwrap().is_none());
    let before = store.last_posted_before(a, 2_000).await.unwrap().unwrap();
    assert_eq!(before.credit_balance_after, Some(500));
    let lines = store.posted_between(a, 2_000, 10_000, 100).await.unwrap();
    assert_eq!(lines.iter().map(|t| t.amount).collect::<Vec<_>>(), [100, 40], "the hold is not a line");
    assert_eq!(lines[1].credit_balance_after, Some(440));
    assert_eq!(store.posted_between(a, 0, 10_000, 2).await.unwrap().len(), 2, "limit");
    assert!(store.posted_between(a, 3_001, 10_000, 100).await.unwrap().is_empty());
}

fn proposal(account_id: AccountId, maker: &str) -> Adjustment {
    Adjustment {
        id: pb_domain::identity::ids::new_id("adj"),
        account_id,
        asset: AssetCode::parse("USD").unwrap(),
        amount: Amount::new(250).unwrap(),
        direction: Direction::Credit,
        reason: "refund of a duplicated card fee".into(),
        corrects: Some(TransferId::new()),
        status: AdjustmentStatus::PendingApproval,
        maker: maker.into(),
        checker: None,
        transfer_id: None,
        failure: None,
        created_at: 5,
        decided_at: None,
    }
}

/// Adjustments round-trip, list newest first by status, and are decided exactly once.
pub async fn adjustments_are_decided_once<S: LedgerStore + AdjustmentStore>(store: &S) {
    let a = open(store, "usr_a").await;
    let first = proposal(a, "usr_maker");
    let second = proposal(a, "usr_maker");
    store.create_adjustment(&first).await.unwrap();
    store.create_adjustment(&second).await.unwrap();
    assert_eq!(store.adjustment(&first.id).await.unwrap().as_ref(), Some(&first));
    assert!(store.adjustment("adj_missing").await.unwrap().is_none());
    let pending = store.adjustments(Some(AdjustmentStatus::PendingApproval), None, 10).await.unwrap();
    assert_eq!(pending.iter().map(|x| x.id.as_str()).collect::<Vec<_>>(), [&second.id, &first.id]);
    let after = store.adjustments(None, Some(&second.id), 10).await.unwrap();
    assert_eq!(after.len(), 1);

    let posted = Decision {
        status: AdjustmentStatus::Posted,
        checker: "usr_checker".into(),
        transfer_id: Some(TransferId::new()),
        failure: None,
        decided_at: 9,
    };
    assert!(store.decide_adjustment(&first.id, &posted).await.unwrap());
    let rejected = Decision { status: AdjustmentStatus::Rejected, transfer_id: None, ..posted.clone() };
    assert!(!store.decide_adjustment(&first.id, &rejected).await.unwrap(), "decided once");
    let stored = store.adjustment(&first.id).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.checker.as_deref()), (AdjustmentStatus::Posted, Some("usr_checker")));
    assert_eq!(stored.transfer_id, posted.transfer_id);

    let own = Decision { checker: "usr_maker".into(), ..rejected };
    assert!(store.decide_adjustment(&second.id, &own).await.is_err(), "the database refuses a maker as checker");
    assert_eq!(store.adjustments(Some(AdjustmentStatus::Posted), None, 10).await.unwrap().len(), 1);
}
