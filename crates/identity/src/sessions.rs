//! Authenticating requests and managing sessions. A request reads its session row (or the
//! instance's short-lived copy, which every revocation drops on every instance: see
//! `session_cache`), so a revocation on any instance takes effect everywhere at once.

use crate::context::{RequestContext, event};
use crate::session_cache::SignedIn;
use crate::{IdentityError, IdentityService};
use pb_domain::identity::audit::kinds;
use pb_domain::identity::caller::{Caller, Principal};
use pb_domain::identity::records::*;
use pb_domain::identity::tokens::hash_token;

/// `last_seen_at` is written at most this often, to keep reads from turning into writes.
const TOUCH_EVERY_MS: i64 = 60 * 1000;

impl IdentityService {
    /// The caller behind a session token, or `Unauthenticated`.
    pub async fn authenticate_session(&self, token: &str) -> Result<Caller, IdentityError> {
        let now = self.now();
        let key = hash_token(token);
        let (cached, epoch) = self.sessions.as_ref().map_or((None, 0), |c| c.get(&key, now));
        let signed_in = match cached {
            Some(s) => s,
            None => {
                let (session, user) =
                    self.store.session_with_user(&key).await?.ok_or(IdentityError::Unauthenticated)?;
                let memberships = self.store.memberships(&user.id).await?;
                let s = std::sync::Arc::new(SignedIn { session, user, memberships });
                if let Some(cache) = &self.sessions {
                    cache.put(key.to_vec(), epoch, s.clone(), now);
                }
                s
            }
        };
        let SignedIn { session, user, memberships } = &*signed_in;
        // Decided on every request, cached or not: expiry and idleness move with the clock.
        let live = session.revoked_at.is_none()
            && now < session.expires_at
            && now - session.last_seen_at < self.settings.session_idle_ms;
        if !live {
            return Err(IdentityError::Unauthenticated);
        }
        if user.status != UserStatus::Active {
            return Err(IdentityError::Unauthenticated);
        }
        if now - session.last_seen_at > TOUCH_EVERY_MS {
            self.store.touch_session(&session.id, now).await?;
            if let Some(cache) = &self.sessions {
                cache.touched(&key, now);
            }
        }
        Ok(Caller {
            principal: Principal::Session { user_id: user.id.clone(), session_id: session.id.clone() },
            kind: Some(user.kind),
            staff_role: user.staff_role,
            memberships: memberships.clone(),
            email_verified: user.email_verified_at.is_some(),
            mfa_enabled: user.totp_enabled_at.is_some(),
            mfa_verified_at: session.mfa_verified_at,
        })
    }

    pub async fn logout(&self, caller: &Caller, ctx: &RequestContext) -> Result<(), IdentityError> {
        if let (Some(user_id), Some(session_id)) = (caller.user_id(), caller.session_id()) {
            let audit = event(
                kinds::LOGOUT,
                self.now(),
                Some(user_id),
                Some(user_id),
                ctx,
                serde_json::json!({"session_id": session_id}),
            );
            self.store.revoke_session(user_id, session_id, self.now(), audit).await?;
            self.sessions_changed(user_id).await;
        }
        Ok(())
    }

    /// The caller's sessions, newest first, live ones only.
    pub async fn sessions(&self, caller: &Caller) -> Result<Vec<SessionRecord>, IdentityError> {
        let user_id = caller.user_id().ok_or(IdentityError::Unauthenticated)?;
        let now = self.now();
        Ok(self
            .store
            .sessions(user_id)
            .await?
            .into_iter()
            .filter(|s| {
                s.revoked_at.is_none() && now < s.expires_at && now - s.last_seen_at < self.settings.session_idle_ms
            })
            .collect())
    }

    /// Revokes one of the caller's sessions; another user's session is "not found".
    pub async fn revoke_session(
        &self,
        caller: &Caller,
        session_id: &str,
        ctx: &RequestContext,
    ) -> Result<(), IdentityError> {
        let user_id = caller.user_id().ok_or(IdentityError::Unauthenticated)?;
        let audit = event(
            kinds::SESSION_REVOKED,
            self.now(),
            Some(user_id),
            Some(user_id),
            ctx,
            serde_json::json!({"session_id": session_id}),
        );
        if self.store.revoke_session(user_id, session_id, self.now(), audit).await? {
            self.sessions_changed(user_id).await;
            Ok(())
        } else {
            Err(IdentityError::Denied(pb_domain::identity::caller::Denied::NotFound))
        }
    }

    /// The caller's own sign-in history, newest first.
    pub async fn sign_in_history(&self, caller: &Caller, page: Page) -> Result<Vec<AuditEvent>, IdentityError> {
        let user_id = caller.user_id().ok_or(IdentityError::Unauthenticated)?;
        Ok(self.store.audit_events(Some(user_id), kinds::SIGN_IN_HISTORY, page).await?)
    }
}
