//! Rate limits as a rule over the [`Cache`] counter, so the same rule is cluster-wide on Redis
//! and per-process in the embedded default.

use crate::cache::{Cache, CacheError};
use std::time::Duration;

/// At most `limit` hits per `window` for one key (an IP, an account, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub limit: u64,
    pub window: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitDecision {
    Allowed { remaining: u64 },
    Limited { retry_after: Duration },
}

impl RateLimit {
    pub const fn new(limit: u64, window: Duration) -> Self {
        Self { limit, window }
    }

    /// Counts one hit for `key` under the namespace `scope` and decides.
    pub async fn hit(&self, cache: &dyn Cache, scope: &str, key: &str) -> Result<RateLimitDecision, CacheError> {
        let counted = cache.incr_window(&format!("rl:{scope}:{key}"), self.window).await?;
        Ok(self.decide(counted.count, counted.resets_in))
    }

    /// The pure part: a count within the window decides.
    pub fn decide(&self, count: u64, resets_in: Duration) -> RateLimitDecision {
        if count <= self.limit {
            RateLimitDecision::Allowed { remaining: self.limit - count }
        } else {
            // Round up: a client told "0 seconds" would retry at once and be refused again.
            let secs = resets_in.as_secs() + u64::from(resets_in.subsec_nanos() > 0);
            RateLimitDecision::Limited { retry_after: Duration::from_secs(secs.max(1)) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_up_to_the_limit_then_refuses_with_a_rounded_up_retry() {
        let rl = RateLimit::new(3, Duration::from_secs(60));
        assert_eq!(rl.decide(1, Duration::from_secs(59)), RateLimitDecision::Allowed { remaining: 2 });
        assert_eq!(rl.decide(3, Duration::from_secs(59)), RateLimitDecision::Allowed { remaining: 0 });
        assert_eq!(
            rl.decide(4, Duration::from_millis(1500)),
            RateLimitDecision::Limited { retry_after: Duration::from_secs(2) }
        );
        assert_eq!(rl.decide(4, Duration::ZERO), RateLimitDecision::Limited { retry_after: Duration::from_secs(1) });
    }
}
