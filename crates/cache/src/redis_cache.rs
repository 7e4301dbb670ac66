//! Redis implementation: shared by every instance, so rate limits are cluster-wide and
//! published events reach subscribers on all instances.

use async_trait::async_trait;
use futures::StreamExt;
use pb_domain::{Cache, CacheError, PubSub, Subscription, WindowCount};
use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::time::Duration;

/// INCR and start the window on the first hit, atomically; returns {count, ms left}.
/// A key that somehow lost its expiry gets one again, so a window can never stick forever.
const INCR_WINDOW: &str = r"
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if count == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
";

pub struct RedisCache {
    client: redis::Client,
    manager: ConnectionManager,
    /// Every key and channel is namespaced, so several deployments (or tests) can share a server.
    prefix: String,
    script: redis::Script,
}

impl std::fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The client's connection info may hold a password.
        f.debug_struct("RedisCache").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

fn unavailable(e: &redis::RedisError) -> CacheError {
    if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() || e.is_connection_refusal() {
        CacheError::Unavailable(e.to_string())
    } else {
        CacheError::Other(e.to_string())
    }
}

impl RedisCache {
    /// Connects lazily: the process starts (and `/ready` says Redis is down) when Redis is not
    /// answering yet; commands reconnect with backoff.
    pub fn connect(url: &str, prefix: &str) -> Result<Self, CacheError> {
        // The URL may hold a password: keep it out of the error.
        let client =
            redis::Client::open(url).map_err(|_| CacheError::Other("REDIS_URL is not a valid redis:// URL".into()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let manager = ConnectionManager::new_lazy_with_config(client.clone(), config).map_err(|e| unavailable(&e))?;
        Ok(Self { client, manager, prefix: prefix.to_owned(), script: redis::Script::new(INCR_WINDOW) })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// Runs `command` on the shared connection, and once more if that connection turned out to
    /// be dropped (Redis restarted or failed over since the last command). The manager
    /// reconnects on that error, but only the next command gets the new connection: without a
    /// second try, the first command after every restart fails, a sign-in or a published
    /// session change among them. Only for commands that may run twice (a lost reply after
    /// the server ran one is the rare case; a restarted server ran nothing).
    async fn retried<T, F, Fut>(&self, command: F) -> Result<T, CacheError>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        match command(self.manager.clone()).await {
            // Not after a timeout: a Redis that is slow to answer would make every caller wait
            // twice as long for its 503.
            Err(e) if (e.is_connection_dropped() || e.is_io_error()) && !e.is_timeout() => {
                command(self.manager.clone()).await.map_err(|e| unavailable(&e))
            }
            other => other.map_err(|e| unavailable(&e)),
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[async_trait]
impl Cache for RedisCache {
    fn backend(&self) -> &'static str {
        "redis"
    }

    async fn ping(&self) -> Result<(), CacheError> {
        let _: String = self.retried(|mut conn| async move { redis::cmd("PING").query_async(&mut conn).await }).await?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let key = &self.key(key);
        self.retried(|mut conn| async move { conn.get(key).await }).await
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        let key = &self.key(key);
        self.retried(|mut conn| async move { conn.pset_ex(key, value, millis(ttl)).await }).await
    }

    async fn set_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool, CacheError> {
        // Not retried: had the first try set the key with its reply lost, a second would answer
        // "already there".
        let mut conn = self.manager.clone();
        let set: Option<String> = redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut conn)
            .await
            .map_err(|e| unavailable(&e))?;
        Ok(set.is_some())
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        let key = &self.key(key);
        self.retried(|mut conn| async move { conn.del(key).await }).await
    }

    async fn incr_window(&self, key: &str, window: Duration) -> Result<WindowCount, CacheError> {
        // Retried: a hit counted twice only makes the limit stricter for one window.
        let key = &self.key(key);
        let (count, ttl_ms): (u64, i64) = self
            .retried(|mut conn| async move { self.script.key(key).arg(millis(window)).invoke_async(&mut conn).await })
            .await?;
        Ok(WindowCount { count, resets_in: Duration::from_millis(u64::try_from(ttl_ms).unwrap_or(0)) })
    }
}

#[async_trait]
impl PubSub for RedisCache {
    async fn publish(&self, channel: &str, payload: &[u8]) -> Result<(), CacheError> {
        // Retried: delivery is at least once anyway (the outbox relay publishes a chunk again
        // after any failure, and consumers dedupe by event id); the session cache forgets a user
        // twice as well as once.
        let channel = &self.key(channel);
        let _: i64 = self.retried(|mut conn| async move { conn.publish(channel, payload).await }).await?;
        Ok(())
    }

    async fn subscribe(&self, channel: &str) -> Result<Subscription, CacheError> {
        // One connection per subscription: subscribed connections cannot run other commands.
        let mut pubsub = self.client.get_async_pubsub().await.map_err(|e| unavailable(&e))?;
        pubsub.subscribe(self.key(channel)).await.map_err(|e| unavailable(&e))?;
        Ok(pubsub.into_on_message().map(|msg| msg.get_payload_bytes().to_vec()).boxed())
    }
}
