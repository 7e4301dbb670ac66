//! Property test of the ledger's write path as production runs it (issue 4, "Done when"):
//! random steps of account openings, transfers, holds, captures, voids, linked chains, batches,
//! retries under `Idempotency-Key` (alone and three at once), closes, waits and the expiry
//! worker, sent at once through the micro-batcher to a real store (SQLite; PostgreSQL with its
//! view of the ledger and its pipelined batches, as one instance and as two on one database),
//! and the same steps applied to a plain reference model (crates/domain/tests/reference). After
//! every step each account's four counters and flags must equal the model's and the ledger's
//! invariants must hold; at the end `verify` (the hash chain included) must pass, and every
//! account's history must hold its transfers.
//!
//! Operations sent at once touch different customer accounts and holds (the outside world's
//! accounts have no limit, so operations on them commute): whatever order the batcher gives
//! them, the model's order gives the same outcome. Cases: `PB_MODEL_CASES` (default 12 of each
//! kind).
#![allow(clippy::unwrap_used)]

mod ops;
// The reference model is the engine's property test's too (crates/domain/tests/ledger_model.rs).
#[path = "../../../domain/tests/reference/mod.rs"]
mod reference;

use chrono::{DateTime, Utc};
use futures::future::join_all;
use ops::{Op, steps};
use pb_domain::ledger::account::AccountId;
use pb_domain::ledger::asset::{AssetCode, AssetRegistry};
use pb_domain::ledger::store::{AdjustmentStore, CloseOutcome, Command, CommandOutcome, Created, Idempotency};
use pb_domain::ledger::store::{LedgerStore, Results};
use pb_domain::ledger::transfer::{TransferError, TransferId, TransferRequest};
use pb_domain::ledger::verify::verify;
use pb_domain::{Clock, Environment, identity::store::IdentityStore};
use pb_ledger::{Batcher, BatcherSettings, LedgerService};
use pb_testkit::contracts::ledger::{customer, transfer};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use reference::Reference;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

const OWNER: &str = "usr_model";
const WORLDS: usize = 2; // accounts 0 and 1: the outside world in USD and in EUR
const MAX_ACCOUNTS: usize = 12;

#[derive(Debug)]
struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.0.load(Ordering::SeqCst)).unwrap()
    }
}

/// What the ledger must answer to one command.
#[derive(Debug)]
enum Expect {
    /// Executed, with these outcomes; a keyed command's answer is remembered for retries.
    Codes(Vec<Result<(), TransferError>>),
    /// Sent three times at once: one executes with these outcomes, two replay its answer.
    Thrice(Vec<Result<(), TransferError>>),
    Replay(Results),
    KeyReused,
}

struct Case {
    /// Instances on one database, each with its own store (on PostgreSQL, its own view of the
    /// ledger) and batcher; `store` and `batcher` are the first's.
    stores: Vec<Arc<dyn LedgerStore>>,
    batchers: Vec<Batcher>,
    store: Arc<dyn LedgerStore>,
    service: LedgerService,
    batcher: Batcher,
    clock: Arc<TestClock>,
    model: Reference,
    ids: Vec<AccountId>,
    holds: Vec<TransferId>,
    /// Keyed commands and their first answers.
    keyed: Vec<(Command, Results)>,
    /// Keys of account openings.
    openings: Vec<Idempotency>,
    keys: usize,
}

fn codes(results: &Results) -> Vec<Result<(), TransferError>> {
    results.iter().map(|r| r.as_ref().map(|_| ()).map_err(|e| *e)).collect()
}

/// A hold by number: one of those placed, or (one past the last) a transfer that does not exist.
fn hold_ref(n: usize, holds: usize) -> Option<usize> {
    let n = n % (holds + 1);
    (n < holds).then_some(n)
}

impl Case {
    async fn start<S>(instances: Vec<Arc<S>>) -> Self
    where
        S: LedgerStore + AdjustmentStore + IdentityStore,
    {
        let clock = Arc::new(TestClock(AtomicI64::new(1_700_000_000_000)));
        let stores: Vec<Arc<dyn LedgerStore>> = instances.iter().map(|s| s.clone() as Arc<dyn LedgerStore>).collect();
        let batchers: Vec<Batcher> =
            stores.iter().map(|s| Batcher::start(s.clone(), clock.clone(), BatcherSettings::default())).collect();
        let (store, batcher) = (instances[0].clone(), batchers[0].clone());
        let service = LedgerService::new(
            store.clone(),
            store.clone(),
            store.clone(),
            batcher.clone(),
            clock.clone(),
            AssetRegistry::default(),
            Environment::Development,
        );
        let mut case = Case {
            stores,
            batchers,
            store,
            service,
            batcher,
            clock,
            model: Reference::default(),
            ids: Vec::new(),
            holds: Vec::new(),
            keyed: Vec::new(),
            openings: Vec::new(),
            keys: 0,
        };
        for asset in ["USD", "EUR"] {
            let world = case.store.system_account("sandbox_world", &AssetCode::parse(asset).unwrap(), 1).await.unwrap();
            case.ids.push(world.id);
            case.model.open(asset, false);
        }
        for asset in ["USD", "USD", "USD", "EUR"] {
            let Created::New(a) = case.store.create_account(customer(OWNER, asset), None).await.unwrap() else {
                panic!("a new account")
            };
            let i = case.model.open(asset, true);
            case.ids.push(a.id);
            let world = usize::from(asset == "EUR");
            case.model.transfer(world, i, 1_000, None, 0).unwrap();
            let out = case
                .batcher
                .submit(Command { idempotency: None, requests: vec![transfer(case.ids[world], a.id, 1_000)] });
            assert!(matches!(out.await.unwrap(), CommandOutcome::Executed(r) if r[0].is_ok()));
        }
        case
    }

    fn now(&self) -> i64 {
        self.clock.0.load(Ordering::SeqCst)
    }

    fn account(&self, n: usize) -> usize {
        n % self.model.accounts.len()
    }

    fn key(&mut self) -> Idempotency {
        self.keys += 1;
        Idempotency {
            owner: OWNER.into(),
            key: format!("key-{}", self.keys),
            fingerprint: format!("body-{}", self.keys).into(),
        }
    }

    /// Customer accounts and holds `op` touches (`None`: it runs alone).
    fn touches(&self, op: &Op) -> Option<BTreeSet<(u8, usize)>> {
        let accounts = |list: &[usize]| -> BTreeSet<(u8, usize)> {
            list.iter().map(|&n| self.account(n)).filter(|&i| i >= WORLDS).map(|i| (0, i)).collect()
        };
        let hold = |n: usize| -> BTreeSet<(u8, usize)> {
            match hold_ref(n, self.holds.len()).and_then(|h| self.model.hold_accounts(h).map(|a| (h, a))) {
                Some((h, [from, to])) => {
                    [(1, h), (0, from), (0, to)].into_iter().filter(|t| t.0 == 1 || t.1 >= WORLDS).collect()
                }
                None => BTreeSet::new(),
            }
        };
        match op {
            _ if op.alone() => None,
            Op::Transfer { from, to, .. } | Op::Thrice { from, to, .. } => Some(accounts(&[*from, *to])),
            Op::Post { hold: n, .. } | Op::Void { hold: n } => Some(hold(*n)),
            Op::Linked(legs) | Op::Batch(legs) => {
                Some(accounts(&legs.iter().flat_map(|&(f, t, _)| [f, t]).collect::<Vec<_>>()))
            }
            _ => Some(BTreeSet::new()),
        }
    }

    /// The command for `op` and what it must answer, the model moved as the ledger must.
    /// Holds are named as they were before the group: one placed in the same group is sent with
    /// it, and may not exist yet when a resolution beside it runs.
    fn prepare(&mut self, op: &Op, holds: usize) -> Option<(Command, Expect)> {
        let now = self.now();
        match op {
            Op::Transfer { from, to, amount, hold, keyed } => {
                let (from, to) = (self.account(*from), self.account(*to));
                let mut r = transfer(self.ids[from], self.ids[to], *amount);
                r.flags.pending = hold.is_some();
                r.timeout_ms = *hold;
                let expect = self.model.transfer(from, to, *amount, *hold, now);
                if expect.is_ok() && hold.is_some() {
                    self.holds.push(r.id);
                }
                let idempotency = keyed.then(|| self.key());
                Some((Command { idempotency, requests: vec![r] }, Expect::Codes(vec![expect])))
            }
            Op::Thrice { from, to, amount } => {
                let (from, to) = (self.account(*from), self.account(*to));
                let r = transfer(self.ids[from], self.ids[to], *amount);
                let expect = self.model.transfer(from, to, *amount, None, now);
                Some((Command { idempotency: Some(self.key()), requests: vec![r] }, Expect::Thrice(vec![expect])))
            }
            Op::Post { hold: n, amount } => Some(self.resolution(hold_ref(*n, holds), Some(*amount))),
            Op::Void { hold: n } => Some(self.resolution(hold_ref(*n, holds), None)),
            Op::Linked(legs) | Op::Batch(legs) => {
                let atomic = matches!(op, Op::Linked(_));
                let legs: Vec<_> = legs.iter().map(|&(f, t, a)| (self.account(f), self.account(t), a)).collect();
                let requests = legs
                    .iter()
                    .enumerate()
                    .map(|(i, &(f, t, a))| {
                        let mut r = transfer(self.ids[f], self.ids[t], a);
                        r.flags.linked = atomic && i + 1 < legs.len();
                        r
                    })
                    .collect();
                let expect = if atomic {
                    self.model.linked(&legs, now)
                } else {
                    legs.iter().map(|&(f, t, a)| self.model.transfer(f, t, a, None, now)).collect()
                };
                Some((Command { idempotency: Some(self.key()), requests }, Expect::Codes(expect)))
            }
            Op::KeyOfOpening { which } => {
                // Fingerprints cover the method and path (crates/api idempotency.rs): a
                // transfer's never equals an opening's.
                let opening = self.openings.get(which % self.openings.len().max(1))?;
                let key = Idempotency { fingerprint: b"a transfer".to_vec(), ..opening.clone() };
                let r = transfer(self.ids[WORLDS], self.ids[WORLDS + 1], 1);
                Some((Command { idempotency: Some(key), requests: vec![r] }, Expect::KeyReused))
            }
            Op::Retry { which, same_body } => {
                if self.keyed.is_empty() {
                    return None;
                }
                let (first, answer) = self.keyed[which % self.keyed.len()].clone();
                let mut idempotency = first.idempotency?;
                if !same_body {
                    idempotency.fingerprint.push(b'!');
                }
                // A retry is a new request with the same body: new transfer ids, which must
                // not be used.
                let requests =
                    first.requests.into_iter().map(|r| TransferRequest { id: TransferId::new(), ..r }).collect();
                let expect = if *same_body { Expect::Replay(answer) } else { Expect::KeyReused };
                Some((Command { idempotency: Some(idempotency), requests }, expect))
            }
            _ => None,
        }
    }

    fn resolution(&mut self, hold: Option<usize>, post: Option<Option<u128>>) -> (Command, Expect) {
        let now = self.now();
        let (pending_id, [from, to]) = match hold.and_then(|h| self.model.hold_accounts(h).map(|a| (h, a))) {
            Some((h, accounts)) => (self.holds[h], accounts),
            None => (TransferId::new(), [WORLDS, WORLDS + 1]),
        };
        let mut r = transfer(self.ids[from], self.ids[to], 1);
        r.amount = post.flatten().map(|a| pb_domain::ledger::Amount::new(a).unwrap());
        r.flags.post_pending = post.is_some();
        r.flags.void_pending = post.is_none();
        r.pending_id = Some(pending_id);
        let expect = match hold {
            Some(h) => self.model.resolve(h, post, now),
            None => Err(TransferError::PendingTransferNotFound),
        };
        (Command { idempotency: None, requests: vec![r] }, Expect::Codes(vec![expect]))
    }

    /// Sends the commands of operations that touch nothing in common, all at once.
    async fn send(&mut self, ops: &[Op]) -> Result<(), TestCaseError> {
        let holds = self.holds.len();
        let prepared: Vec<(Command, Expect)> = ops.iter().filter_map(|op| self.prepare(op, holds)).collect();
        let sends = prepared.iter().flat_map(|(c, e)| {
            let copies = if matches!(e, Expect::Thrice(_)) { 3 } else { 1 };
            (0..copies).map(|_| c.clone())
        });
        // Round the instances: copies of one command, and commands sent together, go to
        // different ones.
        let sends = sends.enumerate().map(|(k, c)| self.batchers[k % self.batchers.len()].submit(c));
        let mut answers = join_all(sends).await.into_iter();
        for (command, expect) in prepared {
            let answer = answers.next().unwrap().unwrap();
            match expect {
                Expect::Codes(want) => {
                    let CommandOutcome::Executed(results) = answer else {
                        return Err(TestCaseError::fail(format!("{command:?}: {answer:?}")));
                    };
                    prop_assert_eq!(codes(&results), want, "{:?}", command);
                    if command.idempotency.is_some() {
                        self.keyed.push((command, results));
                    }
                }
                Expect::Thrice(want) => {
                    let all = [answer, answers.next().unwrap().unwrap(), answers.next().unwrap().unwrap()];
                    let executed: Vec<&Results> = all
                        .iter()
                        .filter_map(|a| if let CommandOutcome::Executed(r) = a { Some(r) } else { None })
                        .collect();
                    prop_assert_eq!(executed.len(), 1, "one of three executes: {:?}", all);
                    let results = executed[0].clone();
                    prop_assert_eq!(codes(&results), want);
                    for a in &all {
                        prop_assert!(
                            matches!(a, CommandOutcome::Executed(r) | CommandOutcome::Replayed(r) if *r == results),
                            "{:?}",
                            all
                        );
                    }
                    self.keyed.push((command, results));
                }
                Expect::Replay(first) => prop_assert_eq!(answer, CommandOutcome::Replayed(first)),
                Expect::KeyReused => prop_assert_eq!(answer, CommandOutcome::KeyReused),
            }
        }
        Ok(())
    }

    async fn alone(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match op {
            Op::Open { eur } => {
                if self.model.accounts.len() >= MAX_ACCOUNTS {
                    return Ok(());
                }
                let asset = if *eur { "EUR" } else { "USD" };
                let key = self.key();
                let store = &self.stores[self.keys % self.stores.len()];
                let Created::New(a) = store.create_account(customer(OWNER, asset), Some(key.clone())).await.unwrap()
                else {
                    return Err(TestCaseError::fail("a new account"));
                };
                let again = self.store.create_account(customer(OWNER, asset), Some(key.clone())).await.unwrap();
                prop_assert_eq!(again, Created::Replayed(a.clone()), "the same key and body: the same account");
                self.openings.push(key.clone());
                let other = Idempotency { fingerprint: b"another body".to_vec(), ..key };
                prop_assert_eq!(
                    self.store.create_account(customer(OWNER, asset), Some(other)).await.unwrap(),
                    Created::KeyReused
                );
                self.model.open(asset, true);
                self.ids.push(a.id);
            }
            Op::Close { account } => {
                let i = self.account(*account);
                let was_closed = self.model.accounts[i].closed;
                let want = self.model.close(i);
                let got = self.stores[i % self.stores.len()].close_account(self.ids[i]).await.unwrap();
                match got {
                    CloseOutcome::Closed(_) => prop_assert!(want),
                    CloseOutcome::AlreadyClosed => prop_assert!(!want && was_closed),
                    CloseOutcome::NotEmpty => prop_assert!(!want && !was_closed),
                    CloseOutcome::NotFound => return Err(TestCaseError::fail("account not found")),
                }
            }
            Op::Wait(ms) => {
                self.clock.0.fetch_add(*ms, Ordering::SeqCst);
            }
            Op::Expire => {
                let now = self.now();
                let expired = self.model.expired(now);
                let voided = self.service.void_expired(100).await.unwrap();
                prop_assert_eq!(voided, expired.len(), "holds past their timeout");
                for h in expired {
                    self.model.resolve(h, None, now).unwrap();
                }
            }
            _ => unreachable!("only operations that run alone"),
        }
        Ok(())
    }

    /// Each account as the model has it, and the ledger's invariants on what the store holds.
    async fn check(&self) -> Result<(), TestCaseError> {
        let mut sums: std::collections::BTreeMap<String, [u128; 4]> = Default::default();
        for (i, id) in self.ids.iter().enumerate() {
            let a = self.store.account(*id).await.unwrap().unwrap();
            let want = &self.model.accounts[i];
            prop_assert_eq!(a.balances, want.balances, "account {}", i);
            prop_assert_eq!(a.flags.closed, want.closed, "account {} closed", i);
            let b = a.balances;
            if a.flags.debits_must_not_exceed_credits {
                prop_assert!(b.debits_posted + b.debits_pending <= b.credits_posted, "account {} overdrawn", i);
            }
            let s = sums.entry(a.asset.to_string()).or_default();
            for (sum, v) in s.iter_mut().zip([b.debits_posted, b.credits_posted, b.debits_pending, b.credits_pending]) {
                *sum += v;
            }
        }
        for (asset, [dq, cq, dp, cp]) in sums {
            prop_assert_eq!(dq, cq, "{} posted debits and credits", &asset);
            prop_assert_eq!(dp, cp, "{} pending debits and credits", &asset);
        }
        Ok(())
    }

    async fn run(&mut self, steps: &[Vec<Op>]) -> Result<(), TestCaseError> {
        for step in steps {
            // At once: the longest runs of operations that touch nothing in common.
            let mut group: Vec<Op> = Vec::new();
            let mut taken = BTreeSet::new();
            for op in step {
                let touches = self.touches(op);
                let fits = touches.as_ref().is_some_and(|t| t.is_disjoint(&taken));
                if !fits && !group.is_empty() {
                    self.send(&std::mem::take(&mut group)).await?;
                    taken.clear();
                    self.check().await?;
                }
                match self.touches(op) {
                    Some(t) => {
                        taken.extend(t);
                        group.push(op.clone());
                    }
                    None => {
                        self.alone(op).await?;
                        self.check().await?;
                    }
                }
            }
            if !group.is_empty() {
                self.send(&group).await?;
                self.check().await?;
            }
        }
        self.finish().await
    }

    /// The hash-chained journal verifies and holds every transfer; each account's history
    /// holds every transfer that names it, once.
    async fn finish(&self) -> Result<(), TestCaseError> {
        let (accounts, journal) = self.store.verification_data().await.unwrap();
        let report = verify(&accounts, &journal);
        prop_assert!(report.ok(), "{:?}", report.problems);
        prop_assert_eq!(report.transfers, self.model.rows);
        for (i, id) in self.ids.iter().enumerate() {
            let mut seen = BTreeSet::new();
            let mut after = None;
            loop {
                let page = self.store.account_transfers(*id, after, 7).await.unwrap();
                let Some(last) = page.last() else { break };
                after = Some(last.id);
                for t in &page {
                    prop_assert!(seen.insert(t.id), "transfer {} twice in the history of account {}", t.id.0, i);
                }
            }
            prop_assert_eq!(seen.len(), self.model.accounts[i].rows, "history of account {}", i);
        }
        Ok(())
    }
}

fn config() -> ProptestConfig {
    let cases = std::env::var("PB_MODEL_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(12);
    // Each case is a fresh database: shrinking a failure is worth some of them, not thousands.
    ProptestConfig { cases, max_shrink_iters: 64, ..ProptestConfig::default() }
}

async fn on_postgres(instances: usize, steps: &[Vec<Op>]) -> Result<(), TestCaseError> {
    let url = pb_testkit::postgres::fresh_database().await;
    let connect = || {
        Arc::new(
            pb_store_postgres::PgStore::connect(&pb_store_postgres::PgStoreOptions {
                primary_url: &url,
                replica_url: None,
                max_connections: 5,
                batch_connections: 2,
                acquire_timeout: std::time::Duration::from_secs(5),
                ledger_view_accounts: 1000,
            })
            .unwrap(),
        )
    };
    let stores: Vec<_> = (0..instances).map(|_| connect()).collect();
    pb_domain::Store::migrate(stores[0].as_ref()).await.unwrap();
    let outcome = Case::start(stores).await.run(steps).await;
    pb_testkit::postgres::drop_database(&url).await;
    outcome
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn sqlite_matches_the_reference_model(steps in steps()) {
        runtime().block_on(async {
            let dir = pb_testkit::TempDir::new("ledger-model");
            let store = pb_store_sqlite::SqliteStore::open(&dir.path().join("ledger.db")).await.unwrap();
            pb_domain::Store::migrate(&store).await.unwrap();
            Case::start(vec![Arc::new(store)]).await.run(&steps).await
        })?;
    }

    #[test]
    fn postgres_matches_the_reference_model(steps in steps()) {
        runtime().block_on(on_postgres(1, &steps))?;
    }

    /// Two instances on one database, each deciding batches from its own view of the ledger:
    /// what one commits makes the other's view stale, which PostgreSQL must refuse.
    #[test]
    fn two_postgres_instances_match_the_reference_model(steps in steps()) {
        runtime().block_on(on_postgres(2, &steps))?;
    }
}
