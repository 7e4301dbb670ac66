//! Sign-up, email verification and password changes.

use crate::context::{RequestContext, event};
use crate::{IdentityError, IdentityService, passwords};
use pb_domain::identity::audit::kinds;
use pb_domain::identity::caller::Caller;
use pb_domain::identity::email::EmailAddress;
use pb_domain::identity::ids::new_id;
use pb_domain::identity::password_policy::Password;
use pb_domain::identity::records::*;
use pb_domain::identity::roles::UserKind;
use pb_domain::identity::store::CreateUserError;
use pb_domain::identity::tokens::{hash_token, new_token};

const VERIFY_TTL_MS: i64 = 48 * 3600 * 1000;
const RESET_TTL_MS: i64 = 3600 * 1000;

/// A sign-up, parsed at the edge.
#[derive(Debug)]
pub struct Registration {
    pub email: EmailAddress,
    pub password: Password,
    pub name: String,
    /// Individual or business (staff are created by `admin create-staff`).
    pub kind: UserKind,
    /// For a business: its legal name; defaults to `name`.
    pub business_name: Option<String>,
}

pub(crate) fn clean_name(field: &'static str, name: &str) -> Result<String, IdentityError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(IdentityError::invalid(field, "must be 1 to 200 characters, without control characters"));
    }
    Ok(name.to_owned())
}

impl IdentityService {
    pub async fn register(&self, r: Registration, ctx: &RequestContext) -> Result<UserRecord, IdentityError> {
        if r.kind == UserKind::Staff {
            return Err(IdentityError::invalid("kind", "must be individual or business"));
        }
        let name = clean_name("name", &r.name)?;
        let email_normalized = r.email.normalized();
        r.password.check_new(&email_normalized)?;
        let password_hash = passwords::hash(r.password.expose().to_owned()).await?;
        let now = self.now();
        let user = UserRecord {
            id: new_id("usr"),
            kind: r.kind,
            email: r.email.as_str().to_owned(),
            name: name.clone(),
            phone: None,
            password_hash,
            email_verified_at: None,
            status: UserStatus::Active,
            closed_reason: None,
            staff_role: None,
            totp_secret_enc: None,
            totp_enabled_at: None,
            totp_last_step: None,
            created_at: now,
        };
        let business = match r.kind {
            UserKind::Business => {
                Some((new_id("biz"), clean_name("business_name", r.business_name.as_deref().unwrap_or(&name))?))
            }
            _ => None,
        };
        let token = new_token("");
        let verification = NewEmailToken {
            token_hash: hash_token(&token),
            user_id: user.id.clone(),
            purpose: TokenPurpose::VerifyEmail,
            created_at: now,
            expires_at: now + VERIFY_TTL_MS,
        };
        let notification = self.email(&user, "Verify your email for Protocol Bank", &format!(
            "Hello {name},\n\nConfirm your email address to start using Protocol Bank:\n\n{}/verify-email?token={token}\n\n\
             The link works once and expires in 48 hours. If you did not sign up, ignore this message.\n",
            self.settings.public_url
        ));
        let audit = event(
            kinds::USER_REGISTERED,
            now,
            Some(&user.id),
            Some(&user.id),
            ctx,
            serde_json::json!({"kind": r.kind.as_str()}),
        );
        let created = self
            .store
            .create_user(NewUser {
                user: user.clone(),
                email_normalized,
                business,
                verification: Some(verification),
                notification: Some(notification),
                audit,
            })
            .await;
        match created {
            Ok(()) => Ok(user),
            Err(CreateUserError::EmailTaken) => Err(IdentityError::EmailTaken),
            Err(CreateUserError::Store(e)) => Err(e.into()),
        }
    }

    pub(crate) fn email(&self, user: &UserRecord, subject: &str, body: &str) -> Notification {
        Notification {
            id: new_id("ntf"),
            channel: "email".into(),
            recipient: user.email.clone(),
            subject: subject.into(),
            body: body.into(),
            created_at: self.now(),
            sent_at: None,
            attempts: 0,
            last_error: None,
        }
    }

    pub async fn verify_email(&self, token: &str, ctx: &RequestContext) -> Result<(), IdentityError> {
        let now = self.now();
        let user_id = self
            .store
            .consume_email_token(&hash_token(token.trim()), TokenPurpose::VerifyEmail, now)
            .await?
            .ok_or(IdentityError::InvalidToken)?;
        let audit = event(kinds::EMAIL_VERIFIED, now, Some(&user_id), Some(&user_id), ctx, serde_json::json!({}));
        self.store.mark_email_verified(&user_id, now, audit).await?;
        self.sessions_changed(&user_id).await;
        Ok(())
    }

    /// Sends a fresh verification link to a signed-in, unverified user.
    pub async fn resend_verification(&self, caller: &Caller) -> Result<(), IdentityError> {
        let user = self.caller_user(caller).await?;
        if user.email_verified_at.is_some() {
            return Ok(());
        }
        let now = self.now();
        let token = new_token("");
        let body = format!(
            "Confirm your email address:\n\n{}/verify-email?token={token}\n\nThe link works once and expires in 48 hours.\n",
            self.settings.public_url
        );
        let n = self.email(&user, "Verify your email for Protocol Bank", &body);
        let t = NewEmailToken {
            token_hash: hash_token(&token),
            user_id: user.id.clone(),
            purpose: TokenPurpose::VerifyEmail,
            created_at: now,
            expires_at: now + VERIFY_TTL_MS,
        };
        self.store.create_email_token(t, n, None).await?;
        Ok(())
    }

    /// Always succeeds from the caller's point of view: whether the email exists is not revealed.
    pub async fn request_password_reset(
        &self,
        email: &EmailAddress,
        ctx: &RequestContext,
    ) -> Result<(), IdentityError> {
        let Some(user) = self.store.user_by_email(&email.normalized()).await? else {
            return Ok(());
        };
        if user.status != UserStatus::Active {
            return Ok(());
        }
        let now = self.now();
        let token = new_token("");
        let body = format!(
            "Someone asked to reset the password of your Protocol Bank account.\n\n{}/reset-password?token={token}\n\n\
             The link works once and expires in one hour. If it was not you, ignore this message; your password is unchanged.\n",
            self.settings.public_url
        );
        let n = self.email(&user, "Reset your Protocol Bank password", &body);
        let t = NewEmailToken {
            token_hash: hash_token(&token),
            user_id: user.id.clone(),
            purpose: TokenPurpose::ResetPassword,
            created_at: now,
            expires_at: now + RESET_TTL_MS,
        };
        let audit = event(kinds::PASSWORD_RESET_REQUESTED, now, None, Some(&user.id), ctx, serde_json::json!({}));
        self.store.create_email_token(t, n, Some(audit)).await?;
        Ok(())
    }

    /// Sets a new password from a reset link; every session is revoked. Returns them.
    pub async fn reset_password(
        &self,
        token: &str,
        password: Password,
        ctx: &RequestContext,
    ) -> Result<Vec<String>, IdentityError> {
        let now = self.now();
        let user_id = self
            .store
            .consume_email_token(&hash_token(token.trim()), TokenPurpose::ResetPassword, now)
            .await?
            .ok_or(IdentityError::InvalidToken)?;
        let user = self.store.user_by_id(&user_id).await?.ok_or(IdentityError::InvalidToken)?;
        password.check_new(&user.email.to_lowercase())?;
        let hash = passwords::hash(password.expose().to_owned()).await?;
        let audit = event(kinds::PASSWORD_RESET, now, Some(&user_id), Some(&user_id), ctx, serde_json::json!({}));
        let revoked = self.store.set_password(&user_id, &hash, None, now, audit).await?;
        self.sessions_changed(&user_id).await;
        Ok(revoked)
    }

    /// Changes the password (the current one is required); every other session is revoked.
    pub async fn change_password(
        &self,
        caller: &Caller,
        current: Password,
        new: Password,
        ctx: &RequestContext,
    ) -> Result<Vec<String>, IdentityError> {
        let user = self.caller_user(caller).await?;
        if !passwords::verify(current.expose().to_owned(), user.password_hash.clone()).await? {
            return Err(IdentityError::WrongCurrentPassword);
        }
        new.check_new(&user.email.to_lowercase())?;
        let hash = passwords::hash(new.expose().to_owned()).await?;
        let now = self.now();
        let audit = event(kinds::PASSWORD_CHANGED, now, Some(&user.id), Some(&user.id), ctx, serde_json::json!({}));
        let revoked = self.store.set_password(&user.id, &hash, caller.session_id(), now, audit).await?;
        self.sessions_changed(&user.id).await;
        Ok(revoked)
    }

    pub(crate) async fn caller_user(&self, caller: &Caller) -> Result<UserRecord, IdentityError> {
        let id = caller.user_id().ok_or(IdentityError::Denied(pb_domain::identity::caller::Denied::Forbidden))?;
        self.store.user_by_id(id).await?.ok_or(IdentityError::Unauthenticated)
    }

    pub async fn user(&self, id: &str) -> Result<Option<UserRecord>, IdentityError> {
        Ok(self.store.user_by_id(id).await?)
    }

    pub async fn memberships(&self, user_id: &str) -> Result<Vec<Membership>, IdentityError> {
        Ok(self.store.memberships(user_id).await?)
    }

    /// The embedded default's outbox, newest first (development only; the API enforces it).
    pub async fn outbox(&self, limit: u32) -> Result<Vec<Notification>, IdentityError> {
        Ok(self.store.notifications(limit).await?)
    }
}
