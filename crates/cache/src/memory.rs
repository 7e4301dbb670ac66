//! In-process cache and pub/sub for the embedded default, where one process serves everything.

use async_trait::async_trait;
use futures::StreamExt;
use pb_domain::{Cache, CacheError, PubSub, Subscription, WindowCount};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// Entries past this count trigger a sweep of expired ones, so memory stays bounded by what is
/// live rather than by everything ever written.
const SWEEP_THRESHOLD: usize = 10_000;
/// Messages a slow subscriber may lag behind before it misses some (best effort, see `PubSub`).
const CHANNEL_CAPACITY: usize = 1024;

#[derive(Debug)]
struct Entry {
    value: Vec<u8>,
    count: u64,
    expires_at: Instant,
}

#[derive(Debug, Default)]
pub struct InProcess {
    entries: Mutex<HashMap<String, Entry>>,
    channels: Mutex<HashMap<String, broadcast::Sender<Vec<u8>>>>,
}

impl InProcess {
    pub fn new() -> Self {
        Self::default()
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding the lock leaves plain data behind, still consistent.
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn sweep_if_large(map: &mut HashMap<String, Entry>, now: Instant) {
        if map.len() > SWEEP_THRESHOLD {
            map.retain(|_, e| e.expires_at > now);
        }
    }
}

#[async_trait]
impl Cache for InProcess {
    fn backend(&self) -> &'static str {
        "in_process"
    }

    async fn ping(&self) -> Result<(), CacheError> {
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let now = Instant::now();
        Ok(self.entries().get(key).filter(|e| e.expires_at > now).map(|e| e.value.clone()))
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        let now = Instant::now();
        let mut map = self.entries();
        Self::sweep_if_large(&mut map, now);
        map.insert(key.to_owned(), Entry { value: value.to_vec(), count: 0, expires_at: now + ttl });
        Ok(())
    }

    async fn set_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool, CacheError> {
        let now = Instant::now();
        let mut map = self.entries();
        if map.get(key).is_some_and(|e| e.expires_at > now) {
            return Ok(false);
        }
        Self::sweep_if_large(&mut map, now);
        map.insert(key.to_owned(), Entry { value: value.to_vec(), count: 0, expires_at: now + ttl });
        Ok(true)
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.entries().remove(key);
        Ok(())
    }

    async fn incr_window(&self, key: &str, window: Duration) -> Result<WindowCount, CacheError> {
        let now = Instant::now();
        let mut map = self.entries();
        Self::sweep_if_large(&mut map, now);
        let entry = map
            .entry(key.to_owned())
            .and_modify(|e| {
                if e.expires_at <= now {
                    e.count = 0;
                    e.expires_at = now + window;
                }
            })
            .or_insert_with(|| Entry { value: Vec::new(), count: 0, expires_at: now + window });
        entry.count = entry.count.saturating_add(1);
        Ok(WindowCount { count: entry.count, resets_in: entry.expires_at.saturating_duration_since(now) })
    }
}

#[async_trait]
impl PubSub for InProcess {
    async fn publish(&self, channel: &str, payload: &[u8]) -> Result<(), CacheError> {
        let channels = self.channels.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(sender) = channels.get(channel) {
            // No receivers is not an error: nobody is listening right now.
            let _ = sender.send(payload.to_vec());
        }
        Ok(())
    }

    async fn subscribe(&self, channel: &str) -> Result<Subscription, CacheError> {
        let receiver = {
            let mut channels = self.channels.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            channels.retain(|_, s| s.receiver_count() > 0);
            channels.entry(channel.to_owned()).or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0).subscribe()
        };
        let stream = futures::stream::unfold(receiver, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(message) => return Some((message, rx)),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "in-process subscriber lagged; messages dropped");
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        });
        Ok(stream.boxed())
    }
}
