//! The cache and pub/sub contract on Redis (the local server, a namespace per test) and on the
//! in-process implementation.
#![allow(clippy::unwrap_used)]

use pb_cache::{InProcess, RedisCache};
use pb_testkit::{contracts::cache as contract, redis};

fn redis_cache(prefix: &str) -> RedisCache {
    RedisCache::connect(&redis::url(), prefix).unwrap()
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod redis_backend {
            use super::*;
            $( #[tokio::test] async fn $name() { contract::$name(&redis_cache(&redis::unique_prefix())).await; } )*
        }
        mod in_process {
            use super::*;
            $( #[tokio::test] async fn $name() { contract::$name(&InProcess::new()).await; } )*
        }
    };
}

on_both!(values_expire, set_if_absent_is_exclusive, windows_count_and_reset, windows_are_atomic);

#[tokio::test]
async fn redis_pubsub_reaches_every_instance() {
    let prefix = redis::unique_prefix();
    let (a, b, c) = (redis_cache(&prefix), redis_cache(&prefix), redis_cache(&prefix));
    contract::published_messages_reach_subscribers(&a, &[&b, &c]).await;
}

#[tokio::test]
async fn in_process_pubsub_reaches_every_subscriber() {
    let local = InProcess::new();
    contract::published_messages_reach_subscribers(&local, &[&local, &local]).await;
}

#[tokio::test]
async fn redis_namespaces_do_not_see_each_other() {
    use pb_domain::Cache;
    let a = redis_cache(&redis::unique_prefix());
    let b = redis_cache(&redis::unique_prefix());
    a.set("k", b"a", std::time::Duration::from_secs(60)).await.unwrap();
    assert_eq!(b.get("k").await.unwrap(), None);
}

#[tokio::test]
async fn unreachable_redis_is_an_unavailable_error() {
    use pb_domain::{Cache, CacheError};
    let cache = RedisCache::connect("redis://127.0.0.1:1", "pb:").unwrap();
    assert!(matches!(cache.ping().await, Err(CacheError::Unavailable(_))));
}

/// Redis restarted (a failover, a deploy): the first command on each instance's connection
/// after it finds the connection dropped. Each is tried again on the new one, so none fails,
/// the rate-limit script included (the restarted server no longer has it loaded).
#[tokio::test]
async fn the_first_commands_after_redis_restarts_succeed() {
    use pb_domain::{Cache, PubSub};
    use std::time::Duration;
    let mut server = pb_testkit::redis_server::RedisServer::start();
    let cache = RedisCache::connect(&server.url(), "restart:").unwrap();
    cache.incr_window("hits", Duration::from_secs(60)).await.unwrap();
    cache.set("k", b"v", Duration::from_secs(60)).await.unwrap();
    for restart in 0..4 {
        server.kill();
        server.restart();
        match restart {
            0 => assert_eq!(cache.get("k").await.unwrap(), None, "a restarted Redis kept nothing"),
            1 => assert_eq!(cache.incr_window("hits", Duration::from_secs(60)).await.unwrap().count, 1),
            2 => cache.publish("channel", b"m").await.unwrap(),
            _ => cache.ping().await.unwrap(),
        }
    }
}
