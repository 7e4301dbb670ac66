//! What every handler can reach: the domain's services behind traits, and the API's settings.

use axum::http::HeaderValue;
use pb_domain::{Cache, Environment, PubSub, Store};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Settings the HTTP layer needs; built by the server from its configuration.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    pub environment: Environment,
    /// Origins allowed to call the API from a browser (CORS). Empty: same-origin only.
    pub cors_origins: Vec<HeaderValue>,
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    /// How many reverse proxies in front of us append to `X-Forwarded-For` (0: trust none).
    pub trusted_proxy_hops: usize,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            environment: Environment::Development,
            cors_origins: Vec::new(),
            max_body_bytes: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            trusted_proxy_hops: 0,
        }
    }
}

#[derive(Debug)]
pub struct Services {
    pub store: Arc<dyn Store>,
    pub cache: Arc<dyn pb_domain::Cache>,
    pub pubsub: Arc<dyn PubSub>,
    pub identity: Arc<pb_identity::IdentityService>,
    pub ledger: Arc<pb_ledger::LedgerService>,
    pub custody: Arc<pb_custody::CustodyService>,
}

#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
pub struct Inner {
    pub services: Services,
    pub settings: ApiSettings,
    draining: AtomicBool,
}

impl AppState {
    pub fn new(services: Services, settings: ApiSettings) -> Self {
        Self(Arc::new(Inner { services, settings, draining: AtomicBool::new(false) }))
    }

    pub fn store(&self) -> &dyn Store {
        self.0.services.store.as_ref()
    }

    pub fn cache(&self) -> &dyn Cache {
        self.0.services.cache.as_ref()
    }

    pub fn pubsub(&self) -> &dyn PubSub {
        self.0.services.pubsub.as_ref()
    }

    pub fn pubsub_arc(&self) -> Arc<dyn PubSub> {
        self.0.services.pubsub.clone()
    }

    pub fn identity(&self) -> &pb_identity::IdentityService {
        self.0.services.identity.as_ref()
    }

    pub fn ledger(&self) -> &pb_ledger::LedgerService {
        self.0.services.ledger.as_ref()
    }

    pub fn custody(&self) -> &pb_custody::CustodyService {
        self.0.services.custody.as_ref()
    }

    pub fn custody_arc(&self) -> Arc<pb_custody::CustodyService> {
        self.0.services.custody.clone()
    }

    pub fn ledger_arc(&self) -> Arc<pb_ledger::LedgerService> {
        self.0.services.ledger.clone()
    }

    pub fn settings(&self) -> &ApiSettings {
        &self.0.settings
    }

    /// Called when shutdown begins: `/ready` answers 503 so the load balancer stops sending
    /// new requests while those in flight finish.
    pub fn start_draining(&self) {
        self.0.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.0.draining.load(Ordering::SeqCst)
    }
}

/// The caller's address: the socket peer, or — behind `trusted_proxy_hops` proxies — the
/// address the outermost trusted proxy saw, read from the right of `X-Forwarded-For` so a
/// client cannot spoof it by sending its own header.
pub fn client_ip(peer: Option<IpAddr>, forwarded_for: Option<&str>, trusted_hops: usize) -> Option<IpAddr> {
    if trusted_hops == 0 {
        return peer;
    }
    let hops: Vec<&str> = forwarded_for.map(|v| v.split(',').map(str::trim).collect()).unwrap_or_default();
    hops.len().checked_sub(trusted_hops).and_then(|i| hops.get(i)).and_then(|s| s.parse().ok()).or(peer)
}

#[cfg(test)]
mod tests {
    use super::client_ip;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn forwarded_for_is_read_from_the_right_and_only_when_trusted() {
        let peer = Some(ip("10.0.0.1"));
        assert_eq!(client_ip(peer, Some("6.6.6.6, 1.2.3.4"), 0), peer);
        assert_eq!(client_ip(peer, Some("6.6.6.6, 1.2.3.4"), 1), Some(ip("1.2.3.4")));
        assert_eq!(client_ip(peer, Some("6.6.6.6, 1.2.3.4"), 2), Some(ip("6.6.6.6")));
        assert_eq!(client_ip(peer, Some("1.2.3.4"), 3), peer);
        assert_eq!(client_ip(peer, None, 1), peer);
    }
}
