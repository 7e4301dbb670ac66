//! Sign-in with growing lockout (ASVS 6.3.1 / 2.4): per client address and per account.
//! Unknown emails and wrong passwords get the same answer after the same Argon2 work.

use crate::context::{RequestContext, event};
use crate::{IdentityError, IdentityService, passwords};
use pb_domain::identity::audit::kinds;
use pb_domain::identity::email::EmailAddress;
use pb_domain::identity::ids::new_id;
use pb_domain::identity::password_policy::Password;
use pb_domain::identity::records::*;
use pb_domain::identity::tokens::{hash_token, new_token};
use pb_domain::{RateLimit, RateLimitDecision};
use std::time::Duration;

const FAILURE_WINDOW: Duration = Duration::from_secs(3600);
const MAX_LOCK: Duration = Duration::from_secs(3600);
const CHALLENGE_TTL_MS: i64 = 5 * 60 * 1000;
pub(crate) const CHALLENGE_MAX_ATTEMPTS: i64 = 5;

/// A session just created. The token is shown once and never stored.
#[derive(Clone)]
pub struct NewSession {
    pub user: UserRecord,
    pub session: SessionRecord,
    pub token: String,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession").field("session", &self.session.id).finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub enum LoginOutcome {
    Session(Box<NewSession>),
    MfaRequired { challenge_id: String },
}

fn lock_key(email: &str) -> String {
    format!("login_lock:{email}")
}

impl IdentityService {
    pub async fn login(
        &self,
        email: &EmailAddress,
        password: Password,
        ctx: &RequestContext,
    ) -> Result<LoginOutcome, IdentityError> {
        let email_key = email.normalized();
        self.check_not_locked(&email_key, ctx).await?;

        let user = self.store.user_by_email(&email_key).await?;
        let hash = user.as_ref().map_or_else(|| self.dummy_hash.clone(), |u| u.password_hash.clone());
        let password_ok = passwords::verify(password.expose().to_owned(), hash).await?;
        let user = match user {
            Some(u) if password_ok && u.status == UserStatus::Active => u,
            other => {
                self.record_failure(&email_key, other.as_ref().map(|u| u.id.as_str()), ctx, "password").await?;
                return Err(IdentityError::InvalidCredentials);
            }
        };
        self.cache.delete(&format!("login_fail:{email_key}")).await?;

        if user.totp_enabled_at.is_some() {
            let challenge = MfaChallenge {
                id: new_id("mfa"),
                user_id: user.id.clone(),
                expires_at: self.now() + CHALLENGE_TTL_MS,
                attempts: 0,
            };
            self.store.create_mfa_challenge(challenge.clone()).await?;
            return Ok(LoginOutcome::MfaRequired { challenge_id: challenge.id });
        }
        Ok(LoginOutcome::Session(Box::new(self.start_session(user, false, ctx).await?)))
    }

    /// Refuses while the client address or the account is locked.
    pub(crate) async fn check_not_locked(&self, email_key: &str, ctx: &RequestContext) -> Result<(), IdentityError> {
        let per_ip = RateLimit::new(self.settings.login_attempts_per_ip, Duration::from_secs(15 * 60));
        let ip = ctx.ip.as_deref().unwrap_or("unknown");
        if let RateLimitDecision::Limited { retry_after } = per_ip.hit(self.cache.as_ref(), "login_ip", ip).await? {
            return Err(IdentityError::Locked { retry_after });
        }
        if let Some(until) = self.cache.get(&lock_key(email_key)).await? {
            let until = std::str::from_utf8(&until).ok().and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
            let left = until - self.now();
            if left > 0 {
                let secs = u64::try_from(left).unwrap_or(0).div_ceil(1000);
                return Err(IdentityError::Locked { retry_after: Duration::from_secs(secs.max(1)) });
            }
        }
        Ok(())
    }

    /// Counts a failure; past the threshold the account locks for 1, 2, 4 … minutes (max 1 h).
    pub(crate) async fn record_failure(
        &self,
        email_key: &str,
        user_id: Option<&str>,
        ctx: &RequestContext,
        factor: &str,
    ) -> Result<(), IdentityError> {
        let now = self.now();
        let failures = self.cache.incr_window(&format!("login_fail:{email_key}"), FAILURE_WINDOW).await?.count;
        let kind = if factor == "password" { kinds::LOGIN_FAILED } else { kinds::MFA_CHALLENGE_FAILED };
        self.store
            .append_audit(event(
                kind,
                now,
                None,
                user_id,
                ctx,
                serde_json::json!({"factor": factor, "failures": failures}),
            ))
            .await?;
        if failures >= self.settings.lockout_threshold {
            let exponent = u32::try_from(failures - self.settings.lockout_threshold).unwrap_or(u32::MAX).min(6);
            let lock = Duration::from_secs(60 * 2u64.pow(exponent)).min(MAX_LOCK);
            let until = now + i64::try_from(lock.as_millis()).unwrap_or(i64::MAX);
            self.cache.set(&lock_key(email_key), until.to_string().as_bytes(), lock).await?;
            self.store
                .append_audit(event(
                    kinds::LOGIN_LOCKED,
                    now,
                    None,
                    user_id,
                    ctx,
                    serde_json::json!({"lock_seconds": lock.as_secs()}),
                ))
                .await?;
            tracing::warn!(
                user_id = user_id.unwrap_or("unknown"),
                lock_secs = lock.as_secs(),
                "sign-in locked after repeated failures"
            );
        }
        Ok(())
    }

    pub(crate) async fn start_session(
        &self,
        user: UserRecord,
        mfa_passed: bool,
        ctx: &RequestContext,
    ) -> Result<NewSession, IdentityError> {
        let now = self.now();
        let token = new_token("pbs_");
        let session = SessionRecord {
            id: new_id("ses"),
            user_id: user.id.clone(),
            created_at: now,
            last_seen_at: now,
            expires_at: now + self.settings.session_absolute_ms,
            revoked_at: None,
            ip: ctx.ip.clone(),
            user_agent: ctx.user_agent.clone(),
            mfa_verified_at: mfa_passed.then_some(now),
        };
        let audit = event(
            kinds::LOGIN_SUCCEEDED,
            now,
            Some(&user.id),
            Some(&user.id),
            ctx,
            serde_json::json!({"session_id": session.id, "mfa": mfa_passed}),
        );
        self.store.create_session(session.clone(), &hash_token(&token), audit).await?;
        Ok(NewSession { user, session, token })
    }
}
