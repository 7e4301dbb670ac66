//! A short-lived, per-instance cache of authenticated sessions, so a request does not read its
//! session, user and memberships from the database every time (two queries per request were a
//! large share of the ledger benchmark's database time). Correctness does not rest on the TTL:
//! every change that alters what a session may do — sign-out, revocation, password change,
//! step-up, MFA on/off, email verification, staff role, membership, closure — drops the user's
//! entries here and is published on `identity.sessions` so every other instance drops them too.
//! The TTL (`SESSION_CACHE_SECONDS`, 5 s by default) bounds staleness only if that message is
//! lost (pub/sub is best effort); 0 turns the cache off.
//!
//! Redis forgets subscribers when it restarts or their connection breaks, and what is published
//! meanwhile reaches no one. So the cache keeps entries only while it is subscribed: when the
//! channel closes it drops them all and serves from the database, subscribes again (1 s, then
//! doubling to 30 s between attempts), and caches anew once it hears the channel again. The
//! gauge `session_cache_listening` says which state it is in, the counter
//! `session_cache_subscriptions_total` how often it subscribed.

use pb_domain::cache::{PubSub, Subscription};
use pb_domain::identity::records::{Membership, SessionRecord, UserRecord};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

pub const CHANNEL: &str = "identity.sessions";
/// Beyond this many entries the cache starts afresh (a bound, not an eviction policy).
const MAX_ENTRIES: usize = 100_000;
/// Between attempts to subscribe again: the first wait, and the longest.
const RESUBSCRIBE_FIRST: Duration = Duration::from_secs(1);
const RESUBSCRIBE_MAX: Duration = Duration::from_secs(30);

/// What a session token stands for: shared by the cache and the requests it serves, so a hit
/// is a reference count, not a copy of every string in the records (up to eleven, on every
/// authenticated request).
#[derive(Clone)]
pub(crate) struct SignedIn {
    pub session: SessionRecord,
    pub user: UserRecord,
    pub memberships: Vec<Membership>,
}

struct Cached {
    signed_in: Arc<SignedIn>,
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
    /// Subscribed to other instances' changes: only then are entries kept.
    listening: bool,
}

/// Entries hold user records (password hashes, sealed TOTP secrets): never printed.
impl std::fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.entries.lock().map(|e| e.by_token.len()).unwrap_or(0);
        f.debug_struct("SessionCache").field("ttl_ms", &self.ttl_ms).field("entries", &n).finish_non_exhaustive()
    }
}

impl SessionCache {
    /// A cache whose entries live `ttl_ms`, listening on `pubsub` for other instances' changes
    /// (subscribed before it returns, if the channel can be reached).
    pub async fn start(ttl_ms: i64, pubsub: Arc<dyn PubSub>) -> Arc<Self> {
        let cache = Arc::new(Self { ttl_ms, entries: Mutex::new(Entries::default()), pubsub: pubsub.clone() });
        let first = cache.subscribe().await;
        tokio::spawn(listen(Arc::downgrade(&cache), first));
        cache
    }

    async fn subscribe(&self) -> Option<Subscription> {
        match self.pubsub.subscribe(CHANNEL).await {
            Ok(messages) => {
                metrics::counter!("session_cache_subscriptions_total").increment(1);
                self.set_listening(true);
                Some(messages)
            }
            Err(e) => {
                tracing::warn!(error = %e, "session cache not subscribed; sessions are read from the database");
                None
            }
        }
    }

    /// Starts or stops keeping entries. Either way, what is cached goes, and a read that began
    /// before is not cached after (a change published while not listening was not heard).
    fn set_listening(&self, on: bool) {
        metrics::gauge!("session_cache_listening").set(if on { 1.0 } else { 0.0 });
        if let Ok(mut e) = self.entries.lock() {
            e.listening = on;
            e.epoch = e.epoch.wrapping_add(1);
            e.by_token.clear();
        }
    }

    /// The cached session, and the epoch to hand back to `put` if it is read from the store.
    pub(crate) fn get(&self, key: &[u8], now: i64) -> (Option<Arc<SignedIn>>, u64) {
        match self.entries.lock() {
            Ok(e) => {
                (e.by_token.get(key).filter(|c| e.listening && now < c.until).map(|c| c.signed_in.clone()), e.epoch)
            }
            Err(_) => (None, u64::MAX),
        }
    }

    /// Caches what was read since `get` returned `epoch`, unless something was forgotten since.
    pub(crate) fn put(&self, key: Vec<u8>, epoch: u64, signed_in: Arc<SignedIn>, now: i64) {
        if let Ok(mut e) = self.entries.lock() {
            if e.epoch != epoch || !e.listening {
                return;
            }
            if e.by_token.len() >= MAX_ENTRIES {
                e.by_token.clear();
            }
            e.by_token.insert(key, Cached { signed_in, until: now + self.ttl_ms });
        }
    }

    /// The session's `last_seen_at` was written: keep the cached copy in step (a new copy,
    /// once a minute per session at most: requests holding the old one keep what they read).
    pub(crate) fn touched(&self, key: &[u8], now: i64) {
        if let Ok(mut e) = self.entries.lock()
            && let Some(c) = e.by_token.get_mut(key)
        {
            Arc::make_mut(&mut c.signed_in).session.last_seen_at = now;
        }
    }

    fn forget_locally(&self, user_id: &str) {
        if let Ok(mut e) = self.entries.lock() {
            e.epoch = e.epoch.wrapping_add(1);
            e.by_token.retain(|_, c| c.signed_in.user.id != user_id);
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

/// Applies other instances' changes while subscribed; when the channel closes (Redis restarted,
/// the connection broke), stops caching and subscribes again until it can. Ends with the cache.
async fn listen(cache: Weak<SessionCache>, mut messages: Option<Subscription>) {
    use futures::StreamExt;
    let mut wait = RESUBSCRIBE_FIRST;
    loop {
        if let Some(mut stream) = messages.take() {
            wait = RESUBSCRIBE_FIRST;
            while let Some(m) = stream.next().await {
                let Some(cache) = cache.upgrade() else { return };
                cache.forget_locally(&String::from_utf8_lossy(&m));
            }
            let Some(cache) = cache.upgrade() else { return };
            cache.set_listening(false);
            tracing::warn!("session cache's channel closed; sessions are read from the database until it is back");
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(RESUBSCRIBE_MAX);
        let Some(cache) = cache.upgrade() else { return };
        messages = cache.subscribe().await;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use futures::channel::mpsc;
    use pb_domain::cache::CacheError;
    use pb_domain::identity::records::UserStatus;
    use pb_domain::identity::roles::UserKind;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// One channel in memory, as Redis would carry it, whose subscriptions the test can cut
    /// (Redis restarted) and refuse (Redis down).
    #[derive(Debug, Default)]
    struct Channel {
        subscribers: Mutex<Vec<mpsc::UnboundedSender<Vec<u8>>>>,
        down: AtomicBool,
    }

    impl Channel {
        /// Redis goes down: every subscription ends, and new ones are refused until `up`.
        fn down(&self) {
            self.down.store(true, Ordering::SeqCst);
            self.subscribers.lock().unwrap().clear();
        }

        fn up(&self) {
            self.down.store(false, Ordering::SeqCst);
        }

        fn subscribed(&self) -> usize {
            self.subscribers.lock().unwrap().len()
        }
    }

    #[async_trait::async_trait]
    impl PubSub for Channel {
        async fn publish(&self, _: &str, payload: &[u8]) -> Result<(), CacheError> {
            for s in self.subscribers.lock().unwrap().iter() {
                let _ = s.unbounded_send(payload.to_vec());
            }
            Ok(())
        }
        async fn subscribe(&self, _: &str) -> Result<Subscription, CacheError> {
            if self.down.load(Ordering::SeqCst) {
                return Err(CacheError::Unavailable("down".into()));
            }
            let (tx, rx) = mpsc::unbounded();
            self.subscribers.lock().unwrap().push(tx);
            Ok(rx.boxed())
        }
    }

    /// Lets the listening task run (time is paused: sleeps end at once when all else waits).
    async fn settle() {
        tokio::time::sleep(Duration::from_millis(1)).await;
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

    fn signed_in(session: SessionRecord, user: UserRecord) -> Arc<SignedIn> {
        Arc::new(SignedIn { session, user, memberships: Vec::new() })
    }

    #[tokio::test]
    async fn a_read_that_began_before_a_change_is_not_cached_after_it() {
        let cache = SessionCache::start(60_000, Arc::new(Channel::default())).await;
        let (session, user) = records();
        // Read begins (miss), the session is revoked and forgotten, then the stale read lands.
        let (miss, epoch) = cache.get(b"token", 0);
        assert!(miss.is_none());
        cache.forget("usr_1").await;
        cache.put(b"token".to_vec(), epoch, signed_in(session.clone(), user.clone()), 0);
        assert!(cache.get(b"token", 0).0.is_none(), "the stale read was not cached");

        // A read that began after the change is cached, until the user's next change.
        let (_, epoch) = cache.get(b"token", 0);
        cache.put(b"token".to_vec(), epoch, signed_in(session, user), 0);
        assert!(cache.get(b"token", 1).0.is_some());
        assert!(cache.get(b"token", 60_000).0.is_none(), "expired after the TTL");
        cache.forget("usr_1").await;
        assert!(cache.get(b"token", 1).0.is_none());
        assert!(!format!("{cache:?}").contains("a@example.com"), "never printed");
    }

    /// A hit shares the cached records; a touch gives the cache a new copy and leaves the one a
    /// request already holds as it read it.
    #[tokio::test]
    async fn a_touch_updates_the_cache_not_what_a_request_holds() {
        let cache = SessionCache::start(60_000, Arc::new(Channel::default())).await;
        cache_one(&cache, 0);
        let held = cache.get(b"token", 1).0.unwrap();
        assert!(Arc::ptr_eq(&held, &cache.get(b"token", 1).0.unwrap()), "a hit is the cached copy, not a clone");
        cache.touched(b"token", 61_000);
        assert_eq!(held.session.last_seen_at, 0);
        assert_eq!(cache.get(b"token", 2).0.unwrap().session.last_seen_at, 61_000);
    }

    fn cache_one(cache: &SessionCache, now: i64) {
        let (session, user) = records();
        let (_, epoch) = cache.get(b"token", now);
        cache.put(b"token".to_vec(), epoch, signed_in(session, user), now);
    }

    #[tokio::test(start_paused = true)]
    async fn while_the_channel_is_gone_nothing_is_cached_and_it_is_subscribed_again() {
        let channel = Arc::new(Channel::default());
        let cache = SessionCache::start(60_000, channel.clone()).await;
        cache_one(&cache, 0);
        assert!(cache.get(b"token", 1).0.is_some(), "cached while subscribed");

        // Redis restarts: the subscription ends, and what is published meanwhile is lost.
        channel.down();
        settle().await;
        assert!(cache.get(b"token", 1).0.is_none(), "what was cached went with the channel");
        cache_one(&cache, 1);
        assert!(cache.get(b"token", 2).0.is_none(), "nothing is cached while not subscribed");

        // Attempts while it is down fail (after 1, 2 and 4 s); the one after it is back works.
        tokio::time::sleep(Duration::from_secs(7)).await;
        assert_eq!(channel.subscribed(), 0);
        channel.up();
        tokio::time::sleep(Duration::from_secs(8)).await;
        assert_eq!(channel.subscribed(), 1, "subscribed again");
        cache_one(&cache, 3);
        assert!(cache.get(b"token", 4).0.is_some(), "cached again");

        // Another instance's change is heard again.
        channel.publish(CHANNEL, b"usr_1").await.unwrap();
        settle().await;
        assert!(cache.get(b"token", 5).0.is_none(), "the change published after the restart was applied");
    }

    #[tokio::test(start_paused = true)]
    async fn a_cache_started_while_the_channel_is_down_caches_once_subscribed() {
        let channel = Arc::new(Channel::default());
        channel.down();
        let cache = SessionCache::start(60_000, channel.clone()).await;
        cache_one(&cache, 0);
        assert!(cache.get(b"token", 1).0.is_none());
        channel.up();
        tokio::time::sleep(Duration::from_secs(2)).await;
        cache_one(&cache, 2);
        assert!(cache.get(b"token", 3).0.is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn the_listening_task_ends_with_the_cache() {
        let channel = Arc::new(Channel::default());
        let cache = SessionCache::start(60_000, channel.clone()).await;
        channel.down();
        drop(cache);
        channel.up();
        tokio::time::sleep(Duration::from_secs(120)).await;
        assert_eq!(channel.subscribed(), 0, "no subscription for a cache that is gone");
    }
}
