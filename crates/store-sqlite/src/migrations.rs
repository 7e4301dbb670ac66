//! Migrations embedded in the binary, so `protocol-bank migrate` needs no files beside it.

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// (version, description, sql), in order. Add new files at the end; never edit an applied one
/// (the checksum would no longer match and `migrate` refuses to continue).
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "leases", include_str!("../migrations/0001_leases.sql")),
    (2, "identity", include_str!("../migrations/0002_identity.sql")),
    (3, "ledger", include_str!("../migrations/0003_ledger.sql")),
    (4, "outbox and adjustments", include_str!("../migrations/0004_outbox_adjustments.sql")),
    (5, "custody", include_str!("../migrations/0005_custody.sql")),
    (6, "deposits", include_str!("../migrations/0006_deposits.sql")),
    (7, "withdrawals", include_str!("../migrations/0007_withdrawals.sql")),
    (8, "sweeps", include_str!("../migrations/0008_sweeps.sql")),
    (9, "journal is the outbox", include_str!("../migrations/0009_journal_outbox.sql")),
    (10, "idempotency retention", include_str!("../migrations/0010_idempotency_retention.sql")),
    (11, "history links", include_str!("../migrations/0011_history_links.sql")),
    (12, "history by links", include_str!("../migrations/0012_history_by_links.sql")),
];

pub(crate) fn migrator() -> Migrator {
    migrator_of(MIGRATIONS)
}

fn migrator_of(migrations: &[(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        migrations
            .iter()
            .map(|(v, d, sql)| Migration::new(*v, (*d).into(), MigrationType::Simple, sql.into_sql_str(), false))
            .collect(),
    )
}

pub(crate) fn known_versions() -> Vec<i64> {
    MIGRATIONS.iter().map(|(v, _, _)| *v).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    /// Migration 11 links the rows written before it: each account's history chain and last
    /// row, from a journal of three transfers among three accounts.
    #[tokio::test]
    async fn history_links_are_filled_in_for_rows_written_before() {
        let options = sqlx::sqlite::SqliteConnectOptions::new().in_memory(true).foreign_keys(true);
        let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect_with(options).await.unwrap();
        let before = super::MIGRATIONS.iter().position(|(v, _, _)| *v == 11).unwrap();
        super::migrator_of(&super::MIGRATIONS[..before]).run(&pool).await.unwrap();
        let ids: Vec<String> = (0..3).map(|_| uuid::Uuid::now_v7().to_string()).collect();
        for id in &ids {
            sqlx::query(
                "INSERT INTO ledger_accounts (id, asset, owner_id, code, name, flags, debits_pending, debits_posted,
                     credits_pending, credits_posted, created_at)
                 VALUES ($1, 'USD', 'usr_x', 'customer', 'x', 0, '0', '0', '0', '0', 1)",
            )
            .bind(id)
            .execute(&pool)
            .await
            .unwrap();
        }
        for (seq, (d, c)) in (1i64..).zip([(0, 1), (1, 2), (0, 2)]) {
            sqlx::query(
                "INSERT INTO ledger_transfers (seq, id, debit_account_id, credit_account_id, amount, asset, code, flags,
                     metadata, created_at, prev_hash, hash)
                 VALUES ($1, $2, $3, $4, '1', 'USD', 'p2p', 0, '{}', 1, x'00', x'00')",
            )
            .bind(seq)
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(&ids[d])
            .bind(&ids[c])
            .execute(&pool)
            .await
            .unwrap();
        }
        super::migrator().run(&pool).await.unwrap();
        let links: Vec<(Option<i64>, Option<i64>)> =
            sqlx::query_as("SELECT debit_prev, credit_prev FROM ledger_transfers ORDER BY seq")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(links, [(None, None), (Some(1), None), (Some(1), Some(2))]);
        let mut last = Vec::new();
        for id in &ids {
            let (seq,): (Option<i64>,) = sqlx::query_as("SELECT last_seq FROM ledger_accounts WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap();
            last.push(seq);
        }
        assert_eq!(last, [Some(3), Some(2), Some(3)]);
        let changed = sqlx::query("UPDATE ledger_transfers SET debit_prev = NULL WHERE seq = 3").execute(&pool).await;
        assert!(changed.is_err(), "the journal is append-only again");
    }

    #[test]
    fn every_migration_file_is_embedded() {
        let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"));
        pb_testkit::migrations::assert_every_file_embedded(dir, &super::known_versions());
    }
}
