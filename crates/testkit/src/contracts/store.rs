use pb_domain::{LeaseStore, Store};

/// Migrations apply once; running them again changes nothing; the store answers checks.
pub async fn migrations_are_idempotent(store: &dyn Store) {
    let first = store.migrate().await.unwrap();
    assert_eq!(first.applied, first.known, "a fresh database gets every migration");
    let second = store.migrate().await.unwrap();
    assert!(second.applied.is_empty(), "nothing to apply the second time");
    let checks = store.check().await;
    assert!(!checks.is_empty() && checks.iter().all(|c| c.up), "{checks:?}");
    assert!(store.pool_stats().iter().all(|p| p.max >= 1));
}

/// Concurrent migrations from several instances starting at once must not fail or repeat.
pub async fn concurrent_migrations_apply_once(stores: &[&dyn Store]) {
    let results = futures::future::join_all(stores.iter().map(|s| s.migrate())).await;
    let mut applied = 0;
    for r in results {
        applied += r.unwrap().applied.len();
    }
    let known = stores[0].migrate().await.unwrap().known.len();
    assert_eq!(applied, known, "each migration applied exactly once across instances");
}

/// One holder at a time; renewals keep it; expiry lets another take over; release frees it.
pub async fn leases_have_one_holder(store: &dyn LeaseStore) {
    let t0 = 1_000_000;
    assert!(store.try_acquire_lease("watcher", "a", t0, 10_000).await.unwrap());
    assert!(!store.try_acquire_lease("watcher", "b", t0 + 1, 10_000).await.unwrap(), "held by a");
    assert!(store.try_acquire_lease("watcher", "a", t0 + 5_000, 10_000).await.unwrap(), "a renews");
    assert!(!store.try_acquire_lease("watcher", "b", t0 + 12_000, 10_000).await.unwrap(), "renewal extended it");
    assert!(store.try_acquire_lease("watcher", "b", t0 + 15_001, 10_000).await.unwrap(), "expired: b takes over");
    assert!(!store.try_acquire_lease("watcher", "a", t0 + 15_002, 10_000).await.unwrap());
    store.release_lease("watcher", "a").await.unwrap();
    assert!(!store.try_acquire_lease("watcher", "a", t0 + 15_003, 10_000).await.unwrap(), "a cannot release b's lease");
    store.release_lease("watcher", "b").await.unwrap();
    assert!(store.try_acquire_lease("watcher", "a", t0 + 15_004, 10_000).await.unwrap(), "free after release");
    assert!(store.try_acquire_lease("other", "b", t0, 10_000).await.unwrap(), "leases are independent");
}
