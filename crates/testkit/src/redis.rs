//! The local Redis (`TEST_REDIS_URL`, default `redis://127.0.0.1:6379`), with a unique key
//! prefix per test instead of a database number (Redis has only 16 of those).

pub fn url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

pub fn unique_prefix() -> String {
    format!("pbtest:{}:", uuid::Uuid::new_v4().simple())
}
