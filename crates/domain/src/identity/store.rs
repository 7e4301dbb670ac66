//! What identity needs from the system of record. Implemented once in `pb-store-sql` for both
//! SQLite and PostgreSQL. Every method that checks and changes state does so atomically in
//! the database (single statements or one transaction), so two instances cannot both succeed.

use super::records::*;
use crate::store::StoreError;
use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("email already registered")]
    EmailTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[async_trait]
pub trait IdentityStore: Send + Sync + std::fmt::Debug + 'static {
    // Users
    async fn create_user(&self, new: NewUser) -> Result<(), CreateUserError>;
    async fn user_by_email(&self, email_normalized: &str) -> Result<Option<UserRecord>, StoreError>;
    async fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>, StoreError>;
    async fn memberships(&self, user_id: &str) -> Result<Vec<Membership>, StoreError>;
    async fn add_member(
        &self,
        business_id: &str,
        user_id: &str,
        role: &str,
        audit: AuditEvent,
    ) -> Result<bool, StoreError>;
    async fn close_user(&self, user_id: &str, reason: &str, now: i64, audit: AuditEvent) -> Result<bool, StoreError>;
    async fn set_staff_role(&self, user_id: &str, role: &str, audit: AuditEvent) -> Result<bool, StoreError>;

    // Email tokens and the outbox
    async fn create_email_token(
        &self,
        token: NewEmailToken,
        notification: Notification,
        audit: Option<AuditEvent>,
    ) -> Result<(), StoreError>;
    /// Marks the token used if it is unused, unexpired and of this purpose; returns its user.
    async fn consume_email_token(
        &self,
        hash: &[u8],
        purpose: TokenPurpose,
        now: i64,
    ) -> Result<Option<String>, StoreError>;
    async fn mark_email_verified(&self, user_id: &str, now: i64, audit: AuditEvent) -> Result<(), StoreError>;
    async fn notifications(&self, limit: u32) -> Result<Vec<Notification>, StoreError>;
    async fn unsent_notifications(&self, limit: u32) -> Result<Vec<Notification>, StoreError>;
    async fn mark_notification(
        &self,
        id: &str,
        sent_at: Option<i64>,
        error: Option<&str>,
        clear_body: bool,
    ) -> Result<(), StoreError>;

    // Passwords
    /// Sets the hash and revokes every session but `keep`; returns the revoked session ids.
    async fn set_password(
        &self,
        user_id: &str,
        hash: &str,
        keep: Option<&str>,
        now: i64,
        audit: AuditEvent,
    ) -> Result<Vec<String>, StoreError>;

    // Sessions
    async fn create_session(
        &self,
        session: SessionRecord,
        token_hash: &[u8],
        audit: AuditEvent,
    ) -> Result<(), StoreError>;
    async fn session_by_token(&self, token_hash: &[u8]) -> Result<Option<SessionRecord>, StoreError>;
    /// The session and its user, in one read (every authenticated request needs both).
    async fn session_with_user(&self, token_hash: &[u8]) -> Result<Option<(SessionRecord, UserRecord)>, StoreError>;
    async fn touch_session(&self, session_id: &str, now: i64) -> Result<(), StoreError>;
    async fn sessions(&self, user_id: &str) -> Result<Vec<SessionRecord>, StoreError>;
    /// Revokes `session_id` if it belongs to `user_id` and is live; false otherwise.
    async fn revoke_session(
        &self,
        user_id: &str,
        session_id: &str,
        now: i64,
        audit: AuditEvent,
    ) -> Result<bool, StoreError>;
    async fn mark_session_mfa(&self, session_id: &str, now: i64) -> Result<(), StoreError>;

    // MFA
    async fn set_totp_secret(&self, user_id: &str, secret_enc: &str) -> Result<(), StoreError>;
    /// Records `step` as used if it is later than the last one; false means a replay.
    async fn advance_totp_step(&self, user_id: &str, step: i64) -> Result<bool, StoreError>;
    async fn enable_totp(
        &self,
        user_id: &str,
        now: i64,
        recovery_hashes: Vec<Vec<u8>>,
        audit: AuditEvent,
    ) -> Result<(), StoreError>;
    async fn disable_totp(&self, user_id: &str, audit: AuditEvent) -> Result<(), StoreError>;
    /// Uses a recovery code once; false if unknown or already used.
    async fn use_recovery_code(&self, user_id: &str, hash: &[u8], now: i64) -> Result<bool, StoreError>;
    async fn create_mfa_challenge(&self, challenge: MfaChallenge) -> Result<(), StoreError>;
    /// Counts an attempt; returns the challenge while it is live and under the attempt limit.
    async fn attempt_mfa_challenge(
        &self,
        id: &str,
        now: i64,
        max_attempts: i64,
    ) -> Result<Option<MfaChallenge>, StoreError>;
    async fn finish_mfa_challenge(&self, id: &str) -> Result<bool, StoreError>;

    // API keys
    async fn create_api_key(&self, key: ApiKeyRecord, hash: &[u8], audit: AuditEvent) -> Result<(), StoreError>;
    async fn api_keys(&self, business_id: &str) -> Result<Vec<ApiKeyRecord>, StoreError>;
    async fn api_key_by_hash(&self, hash: &[u8]) -> Result<Option<ApiKeyRecord>, StoreError>;
    async fn touch_api_key(&self, id: &str, now: i64) -> Result<(), StoreError>;
    async fn revoke_api_key(
        &self,
        business_id: &str,
        id: &str,
        now: i64,
        audit: AuditEvent,
    ) -> Result<bool, StoreError>;

    // Audit
    async fn append_audit(&self, event: AuditEvent) -> Result<(), StoreError>;
    /// Newest first; `subject` and `kinds` filter when given.
    async fn audit_events(
        &self,
        subject: Option<&str>,
        kinds: &[&str],
        page: Page,
    ) -> Result<Vec<AuditEvent>, StoreError>;
}
