use futures::StreamExt;
use pb_domain::{Cache, PubSub, RateLimit, RateLimitDecision};
use std::time::Duration;

pub async fn values_expire(cache: &dyn Cache) {
    cache.ping().await.unwrap();
    assert_eq!(cache.get("k").await.unwrap(), None);
    cache.set("k", b"v1", Duration::from_secs(60)).await.unwrap();
    assert_eq!(cache.get("k").await.unwrap().as_deref(), Some(&b"v1"[..]));
    cache.set("short", b"x", Duration::from_millis(50)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(cache.get("short").await.unwrap(), None, "expired");
    cache.delete("k").await.unwrap();
    assert_eq!(cache.get("k").await.unwrap(), None);
}

pub async fn set_if_absent_is_exclusive(cache: &dyn Cache) {
    assert!(cache.set_if_absent("once", b"a", Duration::from_secs(60)).await.unwrap());
    assert!(!cache.set_if_absent("once", b"b", Duration::from_secs(60)).await.unwrap());
    assert_eq!(cache.get("once").await.unwrap().as_deref(), Some(&b"a"[..]));
    assert!(cache.set_if_absent("brief", b"a", Duration::from_millis(50)).await.unwrap());
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert!(cache.set_if_absent("brief", b"b", Duration::from_secs(60)).await.unwrap(), "free after expiry");
}

pub async fn windows_count_and_reset(cache: &dyn Cache) {
    let window = Duration::from_millis(300);
    for expected in 1..=5 {
        let c = cache.incr_window("w", window).await.unwrap();
        assert_eq!(c.count, expected);
        assert!(c.resets_in <= window && c.resets_in > Duration::ZERO, "{c:?}");
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(cache.incr_window("w", window).await.unwrap().count, 1, "a new window");

    let limit = RateLimit::new(3, Duration::from_secs(60));
    for _ in 0..3 {
        assert!(matches!(limit.hit(cache, "t", "ip").await.unwrap(), RateLimitDecision::Allowed { .. }));
    }
    match limit.hit(cache, "t", "ip").await.unwrap() {
        RateLimitDecision::Limited { retry_after } => {
            assert!(retry_after.as_secs() >= 1 && retry_after.as_secs() <= 60)
        }
        other => panic!("expected a limit, got {other:?}"),
    }
    assert!(matches!(limit.hit(cache, "t", "other-ip").await.unwrap(), RateLimitDecision::Allowed { .. }));
}

/// Concurrent hits are all counted (no lost updates).
pub async fn windows_are_atomic(cache: &dyn Cache) {
    let hits = futures::future::join_all((0..50).map(|_| cache.incr_window("atomic", Duration::from_secs(60)))).await;
    let mut counts: Vec<u64> = hits.into_iter().map(|h| h.unwrap().count).collect();
    counts.sort_unstable();
    assert_eq!(counts, (1..=50).collect::<Vec<_>>());
}

/// A message published by `publisher` reaches every subscriber (possibly another instance).
pub async fn published_messages_reach_subscribers(publisher: &dyn PubSub, subscribers: &[&dyn PubSub]) {
    let mut streams = Vec::new();
    for s in subscribers {
        streams.push(s.subscribe("events").await.unwrap());
    }
    publisher.publish("elsewhere", b"not for you").await.unwrap();
    publisher.publish("events", b"hello").await.unwrap();
    for stream in &mut streams {
        let got = tokio::time::timeout(Duration::from_secs(5), stream.next()).await.unwrap();
        assert_eq!(got.as_deref(), Some(&b"hello"[..]));
    }
}
