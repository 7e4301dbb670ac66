//! A short-lived, per-instance cache of authenticated sessions, so a request does not read its
//! session, user and memberships from the database every time (two queries per request were a
//! large share of the ledger benchmark's database time). Correctness does not rest on the TTL:
//! every change that alters what a session may do — sign-out, revocation, password change,
//! step-up, MFA on/off, email verification, staff role, membership, closure — drops the user's
//! entries here and is published on `identity.sessions` so every other instance drops them too.
//! The TTL (`SESSION_CACHE_SECONDS`, 5 s by default) bounds staleness only if that message is
//! lost (pub/sub is best effort); 0 turns the cache off.

use pb_domain::cache::PubSub;
use pb_domain::identity::records::{Membership, SessionRecord, UserRecord};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub const CHANNEL: &str = "identity.sessions";
/// Beyond this many entries the cache starts afresh (a bound, not an eviction policy).
const MAX_ENTRIES: usize = 100_000;

#[derive(Clone)]
pub(crate) struct Cached {
    pub session: SessionRecord,
    pub user: UserRecord,
    pub memberships: Vec<Membership>,
    until: i64,
}

pub struct SessionCache {
    ttl_ms: i64,
    entries: Mutex<Entries>,
    pubsub: Arc<dyn PubSub>,
}

/// The entries, and how many times anything was forgotten: a read that began before a change
/// must not put back what the change removed (read, revoke, forget, then a late put).
#[derive(Default)]
struct Entries {
    by_token: HashMap<Vec<u8>, Cached>,
    epoch: u64,
}

/// Entries hold user records (password hashes, sealed TOTP secrets): never printed.
impl std::fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.entries.lock().map(|e| e.by_token.len()).unwrap_or(0);
        f.debug_struct("SessionCache").field("ttl_ms", &self.ttl_ms).field("entries", &n).finish_non_exhaustive()
    }
}

impl SessionCache {
    /// A cache whose entries live `ttl_ms`, listening on `pubsub` for other instances' changes.
    pub async fn start(ttl_ms: i64, pubsub: Arc<dyn PubSub>) -> Arc<Self> {
        let cache = Arc::new(Self { ttl_ms, entries: Mutex::new(Entries::default()), pubsub: pubsub.clone() });
        let weak = Arc::downgrade(&cache);
        match pubsub.subscribe(CHANNEL).await {
            Ok(mut messages) => {
                tokio::spawn(async move {
                    use futures::StreamExt;
                    while let Some(m) = messages.next().await {
                        let Some(cache) = weak.upgrade() else { return };
                        cache.forget_locally(&String::from_utf8_lossy(&m));
                    }
                });
            }
            // Without the channel, only the TTL bounds another instance's change: say so.
            Err(e) => {
                tracing::warn!(error = %e, "session cache not subscribed; other instances' changes wait for the TTL")
            }
        }
        cache
    }

    /// The cached session, and the epoch to hand back to `put` if it is read from the store.
    pub(crate) fn get(&self, key: &[u8], now: i64) -> (Option<Cached>, u64) {
        match self.entries.lock() {
            Ok(e) => (e.by_token.get(key).filter(|c| now < c.until).cloned(), e.epoch),
            Err(_) => (None, u64::MAX),
        }
    }

    /// Caches what was read since `get` returned `epoch`, unless something was forgotten since.
    pub(crate) fn put(
        &self,
        key: Vec<u8>,
        epoch: u64,
        session: SessionRecord,
        user: UserRecord,
        memberships: Vec<Membership>,
        now: i64,
    ) {
        if let Ok(mut e) = self.entries.lock() {
            if e.epoch != epoch {
                return;
            }
            if e.by_token.len() >= MAX_ENTRIES {
                e.by_token.clear();
            }
            e.by_token.insert(key, Cached { session, user, memberships, until: now + self.ttl_ms });
        }
    }

    /// The session's `last_seen_at` was written: keep the cached copy in step.
    pub(crate) fn touched(&self, key: &[u8], now: i64) {
        if let Ok(mut e) = self.entries.lock()
            && let Some(c) = e.by_token.get_mut(key)
        {
            c.session.last_seen_at = now;
        }
    }

    fn forget_locally(&self, user_id: &str) {
        if let Ok(mut e) = self.entries.lock() {
            e.epoch = e.epoch.wrapping_add(1);
            e.by_token.retain(|_, c| c.user.id != user_id);
        }
    }

    /// Something about `user_id`'s sessions changed: drop them here and on every instance.
    pub(crate) async fn forget(&self, user_id: &str) {
        self.forget_locally(user_id);
        if let Err(e) = self.pubsub.publish(CHANNEL, user_id.as_bytes()).await {
            tracing::warn!(error = %e, "session change not published; other instances catch up within the TTL");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pb_domain::cache::{CacheError, Subscription};
    use pb_domain::identity::records::UserStatus;
    use pb_domain::identity::roles::UserKind;

    #[derive(Debug)]
    struct Nowhere;

    #[async_trait::async_trait]
    impl PubSub for Nowhere {
        async fn publish(&self, _: &str, _: &[u8]) -> Result<(), CacheError> {
            Ok(())
        }
        async fn subscribe(&self, _: &str) -> Result<Subscription, CacheError> {
            Err(CacheError::Unavailable("test".into()))
        }
    }

    fn records() -> (SessionRecord, UserRecord) {
        let session = SessionRecord {
            id: "ses_1".into(),
            user_id: "usr_1".into(),
            created_at: 0,
            last_seen_at: 0,
            expires_at: i64::MAX,
            revoked_at: None,
            ip: None,
            user_agent: None,
            mfa_verified_at: None,
        };
        let user = UserRecord {
            id: "usr_1".into(),
            kind: UserKind::Individual,
            email: "a@example.com".into(),
            name: "A".into(),
            phone: None,
            password_hash: String::new(),
            email_verified_at: None,
            status: UserStatus::Active,
            closed_reason: None,
            staff_role: None,
            totp_secret_enc: None,
            totp_enabled_at: None,
            totp_last_step: None,
            created_at: 0,
        };
        (session, user)
    }

    #[tokio::test]
    async fn a_read_that_began_before_a_change_is_not_cached_after_it() {
        let cache = SessionCache::start(60_000, Arc::new(Nowhere)).await;
        let (session, user) = records();
        // Read begins (miss), the session is revoked and forgotten, then the stale read lands.
        let (miss, epoch) = cache.get(b"token", 0);
        assert!(miss.is_none());
        cache.forget("usr_1").await;
        cache.put(b"token".to_vec(), epoch, session.clone(), user.clone(), Vec::new(), 0);
        assert!(cache.get(b"token", 0).0.is_none(), "the stale read was not cached");

        // A read that began after the change is cached, until the user's next change.
        let (_, epoch) = cache.get(b"token", 0);
        cache.put(b"token".to_vec(), epoch, session, user, Vec::new(), 0);
        assert!(cache.get(b"token", 1).0.is_some());
        assert!(cache.get(b"token", 60_000).0.is_none(), "expired after the TTL");
        cache.forget("usr_1").await;
        assert!(cache.get(b"token", 1).0.is_none());
        assert!(!format!("{cache:?}").contains("a@example.com"), "never printed");
    }
}
