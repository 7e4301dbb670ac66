//! Property test: random sequences of transfers, holds, captures, voids, linked batches and
//! expiries run through the engine and through a deliberately simple reference model; results
//! and balances must agree, and every ledger invariant must hold after every step. At the end
//! the journal (hash-chained) must pass `verify`, and a changed row must fail it.
#![allow(clippy::unwrap_used)]

use pb_domain::ledger::Amount;
use pb_domain::ledger::account::{Account, AccountFlags, AccountId, Balances};
use pb_domain::ledger::asset::AssetCode;
use pb_domain::ledger::engine::{Accounts, Pendings, execute};
use pb_domain::ledger::hash::{GENESIS, chain};
use pb_domain::ledger::store::ChainedTransfer;
use pb_domain::ledger::transfer::{Transfer, TransferError, TransferFlags, TransferId, TransferRequest};
use pb_domain::ledger::verify::{MAX_CLOCK_SKEW_MS, verify};
use proptest::prelude::*;
use reference::Reference;
use std::collections::BTreeMap;

/// Shared with the write path's model test (crates/ledger/tests/model).
mod reference;

const USD_CUSTOMERS: usize = 4; // accounts 0..4: USD, no overdraft
const USD_WORLD: usize = 4; // USD, may go negative: the outside world
const EUR_CUSTOMER: usize = 5;

#[derive(Debug, Clone)]
enum Op {
    Transfer { from: usize, to: usize, amount: u128, hold: Option<i64> },
    Post { hold: usize, amount: Option<u128> },
    Void { hold: usize },
    Linked(Vec<(usize, usize, u128)>),
    Wait(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..6usize, 0..6usize, 1..500u128, proptest::option::of(1_000..5_000i64))
            .prop_map(|(from, to, amount, hold)| Op::Transfer { from, to, amount, hold }),
        2 => (0..8usize, proptest::option::of(1..600u128)).prop_map(|(hold, amount)| Op::Post { hold, amount }),
        1 => (0..8usize).prop_map(|hold| Op::Void { hold }),
        1 => proptest::collection::vec((0..6usize, 0..6usize, 1..300u128), 2..4).prop_map(Op::Linked),
        1 => (500..3_000i64).prop_map(Op::Wait),
    ]
}

fn asset(i: usize) -> &'static str {
    if i == EUR_CUSTOMER { "EUR" } else { "USD" }
}

/// The reference model with the engine's six accounts.
fn six_accounts() -> Reference {
    let mut model = Reference::default();
    for i in 0..6 {
        model.open(asset(i), i != USD_WORLD);
    }
    model
}

fn accounts(ids: &[AccountId]) -> Accounts {
    ids.iter()
        .enumerate()
        .map(|(i, id)| {
            let flags = AccountFlags { debits_must_not_exceed_credits: i != USD_WORLD, ..AccountFlags::default() };
            let a = Account {
                id: *id,
                asset: AssetCode::parse(asset(i)).unwrap(),
                owner: format!("usr_{i}"),
                code: "customer".into(),
                name: format!("account {i}"),
                parent_id: None,
                flags,
                balances: Balances::default(),
                created_at: 0,
                last_seq: None,
            };
            (*id, a)
        })
        .collect()
}

fn request(id: TransferId, debit: AccountId, credit: AccountId, amount: Option<u128>) -> TransferRequest {
    TransferRequest {
        id,
        debit_account_id: debit,
        credit_account_id: credit,
        amount: amount.map(|a| Amount::new(a).unwrap()),
        asset: None,
        code: "test".into(),
        flags: TransferFlags::default(),
        pending_id: None,
        timeout_ms: None,
        description: None,
        metadata: BTreeMap::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_the_reference_model(ops in proptest::collection::vec(op(), 1..60)) {
        let ids: Vec<AccountId> = (0..6).map(|_| AccountId::new()).collect();
        let mut state = accounts(&ids);
        let mut pending = Pendings::new();
        let mut model = six_accounts();
        let mut holds: Vec<TransferId> = Vec::new();
        let mut journal = Vec::new();
        let mut now = 1_000_000i64;

        // Fund the customers from the outside world.
        for c in 0..USD_CUSTOMERS {
            let r = execute(&mut state, &mut pending, &[request(TransferId::new(), ids[USD_WORLD], ids[c], Some(1_000))], now);
            journal.push(r[0].clone().unwrap());
            model.transfer(USD_WORLD, c, 1_000, None, now).unwrap();
        }

        for op in ops {
            let (requests, expected): (Vec<TransferRequest>, Vec<Result<(), TransferError>>) = match &op {
                Op::Transfer { from, to, amount, hold } => {
                    let mut r = request(TransferId::new(), ids[*from], ids[*to], Some(*amount));
                    r.flags.pending = hold.is_some();
                    r.timeout_ms = *hold;
                    let e = model.transfer(*from, *to, *amount, *hold, now);
                    (vec![r], vec![e])
                }
                Op::Post { hold, amount } => {
                    let mut r = request(TransferId::new(), ids[0], ids[1], *amount);
                    r.flags.post_pending = true;
                    r.pending_id = Some(holds.get(*hold).copied().unwrap_or_default());
                    let e = model.resolve(*hold, Some(*amount), now);
                    (vec![r], vec![e])
                }
                Op::Void { hold } => {
                    let mut r = request(TransferId::new(), ids[0], ids[1], None);
                    r.flags.void_pending = true;
                    r.pending_id = Some(holds.get(*hold).copied().unwrap_or_default());
                    let e = model.resolve(*hold, None, now);
                    (vec![r], vec![e])
                }
                Op::Linked(legs) => {
                    let requests: Vec<TransferRequest> = legs.iter().enumerate().map(|(i, (from, to, amount))| {
                        let mut r = request(TransferId::new(), ids[*from], ids[*to], Some(*amount));
                        r.flags.linked = i + 1 < legs.len();
                        r
                    }).collect();
                    (requests, model.linked(legs, now))
                }
                Op::Wait(ms) => {
                    now += ms;
                    continue;
                }
            };
            let results = execute(&mut state, &mut pending, &requests, now);
            prop_assert_eq!(results.len(), expected.len());
            for (r, e) in results.iter().zip(&expected) {
                prop_assert_eq!(r.as_ref().map(|_| ()).map_err(|e| *e), *e, "op {:?}", op);
            }
            for (req, r) in requests.iter().zip(&results) {
                if let Ok(t) = r {
                    if req.flags.pending {
                        holds.push(t.id);
                    }
                    journal.push(t.clone());
                }
            }
            // Balances agree with the model, and the invariants hold.
            for (i, id) in ids.iter().enumerate() {
                let b = state[id].balances;
                prop_assert_eq!(b, model.accounts[i].balances, "account {}", i);
                if i != USD_WORLD {
                    prop_assert!(b.available() >= 0, "account {} overdrawn", i);
                }
            }
            for cur in ["USD", "EUR"] {
                let (mut dp, mut cp, mut dh, mut ch) = (0u128, 0u128, 0u128, 0u128);
                for a in state.values().filter(|a| a.asset.as_str() == cur) {
                    dp += a.balances.debits_posted;
                    cp += a.balances.credits_posted;
                    dh += a.balances.debits_pending;
                    ch += a.balances.credits_pending;
                }
                prop_assert_eq!(dp, cp);
                prop_assert_eq!(dh, ch);
            }
        }

        // The journal recomputes to the same counters, and its hash chain holds.
        let (chained, last) = chain_rows(&journal);
        let final_accounts: Vec<Account> =
            state.values().map(|a| Account { last_seq: last.get(&a.id).copied(), ..a.clone() }).collect();
        let report = verify(&final_accounts, &chained);
        prop_assert!(report.ok(), "{:?}", report.problems);

        let mut tampered = chained.clone();
        tampered[0].transfer.amount += 1;
        prop_assert!(!verify(&final_accounts, &tampered).ok(), "a changed amount is detected");
        let mut dropped = chained.clone();
        dropped.remove(chained.len() / 2);
        prop_assert!(!verify(&final_accounts, &dropped).ok(), "a deleted row is detected");
        let mut unlinked = chained.clone();
        let last_row = unlinked.len() - 1;
        unlinked[last_row].debit_prev = Some(0);
        prop_assert!(!verify(&final_accounts, &unlinked).ok(), "a broken history link is detected");
        let mut moved = final_accounts.clone();
        moved[0].last_seq = Some(i64::MAX);
        prop_assert!(!verify(&moved, &chained).ok(), "an account's wrong history start is detected");
        if journal.len() >= 2 {
            let mut late = journal.clone();
            let n = late.len() - 1;
            late[n].created_at = late[0].created_at - MAX_CLOCK_SKEW_MS - 1;
            let report = verify(&final_accounts, &chain_rows(&late).0);
            prop_assert!(report.problems.iter().any(|p| p.contains("clocks disagree")), "{:?}", report.problems);
        }
    }
}

/// The journal's rows as a store would hold them: hash-chained, each linked back along its
/// two accounts' histories; and each account's last row.
fn chain_rows(journal: &[Transfer]) -> (Vec<ChainedTransfer>, std::collections::HashMap<AccountId, i64>) {
    let mut prev = GENESIS;
    let mut last = std::collections::HashMap::new();
    let rows = journal
        .iter()
        .zip(1i64..)
        .map(|(t, seq)| {
            let hash = chain(&prev, t);
            let row = ChainedTransfer {
                seq,
                transfer: t.clone(),
                prev_hash: prev.to_vec(),
                hash: hash.to_vec(),
                debit_prev: last.insert(t.debit_account_id, seq),
                credit_prev: last.insert(t.credit_account_id, seq),
            };
            prev = hash;
            row
        })
        .collect();
    (rows, last)
}

#[test]
fn an_open_chain_fails_whole_and_changes_nothing() {
    let ids: Vec<AccountId> = (0..6).map(|_| AccountId::new()).collect();
    let mut state = accounts(&ids);
    let mut pending = Pendings::new();
    let before = state.clone();
    let mut a = request(TransferId::new(), ids[USD_WORLD], ids[0], Some(10));
    a.flags.linked = true;
    let mut b = request(TransferId::new(), ids[USD_WORLD], ids[1], Some(10));
    b.flags.linked = true;
    let results = execute(&mut state, &mut pending, &[a, b], 0);
    assert_eq!(results, vec![Err(TransferError::LinkedEventFailed), Err(TransferError::LinkedEventChainOpen)]);
    assert_eq!(state, before);
}

/// The engine keeps no undo copy for a chain's last transfer, since a transfer that fails
/// changes nothing: a chain failing at its end still undoes the transfers (and holds) before
/// it, and a transfer failing on its own leaves every account and hold as it was.
#[test]
fn a_chain_failing_at_its_end_is_undone_and_a_lone_failure_changes_nothing() {
    let ids: Vec<AccountId> = (0..6).map(|_| AccountId::new()).collect();
    let mut state = accounts(&ids);
    let mut pending = Pendings::new();
    let fund = request(TransferId::new(), ids[USD_WORLD], ids[0], Some(100));
    assert!(execute(&mut state, &mut pending, &[fund], 0)[0].is_ok());
    let before = state.clone();

    let mut paid = request(TransferId::new(), ids[0], ids[1], Some(30));
    paid.flags.linked = true;
    let mut held = request(TransferId::new(), ids[0], ids[2], Some(30));
    held.flags.linked = true;
    held.flags.pending = true;
    held.timeout_ms = Some(60_000);
    let too_much = request(TransferId::new(), ids[0], ids[3], Some(41)); // 40 left after the two
    let results = execute(&mut state, &mut pending, &[paid, held, too_much], 0);
    assert_eq!(
        results,
        vec![
            Err(TransferError::LinkedEventFailed),
            Err(TransferError::LinkedEventFailed),
            Err(TransferError::InsufficientFunds)
        ]
    );
    assert_eq!(state, before);
    assert!(pending.is_empty(), "the chain's hold is undone too");

    let lone = request(TransferId::new(), ids[1], ids[0], Some(1));
    assert_eq!(execute(&mut state, &mut pending, &[lone], 0), vec![Err(TransferError::InsufficientFunds)]);
    assert_eq!(state, before);
}
