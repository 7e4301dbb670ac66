//! Cache, rate-limit counters and pub/sub: Redis for production (shared by every instance) and
//! an in-process implementation for the embedded default (one instance only).
#![forbid(unsafe_code)]

mod memory;
mod redis_cache;

pub use memory::InProcess;
pub use redis_cache::RedisCache;
