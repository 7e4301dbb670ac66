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
    (10, "ledger_expect", include_str!("../migrations/0010_ledger_expect.sql")),
    (11, "ledger_take_head", include_str!("../migrations/0011_ledger_take_head.sql")),
    (12, "idempotency digest", include_str!("../migrations/0012_idempotency_digest.sql")),
    (13, "idempotency retention", include_str!("../migrations/0013_idempotency_retention.sql")),
    (14, "history links", include_str!("../migrations/0014_history_links.sql")),
    (15, "check domains", include_str!("../migrations/0015_check_domains.sql")),
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
    /// A fresh database at the schema just before migration `version`, for a test that writes
    /// rows there and then migrates the rest of the way.
    async fn database_before(version: i64) -> (String, sqlx::PgPool) {
        let url = pb_testkit::postgres::fresh_database().await;
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        let before = super::MIGRATIONS.iter().position(|(v, _, _)| *v == version).unwrap();
        super::migrator_of(&super::MIGRATIONS[..before]).run(&pool).await.unwrap();
        (url, pool)
    }

    /// Migration 14 links the rows written before it: each account's history chain and last
    /// row, from a journal of three transfers among three accounts.
    #[tokio::test]
    async fn history_links_are_filled_in_for_rows_written_before() {
        let (url, pool) = database_before(14).await;
        let ids = [uuid::Uuid::now_v7(), uuid::Uuid::now_v7(), uuid::Uuid::now_v7()];
        for id in ids {
            sqlx::query(
                "INSERT INTO ledger_accounts (id, asset, owner_id, code, name, flags, created_at)
                 VALUES ($1, 'USD', 'usr_x', 'customer', 'x', 0, 1)",
            )
            .bind(id)
            .execute(&pool)
            .await
            .unwrap();
        }
        for (seq, (d, c)) in [(0, 1), (1, 2), (0, 2)].into_iter().enumerate() {
            sqlx::query(
                "INSERT INTO ledger_transfers (seq, id, debit_account_id, credit_account_id, amount, asset, code, flags,
                     metadata, created_at, prev_hash, hash)
                 VALUES ($1, $2, $3, $4, 1, 'USD', 'p2p', 0, '{}', 1, '\\x00', '\\x00')",
            )
            .bind(i64::try_from(seq).unwrap() + 1)
            .bind(uuid::Uuid::now_v7())
            .bind(ids[d])
            .bind(ids[c])
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
        for id in ids {
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
        pool.close().await;
        pb_testkit::postgres::drop_database(&url).await;
    }

    /// Migration 15 moves the one-column CHECKs to domains: the rows already written stay as
    /// they were, the journal is not rewritten, and every rule still refuses what it refused.
    #[tokio::test]
    async fn check_domains_keep_every_rule_without_rewriting_the_journal() {
        let (url, pool) = database_before(15).await;
        let (a, b) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        sqlx::query(
            "INSERT INTO ledger_accounts (id, asset, owner_id, code, name, flags, created_at, credits_posted)
             VALUES ($1, 'USD', 'usr_x', 'customer', 'x', 1, 1, 5), ($2, 'USD', 'usr_x', 'customer', 'y', 0, 1, 0)",
        )
        .bind(a)
        .bind(b)
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO ledger_transfers (seq, id, debit_account_id, credit_account_id, amount, asset, code, flags,
                 metadata, created_at, prev_hash, hash)
             VALUES (1, $1, $2, $3, 340282366920938463463374607431768211455, 'USD', 'p2p', 0, '{}', 1, '\\x00', '\\x00')",
        )
        .bind(uuid::Uuid::now_v7())
        .bind(b)
        .bind(a)
        .execute(&pool)
        .await
        .unwrap();
        let filenode = "SELECT pg_relation_filenode('ledger_transfers')::bigint";
        let (journal_file,): (i64,) = sqlx::query_as(filenode).fetch_one(&pool).await.unwrap();
        super::migrator().run(&pool).await.unwrap();

        assert_eq!(sqlx::query_as::<_, (i64,)>(filenode).fetch_one(&pool).await.unwrap().0, journal_file);
        let (amount, credits): (String, String) = sqlx::query_as(
            "SELECT t.amount::text, a.credits_posted::text FROM ledger_transfers t, ledger_accounts a WHERE a.id = $1",
        )
        .bind(a)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!((amount.as_str(), credits.as_str()), ("340282366920938463463374607431768211455", "5"));

        let refused = [
            // each counter, never negative
            format!("UPDATE ledger_accounts SET debits_pending = -1 WHERE id = '{b}'"),
            format!("UPDATE ledger_accounts SET debits_posted = -1 WHERE id = '{b}'"),
            format!("UPDATE ledger_accounts SET credits_pending = -1 WHERE id = '{b}'"),
            format!("UPDATE ledger_accounts SET credits_posted = -1 WHERE id = '{b}'"),
            // no overdraft on an account that forbids it (flags & 1), a table CHECK still
            format!("UPDATE ledger_accounts SET debits_posted = 6 WHERE id = '{a}'"),
            // a journal amount, never negative
            format!(
                "INSERT INTO ledger_transfers (seq, id, debit_account_id, credit_account_id, amount, asset, code,
                     flags, metadata, created_at, prev_hash, hash)
                 VALUES (2, '{}', '{b}', '{a}', -1, 'USD', 'p2p', 0, '{{}}', 1, '\\x00', '\\x00')",
                uuid::Uuid::now_v7()
            ),
            // a key's digest, 32 bytes
            "INSERT INTO idempotency_keys (digest, owner_id, key, fingerprint, outcome, created_at)
             VALUES ('\\x00', 'usr_x', 'k', '\\x00', '', 1)"
                .to_owned(),
            // one head
            "INSERT INTO ledger_head (id, seq, hash) VALUES (2, 0, '\\x00')".to_owned(),
        ];
        for sql in refused {
            let err = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone())).execute(&pool).await.unwrap_err();
            let code = err.as_database_error().and_then(|d| d.code()).map(|c| c.into_owned());
            assert_eq!(code.as_deref(), Some("23514"), "a check_violation for {sql}: {err}");
        }
        sqlx::query("UPDATE ledger_accounts SET debits_posted = 5 WHERE id = $1").bind(a).execute(&pool).await.unwrap();
        pool.close().await;
        pb_testkit::postgres::drop_database(&url).await;
    }

    #[test]
    fn every_migration_file_is_embedded() {
        let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"));
        pb_testkit::migrations::assert_every_file_embedded(dir, &super::known_versions());
    }
}
