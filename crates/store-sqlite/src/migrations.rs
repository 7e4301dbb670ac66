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
];

pub(crate) fn migrator() -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|(v, d, sql)| Migration::new(*v, (*d).into(), MigrationType::Simple, sql.into_sql_str(), false))
            .collect(),
    )
}

pub(crate) fn known_versions() -> Vec<i64> {
    MIGRATIONS.iter().map(|(v, _, _)| *v).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_migration_file_is_embedded() {
        let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"));
        pb_testkit::migrations::assert_every_file_embedded(dir, &super::known_versions());
    }
}
