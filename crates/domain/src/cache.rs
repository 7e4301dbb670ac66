//! Cache, counters and pub/sub. Never the truth about money (ledger.md: "Redis never holds the
//! truth about a balance"); used for rate limits, short-lived challenges and fan-out of events
//! across instances. Implemented by Redis in production and in-process in the embedded default.

use async_trait::async_trait;
use futures::stream::BoxStream;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cache unavailable: {0}")]
    Unavailable(String),
    #[error("cache error: {0}")]
    Other(String),
}

/// A fixed-window counter after one increment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowCount {
    /// Hits in the current window, this one included.
    pub count: u64,
    /// Time until the window resets.
    pub resets_in: Duration,
}

#[async_trait]
pub trait Cache: Send + Sync + std::fmt::Debug + 'static {
    /// `redis` or `in_process`.
    fn backend(&self) -> &'static str;
    async fn ping(&self) -> Result<(), CacheError>;
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError>;
    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError>;
    /// Sets only when absent; true when this call set it (a lock or a one-time marker).
    async fn set_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool, CacheError>;
    async fn delete(&self, key: &str) -> Result<(), CacheError>;
    /// Increments `key` in a window that starts at its first hit and lasts `window`,
    /// atomically across every instance sharing the cache.
    async fn incr_window(&self, key: &str, window: Duration) -> Result<WindowCount, CacheError>;
}

/// Messages published on a channel, in order per publisher. Delivery is best effort: a
/// subscriber that falls behind may miss messages, so consumers treat it as a hint and read
/// the truth from the store.
pub type Subscription = BoxStream<'static, Vec<u8>>;

#[async_trait]
pub trait PubSub: Send + Sync + std::fmt::Debug + 'static {
    async fn publish(&self, channel: &str, payload: &[u8]) -> Result<(), CacheError>;
    async fn subscribe(&self, channel: &str) -> Result<Subscription, CacheError>;
}
