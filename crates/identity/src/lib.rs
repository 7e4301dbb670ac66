//! Identity use cases (issue 3, security.md). The API calls these with parsed input; they
//! reach storage, cache and time only through the domain's traits.
#![forbid(unsafe_code)]

mod api_keys;
mod context;
mod error;
mod login;
mod mfa;
mod passwords;
mod register;
mod session_cache;
mod sessions;
mod staff;

pub use api_keys::NewApiKey;
pub use context::RequestContext;
pub use error::IdentityError;
pub use login::{LoginOutcome, NewSession};
pub use mfa::TotpEnrolment;
pub use register::Registration;
pub use staff::NewStaff;

use pb_domain::identity::store::IdentityStore;
use pb_domain::identity::tokens::derive_key;
use pb_domain::secret_box::SecretBox;
use pb_domain::{Cache, Clock, Environment};
use std::sync::Arc;

/// Tunables, from configuration.
#[derive(Debug, Clone)]
pub struct IdentitySettings {
    pub environment: Environment,
    /// Base of links in emails, e.g. `https://app.example.com`.
    pub public_url: String,
    pub session_idle_ms: i64,
    pub session_absolute_ms: i64,
    /// How recent an MFA check must be for step-up operations.
    pub step_up_max_age_ms: i64,
    /// Failed sign-ins for one email before it is locked (the lock then grows).
    pub lockout_threshold: u64,
    /// Sign-in attempts per client address per 15 minutes.
    pub login_attempts_per_ip: u64,
}

impl IdentitySettings {
    pub fn new(environment: Environment, public_url: String) -> Self {
        Self {
            environment,
            public_url,
            session_idle_ms: 30 * 60 * 1000,
            session_absolute_ms: 12 * 3600 * 1000,
            step_up_max_age_ms: 5 * 60 * 1000,
            lockout_threshold: 10,
            login_attempts_per_ip: 100,
        }
    }
}

pub struct IdentityService {
    store: Arc<dyn IdentityStore>,
    cache: Arc<dyn Cache>,
    clock: Arc<dyn Clock>,
    settings: IdentitySettings,
    totp_box: SecretBox,
    csrf_key: [u8; 32],
    /// A real Argon2id hash of a random password: verified against when the email is unknown,
    /// so unknown emails cost the same time as wrong passwords.
    dummy_hash: String,
    sessions: Option<Arc<session_cache::SessionCache>>,
}

impl std::fmt::Debug for IdentityService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityService").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl IdentityService {
    /// `root_secret` is SECRET_KEY; per-purpose keys are derived from it.
    pub async fn new(
        store: Arc<dyn IdentityStore>,
        cache: Arc<dyn Cache>,
        clock: Arc<dyn Clock>,
        settings: IdentitySettings,
        root_secret: &[u8],
    ) -> Result<Self, IdentityError> {
        let dummy_hash = passwords::hash(pb_domain::identity::tokens::new_token("")).await?;
        Ok(Self {
            store,
            cache,
            clock,
            settings,
            totp_box: SecretBox::new(&derive_key(root_secret, "pb/totp-secret/v1"), "totp-secret"),
            csrf_key: derive_key(root_secret, "pb/csrf/v1"),
            dummy_hash,
            sessions: None,
        })
    }

    /// Caches authenticated sessions for `ttl_ms` (0: off), dropping a user's entries on every
    /// instance (through `pubsub`) when something about their sessions changes.
    pub async fn with_session_cache(mut self, ttl_ms: i64, pubsub: Arc<dyn pb_domain::cache::PubSub>) -> Self {
        if ttl_ms > 0 {
            self.sessions = Some(session_cache::SessionCache::start(ttl_ms, pubsub).await);
        }
        self
    }

    /// `user_id`'s sessions may now authenticate differently: forget any cached copy everywhere.
    async fn sessions_changed(&self, user_id: &str) {
        if let Some(cache) = &self.sessions {
            cache.forget(user_id).await;
        }
    }

    pub fn settings(&self) -> &IdentitySettings {
        &self.settings
    }

    /// The CSRF token for a session token (see `tokens::csrf_token`).
    pub fn csrf_token(&self, session_token: &str) -> String {
        pb_domain::identity::tokens::csrf_token(&self.csrf_key, session_token)
    }

    fn now(&self) -> i64 {
        self.clock.now_ms()
    }
}
