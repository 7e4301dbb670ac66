//! Protocol Bank's domain: the rules of the bank and the traits it needs from the outside world.
//!
//! This crate does no IO. Storage, cache, pub/sub and providers are traits implemented in other
//! crates (see `docs/architecture.md`), so that the same rules run on SQLite, PostgreSQL, Redis or
//! in-process implementations, and tests can fix time and randomness.
#![forbid(unsafe_code)]

pub mod cache;
pub mod clock;
pub mod custody;
pub mod environment;
pub mod health;
pub mod identity;
pub mod ledger;
pub mod notify;
pub mod rate_limit;
pub mod secret_box;
pub mod store;

pub use cache::{Cache, CacheError, PubSub, Subscription, WindowCount};
pub use clock::{Clock, SystemClock};
pub use environment::Environment;
pub use health::{ComponentCheck, PoolStats};
pub use rate_limit::{RateLimit, RateLimitDecision};
pub use store::{LeaseStore, MigrationReport, Store, StoreError};
