//! The store contract on SQLite.
#![allow(clippy::unwrap_used)]

use pb_store_sqlite::SqliteStore;
use pb_testkit::{TempDir, contracts};

async fn fresh() -> (SqliteStore, TempDir) {
    let dir = TempDir::new("sqlite-store");
    let store = SqliteStore::open(&dir.path().join("test.db")).await.unwrap();
    (store, dir)
}

#[tokio::test]
async fn migrations_are_idempotent() {
    let (store, _dir) = fresh().await;
    contracts::store::migrations_are_idempotent(&store).await;
}

#[tokio::test]
async fn a_second_process_sees_the_schema_current() {
    // The embedded default is one process; a later `migrate` on the same file applies nothing.
    let dir = TempDir::new("sqlite-store");
    let path = dir.path().join("shared.db");
    let first = SqliteStore::open(&path).await.unwrap();
    let report = pb_domain::Store::migrate(&first).await.unwrap();
    assert_eq!(report.applied, report.known);
    let second = SqliteStore::open(&path).await.unwrap();
    assert!(pb_domain::Store::migrate(&second).await.unwrap().applied.is_empty());
}

#[tokio::test]
async fn leases_have_one_holder() {
    let (store, _dir) = fresh().await;
    pb_domain::Store::migrate(&store).await.unwrap();
    contracts::store::leases_have_one_holder(&store).await;
}

#[tokio::test]
async fn the_database_file_uses_wal() {
    let (store, _dir) = fresh().await;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(store.pool()).await.unwrap();
    assert_eq!(mode, "wal");
}

/// The WAL is copied into the database file by the store's own task (checkpointer.rs): the
/// migrations' pages are well under the commits' backstop threshold, so no commit did it.
#[tokio::test]
async fn the_wal_is_checkpointed_beside_the_writer() {
    let (store, _dir) = fresh().await;
    pb_domain::Store::migrate(&store).await.unwrap();
    let backstop: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint").fetch_one(store.pool()).await.unwrap();
    assert_eq!(backstop, 16 * 1024);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (runs, wal_frames, copied) = store.wal_checkpoints();
        if runs > 0 && wal_frames > 0 && copied == wal_frames {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not checkpointed: {runs} runs, {copied} of {wal_frames}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

mod ledger {
    use super::*;
    use pb_testkit::contracts::ledger as contract;
    use pb_testkit::contracts::ledger_records as records;
    use std::sync::Arc;

    async fn migrated() -> (SqliteStore, TempDir) {
        let (store, dir) = fresh().await;
        pb_domain::Store::migrate(&store).await.unwrap();
        (store, dir)
    }

    #[tokio::test]
    async fn transfers_move_money_and_verify() {
        let (s, _d) = migrated().await;
        contract::transfers_move_money_and_verify(&s).await;
    }

    #[tokio::test]
    async fn history_pages_along_both_sides() {
        let (s, _d) = migrated().await;
        contract::history_pages_along_both_sides(&s).await;
    }

    #[tokio::test]
    async fn text_round_trips_exactly() {
        let (s, _d) = migrated().await;
        contract::text_round_trips_exactly(&s).await;
    }

    #[tokio::test]
    async fn amounts_beyond_64_bits_are_exact() {
        let (s, _d) = migrated().await;
        contract::amounts_beyond_64_bits_are_exact(&s).await;
    }

    #[tokio::test]
    async fn holds_post_void_once_and_expire() {
        let (s, _d) = migrated().await;
        contract::holds_post_void_once_and_expire(&s).await;
    }

    #[tokio::test]
    async fn idempotency_keys_replay_refuse_and_remember_failures() {
        let (s, _d) = migrated().await;
        contract::idempotency_keys_replay_refuse_and_remember_failures(&s).await;
    }

    #[tokio::test]
    async fn idempotency_keys_past_retention_are_forgotten() {
        let (s, _d) = migrated().await;
        contract::idempotency_keys_past_retention_are_forgotten(&s).await;
    }

    #[tokio::test]
    async fn keys_taken_are_known_to_custody() {
        let (s, _d) = migrated().await;
        contract::keys_taken_are_known_to_custody(&s, &s).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_debits_never_overdraw() {
        let (s, _d) = migrated().await;
        contract::concurrent_debits_never_overdraw(Arc::new(s)).await;
    }

    #[tokio::test]
    async fn outbox_has_one_event_per_committed_transfer() {
        let (s, _d) = migrated().await;
        records::outbox_has_one_event_per_committed_transfer(&s).await;
    }

    #[tokio::test]
    async fn the_outbox_reads_alike_on_every_instance() {
        // The embedded default is one process; two stores on one file stand for two all the same.
        let (a, dir) = migrated().await;
        let path = dir.path().join("test.db");
        let (b, reader) = (SqliteStore::open(&path).await.unwrap(), SqliteStore::open(&path).await.unwrap());
        records::the_outbox_reads_alike_on_every_instance(&a, &b, &reader).await;
    }

    #[tokio::test]
    async fn statements_read_posted_movements_by_time() {
        let (s, _d) = migrated().await;
        records::statements_read_posted_movements_by_time(&s).await;
    }

    #[tokio::test]
    async fn adjustments_are_decided_once() {
        let (s, _d) = migrated().await;
        records::adjustments_are_decided_once(&s).await;
    }

    /// Accounts are never deleted: closing one is a flag, and journal rows name them.
    #[tokio::test]
    async fn accounts_are_never_deleted() {
        let (store, _d) = migrated().await;
        let usd = pb_domain::ledger::asset::AssetCode::parse("USD").unwrap();
        pb_domain::ledger::store::LedgerStore::system_account(&store, "sandbox_world", &usd, 1).await.unwrap();
        let refused = sqlx::query("DELETE FROM ledger_accounts").execute(store.pool()).await.unwrap_err();
        assert!(refused.to_string().contains("never deleted"), "{refused}");
        let left: i64 =
            sqlx::query_scalar("SELECT count(*) FROM ledger_accounts").fetch_one(store.pool()).await.unwrap();
        assert_eq!(left, 1);
    }
}
