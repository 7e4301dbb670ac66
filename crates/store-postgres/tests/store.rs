//! The store contract on PostgreSQL, a fresh database per test.
#![allow(clippy::unwrap_used)]

use pb_domain::Store;
use pb_store_postgres::{PgStore, PgStoreOptions};
use pb_testkit::{contracts, postgres};
use std::time::Duration;

#[path = "driver/pipelined.rs"]
mod pipelined;
#[path = "driver/pool_release.rs"]
mod pool_release;

fn connect(url: &str, replica: Option<&str>) -> PgStore {
    PgStore::connect(&PgStoreOptions {
        primary_url: url,
        replica_url: replica,
        max_connections: 5,
        // Two, as in production: concurrent batches are pipelined (ledger.rs).
        batch_connections: 2,
        acquire_timeout: Duration::from_secs(5),
        ledger_view_accounts: 1000,
    })
    .unwrap()
}

#[tokio::test]
async fn migrations_are_idempotent() {
    let url = postgres::fresh_database().await;
    contracts::store::migrations_are_idempotent(&connect(&url, None)).await;
}

#[tokio::test]
async fn concurrent_migrations_apply_once() {
    let url = postgres::fresh_database().await;
    let (a, b, c) = (connect(&url, None), connect(&url, None), connect(&url, None));
    contracts::store::concurrent_migrations_apply_once(&[&a, &b, &c]).await;
}

#[tokio::test]
async fn leases_have_one_holder() {
    let url = postgres::fresh_database().await;
    let store = connect(&url, None);
    store.migrate().await.unwrap();
    contracts::store::leases_have_one_holder(&store).await;
}

#[tokio::test]
async fn the_replica_pool_is_checked_and_read_only() {
    let url = postgres::fresh_database().await;
    // The same server stands in for a replica; the pool must refuse writes regardless.
    let store = connect(&url, Some(&url));
    store.migrate().await.unwrap();
    let checks = store.check().await;
    assert_eq!(checks.iter().map(|c| c.name).collect::<Vec<_>>(), ["database", "database_replica"]);
    assert!(checks.iter().all(|c| c.up));
    let write = sqlx::query("INSERT INTO leases VALUES ('x', 'y', 1, 1)").execute(store.read_pool()).await;
    assert!(write.is_err(), "the replica pool must be read-only");
    assert_eq!(store.pool_stats().len(), 2);
}

#[tokio::test]
async fn an_unreachable_database_is_reported_down_without_the_password() {
    // Nothing listens on port 1; the URL's password must not appear in the detail.
    let store = PgStore::connect(&PgStoreOptions {
        primary_url: "postgres://pb:hunter2@127.0.0.1:1/pb",
        replica_url: None,
        max_connections: 1,
        batch_connections: 1,
        acquire_timeout: Duration::from_millis(500),
        ledger_view_accounts: 0,
    })
    .unwrap();
    let checks = store.check().await;
    assert!(!checks[0].up);
    assert!(!format!("{checks:?}").contains("hunter2"));
}

mod ledger {
    use super::*;
    use pb_testkit::contracts::ledger as contract;
    use pb_testkit::contracts::ledger_records as records;
    use std::sync::Arc;

    async fn migrated() -> PgStore {
        let url = postgres::fresh_database().await;
        let store = connect(&url, None);
        store.migrate().await.unwrap();
        store
    }

    #[tokio::test]
    async fn transfers_move_money_and_verify() {
        contract::transfers_move_money_and_verify(&migrated().await).await;
    }

    #[tokio::test]
    async fn history_pages_along_both_sides() {
        contract::history_pages_along_both_sides(&migrated().await).await;
    }

    #[tokio::test]
    async fn text_round_trips_exactly() {
        contract::text_round_trips_exactly(&migrated().await).await;
    }

    #[tokio::test]
    async fn amounts_beyond_64_bits_are_exact() {
        contract::amounts_beyond_64_bits_are_exact(&migrated().await).await;
    }

    #[tokio::test]
    async fn holds_post_void_once_and_expire() {
        contract::holds_post_void_once_and_expire(&migrated().await).await;
    }

    #[tokio::test]
    async fn idempotency_keys_replay_refuse_and_remember_failures() {
        let store = migrated().await;
        contract::idempotency_keys_replay_refuse_and_remember_failures(&store).await;
        // Keys are found by a digest the application computes (migration 0012); the rows the
        // migration backfilled got theirs from `idempotency_digest`: the two must agree.
        let (rows, differing): (i64, i64) = sqlx::query_as(
            "SELECT count(*), count(*) FILTER (WHERE digest <> idempotency_digest(owner_id, key)) FROM idempotency_keys",
        )
        .fetch_one(store.pool())
        .await
        .unwrap();
        assert!(rows >= 4, "the contract took keys");
        assert_eq!(differing, 0);
    }

    #[tokio::test]
    async fn idempotency_keys_past_retention_are_forgotten() {
        contract::idempotency_keys_past_retention_are_forgotten(&migrated().await).await;
    }

    #[tokio::test]
    async fn keys_taken_are_known_to_custody() {
        let store = migrated().await;
        contract::keys_taken_are_known_to_custody(&store, &store).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_debits_never_overdraw() {
        contract::concurrent_debits_never_overdraw(Arc::new(migrated().await)).await;
    }

    #[tokio::test]
    async fn outbox_has_one_event_per_committed_transfer() {
        records::outbox_has_one_event_per_committed_transfer(&migrated().await).await;
    }

    #[tokio::test]
    async fn the_outbox_reads_alike_on_every_instance() {
        let url = postgres::fresh_database().await;
        let (a, b, reader) = (connect(&url, None), connect(&url, None), connect(&url, None));
        a.migrate().await.unwrap();
        records::the_outbox_reads_alike_on_every_instance(&a, &b, &reader).await;
    }

    #[tokio::test]
    async fn statements_read_posted_movements_by_time() {
        records::statements_read_posted_movements_by_time(&migrated().await).await;
    }

    #[tokio::test]
    async fn adjustments_are_decided_once() {
        records::adjustments_are_decided_once(&migrated().await).await;
    }

    type Outcomes = Result<Vec<pb_domain::ledger::store::CommandOutcome>, pb_domain::StoreError>;

    /// Another transaction takes usr_a's key `k` and stays open; a batch paying 5 into `to`
    /// under the same key is started and seen waiting for that key (its last statement).
    async fn batch_waiting_on_key(
        store: &Arc<PgStore>,
        to: pb_domain::ledger::account::AccountId,
        outcome: &str,
    ) -> (sqlx::Transaction<'static, sqlx::Postgres>, tokio::task::JoinHandle<Outcomes>) {
        use pb_domain::ledger::store::LedgerStore;
        let usd = pb_domain::ledger::asset::AssetCode::parse("USD").unwrap();
        let world = store.system_account("sandbox_world", &usd, 1).await.unwrap();
        let mut other = store.pool().begin().await.unwrap();
        sqlx::query(
            "INSERT INTO idempotency_keys (digest, owner_id, key, fingerprint, outcome, created_at)
             VALUES (idempotency_digest('usr_a', 'k'), 'usr_a', 'k', '\\x01', $1, 1)",
        )
        .bind(outcome)
        .execute(&mut *other)
        .await
        .unwrap();
        let batch = {
            let store = store.clone();
            let command = contract::keyed("k", b"body", contract::transfer(world.id, to, 5));
            tokio::spawn(async move { store.execute(&[command], 2).await })
        };
        let waiting = || async {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .fetch_one(store.pool())
            .await
            .unwrap()
        };
        for _ in 0..200 {
            if waiting().await > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(waiting().await, 1, "the batch should be waiting on the key");
        (other, batch)
    }

    /// A batch that resolves a hold reads the hold first, then takes the journal head like
    /// every batch: while another transaction holds the head, it waits. (It used to ask for
    /// the head only after its transaction was open, and so never took it; found by the
    /// two-instance model test, crates/ledger/tests/model.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_resolving_a_hold_waits_for_the_journal_head() {
        use pb_domain::ledger::store::{Command, CommandOutcome, LedgerStore};
        let store = Arc::new(migrated().await);
        let usd = pb_domain::ledger::asset::AssetCode::parse("USD").unwrap();
        let world = store.system_account("sandbox_world", &usd, 1).await.unwrap();
        let to = customer_account(&store, "usr_a").await;
        let mut hold = contract::transfer(world.id, to.id, 5);
        hold.flags.pending = true;
        let hold_id = hold.id;
        let placed = store.execute(&[contract::one(hold)], 1).await.unwrap();
        assert!(matches!(&placed[0], CommandOutcome::Executed(r) if r[0].is_ok()));

        let mut other = store.pool().begin().await.unwrap();
        sqlx::query("SELECT 1 FROM ledger_head WHERE id = 1 FOR UPDATE").execute(&mut *other).await.unwrap();
        let void = {
            let store = store.clone();
            let mut void = contract::transfer(world.id, to.id, 1);
            void.amount = None;
            void.flags.void_pending = true;
            void.pending_id = Some(hold_id);
            tokio::spawn(async move { store.execute(&[Command { idempotency: None, requests: vec![void] }], 2).await })
        };
        // It waits for the head first, before it reads (and locks) the accounts.
        let mut waiting = String::new();
        for _ in 0..200 {
            waiting = sqlx::query_scalar(
                "SELECT coalesce(string_agg(query, ' | '), '') FROM pg_stat_activity
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .fetch_one(store.pool())
            .await
            .unwrap();
            if !waiting.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(waiting.starts_with("SELECT ledger_take_head("), "waiting: {waiting}");
        assert!(!void.is_finished(), "the void waits for the head");
        other.commit().await.unwrap();
        let voided = void.await.unwrap().unwrap();
        assert!(matches!(&voided[0], CommandOutcome::Executed(r) if r[0].is_ok()), "{voided:?}");
    }

    async fn customer_account(store: &PgStore, owner: &str) -> pb_domain::ledger::account::Account {
        use pb_domain::ledger::store::{Created, LedgerStore};
        match store.create_account(contract::customer(owner, "USD"), None).await.unwrap() {
            Created::New(a) => a,
            other => panic!("{other:?}"),
        }
    }

    /// A batch only looks its keys up under the journal head's lock, and inserts them with
    /// their outcomes in its last statement. An account opening (which does not take the head)
    /// can take one of those keys in between: the batch's insert then fails, the batch rolls
    /// back whole and runs again, and finds the key taken.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_key_taken_during_a_batch_makes_it_run_again() {
        use pb_domain::ledger::store::{CommandOutcome, LedgerStore};
        let store = Arc::new(migrated().await);
        let b = customer_account(&store, "usr_b").await;
        let (other, batch) = batch_waiting_on_key(&store, b.id, "\"acct\"").await;
        other.commit().await.unwrap();

        let outcome = batch.await.unwrap().unwrap();
        assert_eq!(outcome, vec![CommandOutcome::KeyReused]);
        assert_eq!(store.account(b.id).await.unwrap().unwrap().balances.posted(), 0);
        let rows: i64 =
            sqlx::query_scalar("SELECT count(*) FROM ledger_transfers").fetch_one(store.pool()).await.unwrap();
        assert_eq!(rows, 0, "the first attempt's journal row rolled back with it");
    }

    /// The one deadlock the batch's lock order allows: an account opening claims a key, then
    /// opens a sub-account of an account the batch has locked (its foreign key waits for the
    /// batch), while the batch waits to insert the same key. PostgreSQL aborts one of them;
    /// an aborted batch runs again, so no caller sees the deadlock.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_deadlocked_batch_runs_again() {
        use pb_domain::ledger::store::{CommandOutcome, LedgerStore};
        let store = Arc::new(migrated().await);
        let master = customer_account(&store, "usr_a").await;
        let (mut opening, batch) = batch_waiting_on_key(&store, master.id, "").await;
        // The sub-account's foreign key needs the master row the batch holds: a cycle.
        let started = std::time::Instant::now();
        let sub = sqlx::query(
            "INSERT INTO ledger_accounts (id, asset, owner_id, code, name, parent_id, flags, created_at)
             VALUES ($1, 'USD', 'usr_a', 'customer', 'sub', $2, 1, 1)",
        )
        .bind(uuid::Uuid::now_v7())
        .bind(master.id.0)
        .execute(&mut *opening)
        .await;
        match sub {
            // The batch was the one aborted: the opening goes on, and the batch, run again,
            // finds the key taken.
            Ok(_) => {
                // It waited for the batch's lock until PostgreSQL found the deadlock (after
                // `deadlock_timeout`, one second by default) and aborted the batch.
                assert!(started.elapsed() >= Duration::from_millis(900), "{:?}", started.elapsed());
                opening.commit().await.unwrap();
                assert_eq!(batch.await.unwrap().unwrap(), vec![CommandOutcome::KeyReused]);
                assert_eq!(store.account(master.id).await.unwrap().unwrap().balances.posted(), 0);
            }
            // The opening was aborted: the batch goes on with the key free.
            Err(e) => {
                assert!(e.to_string().contains("deadlock"), "{e}");
                drop(opening);
                let outcome = batch.await.unwrap().unwrap();
                assert!(matches!(&outcome[0], CommandOutcome::Executed(r) if r[0].is_ok()), "{outcome:?}");
            }
        }
    }

    /// Two instances on one database, each with its view of the ledger (ledger_view.rs): what
    /// one commits makes the other's view stale, and a batch decided from a stale view must
    /// be refused by PostgreSQL and decided again on what is committed, never written.
    mod view {
        use super::*;
        use pb_domain::ledger::account::AccountId;
        use pb_domain::ledger::store::{CloseOutcome, Command, CommandOutcome, LedgerStore};
        use pb_domain::ledger::transfer::TransferError;
        use pb_domain::ledger::verify::verify;

        async fn two_instances() -> (PgStore, PgStore) {
            let url = postgres::fresh_database().await;
            let a = connect(&url, None);
            a.migrate().await.unwrap();
            (a, connect(&url, None))
        }

        async fn run(store: &PgStore, c: Command) -> CommandOutcome {
            store.execute(&[c], 1_000).await.unwrap().remove(0)
        }

        fn first(o: &CommandOutcome) -> Result<pb_domain::ledger::Transfer, TransferError> {
            match o {
                CommandOutcome::Executed(r) | CommandOutcome::Replayed(r) => r[0].clone(),
                CommandOutcome::KeyReused => panic!("key reused"),
            }
        }

        /// Two instances, and two accounts of `usr_a` and `usr_b`, x funded with `amount` through `a`
        /// (whose view then holds x, but not y).
        async fn two_instances_and_x_funded(amount: u128) -> (PgStore, PgStore, AccountId, AccountId) {
            let (a, b) = two_instances().await;
            let usd = pb_domain::ledger::asset::AssetCode::parse("USD").unwrap();
            let world = a.system_account("sandbox_world", &usd, 1).await.unwrap();
            let x = customer_account(&a, "usr_a").await.id;
            let y = customer_account(&a, "usr_b").await.id;
            pay(&a, world.id, x, amount).await.unwrap();
            (a, b, x, y)
        }

        async fn pay(
            store: &PgStore,
            from: AccountId,
            to: AccountId,
            amount: u128,
        ) -> Result<pb_domain::ledger::Transfer, TransferError> {
            first(&run(store, contract::one(contract::transfer(from, to, amount))).await)
        }

        async fn posted(store: &PgStore, id: AccountId) -> i128 {
            store.account(id).await.unwrap().unwrap().balances.posted()
        }

        async fn verified(store: &PgStore) {
            let (accounts, journal) = store.verification_data().await.unwrap();
            let report = verify(&accounts, &journal);
            assert!(report.ok(), "{:?}", report.problems);
        }

        /// The overdraft a stale view would allow: `a` remembers x holding 10 after `b` has
        /// moved it all out.
        #[tokio::test]
        async fn a_stale_balance_is_refused_and_decided_again() {
            let (a, b, x, y) = two_instances_and_x_funded(10).await;
            pay(&a, x, y, 1).await.unwrap(); // read; a's view now holds x (9) and y
            pay(&b, x, y, 9).await.unwrap();
            let before = a.ledger_view_totals();
            assert_eq!(pay(&a, x, y, 5).await, Err(TransferError::InsufficientFunds));
            assert_eq!((posted(&a, x).await, posted(&a, y).await), (0, 10));
            assert_eq!(a.ledger_view_totals(), (before.0 + 1, before.1 + 1), "decided from the view, and refused");
            // And a's view is right again: the next batch from it is exact.
            pay(&a, y, x, 4).await.unwrap();
            assert_eq!(posted(&b, x).await, 4);
            verified(&a).await;
        }

        /// A hold placed through `b` on accounts `a`'s view holds from before: `a` captures and
        /// voids it all the same (the engine must not meet the committed hold beside counters
        /// that predate it; found by the two-instance model test, crates/ledger/tests/model).
        #[tokio::test]
        async fn a_hold_placed_by_another_instance_is_resolved() {
            let (a, b, x, y) = two_instances_and_x_funded(10).await;
            pay(&a, x, y, 1).await.unwrap(); // a's view now holds x (9) and y (1)
            let mut holds = Vec::new();
            for _ in 0..2 {
                let mut hold = contract::transfer(x, y, 4);
                hold.flags.pending = true;
                holds.push(hold.id);
                first(&run(&b, contract::one(hold)).await).unwrap();
            }
            let resolve = |pending: pb_domain::ledger::transfer::TransferId, post: bool| {
                let mut r = contract::transfer(x, y, 4);
                r.amount = None;
                r.flags.post_pending = post;
                r.flags.void_pending = !post;
                r.pending_id = Some(pending);
                contract::one(r)
            };
            first(&run(&a, resolve(holds[0], true)).await).unwrap();
            first(&run(&a, resolve(holds[1], false)).await).unwrap();
            assert_eq!((posted(&b, x).await, posted(&b, y).await), (5, 5));
            let x_now = b.account(x).await.unwrap().unwrap().balances;
            assert_eq!((x_now.debits_pending, x_now.credits_pending), (0, 0));
            verified(&a).await;
        }

        /// A closed account changes no counter and moves no head: only its flags tell, and the
        /// batch's compare-and-set sees them.
        #[tokio::test]
        async fn an_account_closed_by_another_instance_is_seen() {
            let (a, b, x, y) = two_instances_and_x_funded(10).await;
            pay(&a, x, y, 10).await.unwrap();
            pay(&a, y, x, 10).await.unwrap();
            assert!(matches!(b.close_account(y).await.unwrap(), CloseOutcome::Closed(_)));
            assert_eq!(pay(&a, x, y, 1).await, Err(TransferError::CreditAccountClosed));
            assert_eq!(a.ledger_view_totals(), (2, 1), "y→x from the view; x→y from it, refused");
            assert_eq!(posted(&a, y).await, 0);
            verified(&a).await;
        }

        /// Batches from the view compare the counters they were decided on, sent as binary
        /// NUMERIC (numeric.rs), with PostgreSQL's: a slip in that encoding would refuse each
        /// such batch, and the retry the ordinary way would hide it from every balance.
        #[tokio::test]
        async fn counters_past_64_bits_compare_equal() {
            let (a, _b, x, y) = two_instances_and_x_funded(10u128.pow(30) + 10u128.pow(20)).await;
            let before = a.ledger_view_totals();
            let amounts =
                [1, 9_999, 10_000, 10u128.pow(28), u64::MAX as u128 + 1, 123_456_789_012_345_678_901_234_567_890];
            for amount in amounts {
                pay(&a, x, y, amount).await.unwrap();
                pay(&a, y, x, amount).await.unwrap();
            }
            let (served, refused) = a.ledger_view_totals();
            assert_eq!(refused, before.1, "no batch from the view was refused");
            // All but the first, which read y (not yet in the view) from PostgreSQL.
            assert_eq!(served - before.0, 11);
            assert_eq!(posted(&a, x).await, (10u128.pow(30) + 10u128.pow(20)) as i128);
            verified(&a).await;
        }

        /// One instance, batches submitted concurrently: each is decided from the view as the
        /// one before will leave the ledger and sent while that one is still in PostgreSQL,
        /// behind it on the pipeline's connection (pipeline.rs), and takes the journal head
        /// after it: no refusal, and every cent where it should be.
        #[tokio::test]
        async fn pipelined_batches_take_the_head_in_order() {
            let (a, _b, x, y) = two_instances_and_x_funded(1_000).await;
            let a = std::sync::Arc::new(a);
            pay(&a, x, y, 500).await.unwrap(); // Both accounts are in the view from here on.
            let mut tasks = tokio::task::JoinSet::new();
            for t in 0..8u128 {
                let a = a.clone();
                tasks.spawn(async move {
                    for _ in 0..25 {
                        let (from, to) = if t % 2 == 0 { (x, y) } else { (y, x) };
                        pay(&a, from, to, 1 + t).await.unwrap();
                    }
                });
            }
            while let Some(done) = tasks.join_next().await {
                done.unwrap();
            }
            // Even tasks paid 1+3+5+7 = 16 x->y per round, odd ones 2+4+6+8 = 20 back.
            assert_eq!((posted(&a, x).await, posted(&a, y).await), (500 + 25 * 4, 500 - 25 * 4));
            let (served, refused) = a.ledger_view_totals();
            // The first batch reads from PostgreSQL on a lane; one decided behind it while it
            // is in flight goes on the pipeline and waits for its head there. Batches on two
            // connections were refused about 2% of the time before `ledger_take_head` made the
            // later one wait (bench/RESULTS.md); on one connection they cannot overtake.
            assert!(refused <= 1, "no batch overtook the one it was decided after: {refused} refused of {served}");
            assert!(served > 100, "decided from the view: {served}");
            verified(&a).await;
        }

        /// A batch in flight fails (its key was taken by an account opened meanwhile) while the
        /// next is decided from it: that one is refused, decided again, and lands right.
        #[tokio::test]
        async fn a_failed_batch_in_flight_does_not_spoil_the_next() {
            let (a, b, x, y) = two_instances_and_x_funded(100).await;
            let a = std::sync::Arc::new(a);
            pay(&a, x, y, 1).await.unwrap();
            for round in 0..10 {
                let key = pb_domain::ledger::store::Idempotency {
                    owner: "usr_a".into(),
                    key: format!("k{round}"),
                    fingerprint: b"opening".to_vec(),
                };
                b.create_account(contract::customer("usr_a", "USD"), Some(key)).await.unwrap();
                let keyed = contract::keyed(&format!("k{round}"), b"body", contract::transfer(x, y, 50));
                let (failing, next) = tokio::join!(run(&a, keyed), pay(&a, x, y, 1));
                assert_eq!(failing, CommandOutcome::KeyReused);
                next.unwrap();
            }
            assert_eq!((posted(&a, x).await, posted(&a, y).await), (89, 11));
            verified(&a).await;
        }

        /// Keys are not read on the fast path: a key taken meanwhile without moving the head
        /// (an account opened under it, here by another instance) makes the key's insert fail,
        /// and the batch, decided again, finds it.
        #[tokio::test]
        async fn a_key_taken_by_another_instance_is_found() {
            let (a, b, x, y) = two_instances_and_x_funded(10).await;
            pay(&a, x, y, 1).await.unwrap();
            let key = pb_domain::ledger::store::Idempotency {
                owner: "usr_a".into(),
                key: "k".into(),
                fingerprint: b"opening".to_vec(),
            };
            b.create_account(contract::customer("usr_a", "USD"), Some(key)).await.unwrap();
            let again = run(&a, contract::keyed("k", b"body", contract::transfer(x, y, 2))).await;
            assert_eq!(again, CommandOutcome::KeyReused);
            assert_eq!(a.ledger_view_totals(), (1, 0), "from the view, which was right: only the key was taken");
            assert_eq!(posted(&a, x).await, 9);
            verified(&a).await;
        }
    }

    /// `ledger_take_head` (migration 0011): a batch decided after another one, whose request
    /// for the journal head reaches PostgreSQL first, still takes it after that one.
    #[tokio::test]
    async fn the_head_is_taken_after_the_batch_decided_before() {
        let store = migrated().await;
        let pool = store.pool().clone();
        let seq = || async {
            sqlx::query_scalar::<_, i64>("SELECT seq FROM ledger_head WHERE id = 1")
                .fetch_one(store.pool())
                .await
                .unwrap()
        };
        let start = seq().await;
        let second = {
            let pool = pool.clone();
            tokio::spawn(async move {
                let mut tx = pool.begin().await.unwrap();
                sqlx::query("SELECT ledger_take_head($1)").bind(start + 1).execute(&mut *tx).await.unwrap();
                let seen: i64 =
                    sqlx::query_scalar("SELECT seq FROM ledger_head WHERE id = 1").fetch_one(&mut *tx).await.unwrap();
                tx.commit().await.unwrap();
                seen
            })
        };
        tokio::time::sleep(Duration::from_millis(5)).await;
        let mut first = pool.begin().await.unwrap();
        sqlx::query("SELECT 1 FROM ledger_head WHERE id = 1 FOR UPDATE").execute(&mut *first).await.unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
        sqlx::query("UPDATE ledger_head SET seq = $1 WHERE id = 1").bind(start + 1).execute(&mut *first).await.unwrap();
        first.commit().await.unwrap();
        assert_eq!(second.await.unwrap(), start + 1, "took the head after the first, though it asked before");
        // The batch before never comes (it failed): taken all the same, after a short wait.
        let mut tx = pool.begin().await.unwrap();
        let waited = std::time::Instant::now();
        sqlx::query("SELECT ledger_take_head($1)").bind(start + 5).execute(&mut *tx).await.unwrap();
        assert!(waited.elapsed() < Duration::from_secs(2), "{:?}", waited.elapsed());
        tx.commit().await.unwrap();
        assert_eq!(seq().await, start + 1);
    }

    /// Journal rows name their accounts without a foreign key (it cost ~17% of a batch), so
    /// an account must never disappear, whatever runs against the database.
    #[tokio::test]
    async fn accounts_are_never_deleted() {
        let store = migrated().await;
        let usd = pb_domain::ledger::asset::AssetCode::parse("USD").unwrap();
        pb_domain::ledger::store::LedgerStore::system_account(&store, "sandbox_world", &usd, 1).await.unwrap();
        for sql in ["DELETE FROM ledger_accounts", "TRUNCATE ledger_accounts CASCADE"] {
            let refused = sqlx::query(sql).execute(store.pool()).await.unwrap_err();
            assert!(refused.to_string().contains("never deleted"), "{sql}: {refused}");
        }
        let left: i64 =
            sqlx::query_scalar("SELECT count(*) FROM ledger_accounts").fetch_one(store.pool()).await.unwrap();
        assert_eq!(left, 1);
    }
}

/// The patched driver (third_party/README.md) sends BEGIN with the first query and, when asked,
/// COMMIT behind the last: the transaction must behave exactly as an unpipelined one.
#[tokio::test]
async fn pipelined_begin_and_commit_keep_transactions_whole() {
    let url = postgres::fresh_database().await;
    let store = connect(&url, None);
    let pool = store.pool();
    sqlx::query("CREATE TABLE pipelined (v INT PRIMARY KEY)").execute(pool).await.unwrap();
    let count =
        || async { sqlx::query_scalar::<_, i64>("SELECT count(*) FROM pipelined").fetch_one(pool).await.unwrap() };
    // One prepared statement, so every insert after the first goes out with what is queued.
    let insert = |v: i32| sqlx::query("INSERT INTO pipelined VALUES ($1)").bind(v);

    // Rolled back (dropped): the pipelined BEGIN really opened a transaction.
    {
        let mut tx = pool.begin().await.unwrap();
        insert(1).execute(&mut *tx).await.unwrap();
    }
    assert_eq!(count().await, 0);

    // COMMIT behind the last statement: both statements land, and commit() reports success.
    let mut tx = pool.begin().await.unwrap();
    insert(1).execute(&mut *tx).await.unwrap();
    tx.commit_after_next_query();
    let n: i64 = sqlx::query_scalar("WITH i AS (INSERT INTO pipelined VALUES (2) RETURNING v) SELECT count(*) FROM i")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(n, 1);
    tx.commit().await.unwrap();
    assert_eq!(count().await, 2);

    // The last statement fails: the COMMIT behind it becomes a rollback, nothing lands, and
    // the connection is fit for the next transaction.
    let mut conn = pool.acquire().await.unwrap();
    for _ in 0..2 {
        let mut tx = sqlx::Connection::begin(&mut *conn).await.unwrap();
        insert(3).execute(&mut *tx).await.unwrap();
        tx.commit_after_next_query();
        assert!(insert(1).execute(&mut *tx).await.is_err());
        drop(tx);
        assert_eq!(count().await, 2);
    }
    let mut tx = sqlx::Connection::begin(&mut *conn).await.unwrap();
    insert(4).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(count().await, 3);

    // A commit() after a failed statement (the caller ignored its error) must not report success.
    let mut tx = sqlx::Connection::begin(&mut *conn).await.unwrap();
    assert!(insert(1).execute(&mut *tx).await.is_err());
    tx.commit_after_next_query();
    assert!(insert(5).execute(&mut *tx).await.is_err());
    assert!(tx.commit().await.is_err(), "an aborted transaction's COMMIT answers ROLLBACK");
    assert_eq!(count().await, 3);

    // The first query is a simple one, or one on the unnamed statement: the queued BEGIN goes
    // ahead of it all the same, the transaction holds, and the connection is fit afterwards.
    for first in ["simple", "unnamed"] {
        let mut tx = sqlx::Connection::begin(&mut *conn).await.unwrap();
        match first {
            "simple" => sqlx::raw_sql("INSERT INTO pipelined VALUES (7)").execute(&mut *tx).await.unwrap(),
            _ => insert(7).persistent(false).execute(&mut *tx).await.unwrap(),
        };
        insert(8).execute(&mut *tx).await.unwrap();
        drop(tx);
        assert_eq!(count().await, 3, "{first}: rolled back");
    }

    // A transaction in which nothing ran commits and rolls back cleanly, and leaves nothing
    // behind for the connection's next query.
    sqlx::Connection::begin(&mut *conn).await.unwrap().commit().await.unwrap();
    sqlx::Connection::begin(&mut *conn).await.unwrap().rollback().await.unwrap();
    drop(sqlx::Connection::begin(&mut *conn).await.unwrap());
    insert(9).execute(&mut *conn).await.unwrap();
    assert_eq!(count().await, 4, "seen from another connection: committed");
    let probe = sqlx::raw_sql("SAVEPOINT probe").execute(&mut *conn).await;
    assert!(probe.is_err(), "no transaction block left open");
}

/// The patched driver's `queue_in_next_query_sync` (third_party/README.md): a statement queued
/// inside the next query's Sync runs ahead of it in one implicit transaction, committed at the
/// Sync with it or rolled back with it, with no BEGIN or COMMIT sent. The ledger closes a
/// batch decided from its view this way (batch_connection.rs).
#[tokio::test]
async fn a_statement_queued_inside_a_sync_commits_or_rolls_back_with_the_query() {
    let url = postgres::fresh_database().await;
    let store = connect(&url, None);
    let pool = store.pool();
    sqlx::raw_sql(
        "CREATE TABLE synced (v BIGINT PRIMARY KEY);
         CREATE TABLE guard (id INT PRIMARY KEY, v INT NOT NULL); INSERT INTO guard VALUES (1, 0)",
    )
    .execute(pool)
    .await
    .unwrap();
    let values =
        || async { sqlx::query_scalar::<_, i64>("SELECT v FROM synced ORDER BY v").fetch_all(pool).await.unwrap() };
    let insert = |v: i64| sqlx::query("INSERT INTO synced VALUES ($1)").bind(v);
    let mut conn = pool.acquire().await.unwrap();

    // Both land: the first time the query is prepared first (a round trip of its own, before
    // the queued statement goes out), the second time it comes from the statement cache.
    for v in [1, 2] {
        conn.queue_in_next_query_sync(&format!("INSERT INTO synced VALUES ({})", v + 100));
        insert(v).execute(&mut *conn).await.unwrap();
    }
    assert_eq!(values().await, [1, 2, 101, 102]);

    // One transaction: the query sees the queued statement's transaction id as its own.
    sqlx::raw_sql("CREATE TABLE xids (x BIGINT)").execute(pool).await.unwrap();
    conn.queue_in_next_query_sync("INSERT INTO xids SELECT txid_current()");
    let same: bool = sqlx::query_scalar("SELECT txid_current() = (SELECT x FROM xids) AND $1")
        .bind(true)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert!(same, "the queued statement and the query ran in one transaction");

    // The query fails: the queued statement's insert is rolled back with it.
    conn.queue_in_next_query_sync("INSERT INTO synced VALUES (103)");
    assert!(insert(1).execute(&mut *conn).await.is_err());
    assert_eq!(values().await, [1, 2, 101, 102]);

    // The queued statement fails: the query does not run, its answer is that error, and the
    // connection is fit for the next query.
    conn.queue_in_next_query_sync("SELECT 1 / 0");
    let refused = insert(3).execute(&mut *conn).await.unwrap_err();
    assert!(refused.to_string().contains("division by zero"), "{refused}");
    assert_eq!(values().await, [1, 2, 101, 102]);
    insert(3).execute(&mut *conn).await.unwrap();
    assert_eq!(values().await, [1, 2, 3, 101, 102]);

    // Only ahead of a prepared query: refused before anything is sent, and not kept for later.
    conn.queue_in_next_query_sync("INSERT INTO synced VALUES (104)");
    assert!(sqlx::raw_sql("SELECT 1").execute(&mut *conn).await.is_err());
    insert(4).execute(&mut *conn).await.unwrap();
    assert_eq!(values().await, [1, 2, 3, 4, 101, 102]);

    // A lock the queued statement takes is held when the query starts, whose snapshot shows
    // what committed before it was granted, and it is held to the Sync's commit, not beyond.
    let mut holder = pool.begin().await.unwrap();
    sqlx::query("UPDATE guard SET v = 7 WHERE id = 1").execute(&mut *holder).await.unwrap();
    let reader = {
        let pool = pool.clone();
        tokio::spawn(async move {
            let mut conn = pool.acquire().await.unwrap();
            conn.queue_in_next_query_sync("SELECT 1 FROM guard WHERE id = 1 FOR UPDATE");
            sqlx::query_scalar::<_, i32>("SELECT v FROM guard WHERE id = $1")
                .bind(1)
                .fetch_one(&mut *conn)
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!reader.is_finished(), "the queued lock waits for the holder");
    holder.commit().await.unwrap();
    assert_eq!(reader.await.unwrap(), 7);
    sqlx::query("SELECT 1 FROM guard WHERE id = $1 FOR UPDATE NOWAIT").bind(1).execute(&mut *conn).await.unwrap();
}
