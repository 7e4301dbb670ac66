//! TOTP enrolment, second-factor checks with replay protection, recovery codes, step-up.

use crate::context::{RequestContext, event};
use crate::login::{CHALLENGE_MAX_ATTEMPTS, NewSession};
use crate::{IdentityError, IdentityService};
use pb_domain::identity::audit::kinds;
use pb_domain::identity::caller::Caller;
use pb_domain::identity::records::*;
use pb_domain::identity::tokens::{hash_token, new_recovery_code, normalize_recovery_code};
use pb_domain::identity::totp;

const RECOVERY_CODES: usize = 10;

/// What the user needs to add the account to an authenticator app. Shown once.
pub struct TotpEnrolment {
    pub secret: String,
    pub otpauth_uri: String,
}

impl std::fmt::Debug for TotpEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpEnrolment([REDACTED])")
    }
}

impl IdentityService {
    fn totp_secret(&self, user: &UserRecord) -> Result<Option<String>, IdentityError> {
        user.totp_secret_enc
            .as_deref()
            .map(|sealed| {
                self.totp_box
                    .open(sealed)
                    .map_err(|e| IdentityError::Internal(e.to_string()))
                    .and_then(|b| String::from_utf8(b).map_err(|e| IdentityError::Internal(e.to_string())))
            })
            .transpose()
    }

    /// Checks a TOTP code (each time step accepted once, on every instance) or a recovery code.
    async fn check_second_factor(
        &self,
        user: &UserRecord,
        code: &str,
        ctx: &RequestContext,
    ) -> Result<(), IdentityError> {
        let code = code.trim();
        let secret = self.totp_secret(user)?.ok_or(IdentityError::MfaNotEnabled)?;
        let now_secs = self.now().div_euclid(1000);
        if let Some(step) = totp::matching_step(&secret, code, now_secs) {
            return if self.store.advance_totp_step(&user.id, step).await? {
                Ok(())
            } else {
                Err(IdentityError::InvalidMfaCode)
            };
        }
        let normalized = normalize_recovery_code(code);
        if normalized.len() == 10
            && self.store.use_recovery_code(&user.id, &hash_token(&normalized), self.now()).await?
        {
            let audit = event(
                kinds::MFA_RECOVERY_CODE_USED,
                self.now(),
                Some(&user.id),
                Some(&user.id),
                ctx,
                serde_json::json!({}),
            );
            self.store.append_audit(audit).await?;
            return Ok(());
        }
        Err(IdentityError::InvalidMfaCode)
    }

    /// Second step of sign-in.
    pub async fn verify_mfa_challenge(
        &self,
        challenge_id: &str,
        code: &str,
        ctx: &RequestContext,
    ) -> Result<NewSession, IdentityError> {
        let challenge = self
            .store
            .attempt_mfa_challenge(challenge_id, self.now(), CHALLENGE_MAX_ATTEMPTS)
            .await?
            .ok_or(IdentityError::InvalidChallenge)?;
        let user = self.store.user_by_id(&challenge.user_id).await?.ok_or(IdentityError::InvalidChallenge)?;
        let email_key = user.email.to_lowercase();
        self.check_not_locked(&email_key, ctx).await?;
        if let Err(e) = self.check_second_factor(&user, code, ctx).await {
            self.record_failure(&email_key, Some(&user.id), ctx, "totp").await?;
            return Err(e);
        }
        if !self.store.finish_mfa_challenge(challenge_id).await? {
            return Err(IdentityError::InvalidChallenge);
        }
        self.start_session(user, true, ctx).await
    }

    /// Starts enrolment: a new secret, stored encrypted, active only once confirmed.
    pub async fn begin_totp(&self, caller: &Caller) -> Result<TotpEnrolment, IdentityError> {
        let user = self.caller_user(caller).await?;
        if user.totp_enabled_at.is_some() {
            return Err(IdentityError::MfaAlreadyEnabled);
        }
        let secret = totp::new_secret();
        self.store.set_totp_secret(&user.id, &self.totp_box.seal(secret.as_bytes())).await?;
        Ok(TotpEnrolment { otpauth_uri: totp::otpauth_uri(&secret, "Protocol Bank", &user.email), secret })
    }

    /// Confirms enrolment with a current code; returns the recovery codes (shown once).
    pub async fn confirm_totp(
        &self,
        caller: &Caller,
        code: &str,
        ctx: &RequestContext,
    ) -> Result<Vec<String>, IdentityError> {
        let user = self.caller_user(caller).await?;
        if user.totp_enabled_at.is_some() {
            return Err(IdentityError::MfaAlreadyEnabled);
        }
        let secret = self.totp_secret(&user)?.ok_or(IdentityError::MfaNotEnabled)?;
        let step =
            totp::matching_step(&secret, code, self.now().div_euclid(1000)).ok_or(IdentityError::InvalidMfaCode)?;
        if !self.store.advance_totp_step(&user.id, step).await? {
            return Err(IdentityError::InvalidMfaCode);
        }
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
        let hashes = codes.iter().map(|c| hash_token(&normalize_recovery_code(c))).collect();
        let now = self.now();
        let audit =
            event(kinds::MFA_ENABLED, now, Some(&user.id), Some(&user.id), ctx, serde_json::json!({"method": "totp"}));
        self.store.enable_totp(&user.id, now, hashes, audit).await?;
        if let Some(session_id) = caller.session_id() {
            self.store.mark_session_mfa(session_id, now).await?;
        }
        self.sessions_changed(&user.id).await;
        Ok(codes)
    }

    /// Turns MFA off; needs a fresh code. Staff may not (their accounts require MFA).
    pub async fn disable_totp(&self, caller: &Caller, code: &str, ctx: &RequestContext) -> Result<(), IdentityError> {
        let user = self.caller_user(caller).await?;
        if user.totp_enabled_at.is_none() {
            return Err(IdentityError::MfaNotEnabled);
        }
        if user.staff_role.is_some() {
            return Err(IdentityError::Denied(pb_domain::identity::caller::Denied::Forbidden));
        }
        self.check_second_factor(&user, code, ctx).await?;
        let audit = event(kinds::MFA_DISABLED, self.now(), Some(&user.id), Some(&user.id), ctx, serde_json::json!({}));
        self.store.disable_totp(&user.id, audit).await?;
        self.sessions_changed(&user.id).await;
        Ok(())
    }

    /// Step-up: a fresh code marks the session as recently verified.
    pub async fn step_up(&self, caller: &Caller, code: &str, ctx: &RequestContext) -> Result<(), IdentityError> {
        let user = self.caller_user(caller).await?;
        let session_id = caller.session_id().ok_or(IdentityError::Unauthenticated)?;
        if let Err(e) = self.check_second_factor(&user, code, ctx).await {
            self.record_failure(&user.email.to_lowercase(), Some(&user.id), ctx, "totp").await?;
            return Err(e);
        }
        let now = self.now();
        self.store.mark_session_mfa(session_id, now).await?;
        self.sessions_changed(&user.id).await;
        let audit = event(
            kinds::MFA_STEP_UP,
            now,
            Some(&user.id),
            Some(&user.id),
            ctx,
            serde_json::json!({"session_id": session_id}),
        );
        self.store.append_audit(audit).await?;
        Ok(())
    }

    /// For sensitive operations: the mechanism later features call.
    pub fn require_step_up(&self, caller: &Caller) -> Result<(), IdentityError> {
        Ok(caller.require_recent_mfa(self.now(), self.settings.step_up_max_age_ms)?)
    }
}
