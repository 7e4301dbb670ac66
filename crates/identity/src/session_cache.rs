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
    entries: Mutex<HashMap<Vec<u8>, Cached>>,
    pubsub: Arc<dyn PubSub>,
}

/// Entries hold user records (password hashes, sealed TOTP secrets): never printed.
impl std::fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.entries.lock().map(|e| e.len()).unwrap_or(0);
        f.debug_struct("SessionCache").field("ttl_ms", &self.ttl_ms).field("entries", &n).finish_non_exhaustive()
    }
}

impl SessionCache {
    /// A cache whose entries live `ttl_ms`, listening on `pubsub` for other instances' changes.
    pub async fn start(ttl_ms: i64, pubsub: Arc<dyn PubSub>) -> Arc<Self> {
        let cache = Arc::new(Self { ttl_ms, entries: Mutex::new(HashMap::new()), pubsub: pubsub.clone() });
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

    pub(crate) fn get(&self, key: &[u8], now: i64) -> Option<Cached> {
        let entries = self.entries.lock().ok()?;
        entries.get(key).filter(|c| now < c.until).cloned()
    }

    pub(crate) fn put(
        &self,
        key: Vec<u8>,
        session: SessionRecord,
        user: UserRecord,
        memberships: Vec<Membership>,
        now: i64,
    ) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(key, Cached { session, user, memberships, until: now + self.ttl_ms });
        }
    }

    /// The session's `last_seen_at` was written: keep the cached copy in step.
    pub(crate) fn touched(&self, key: &[u8], now: i64) {
        if let Ok(mut entries) = self.entries.lock()
            && let Some(c) = entries.get_mut(key)
        {
            c.session.last_seen_at = now;
        }
    }

    fn forget_locally(&self, user_id: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, c| c.user.id != user_id);
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
