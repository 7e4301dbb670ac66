//! What the identity store keeps. Times are unix milliseconds (the same in SQLite and
//! PostgreSQL); secrets are kept only as hashes or encrypted (TOTP secrets).

use super::roles::{BusinessRole, StaffRole, UserKind};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    Active,
    /// Never deleted: closed with a reason, kept for the records a bank must keep.
    Closed,
}

#[derive(Clone)]
pub struct UserRecord {
    pub id: String,
    pub kind: UserKind,
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub email_verified_at: Option<i64>,
    pub status: UserStatus,
    pub closed_reason: Option<String>,
    pub staff_role: Option<StaffRole>,
    /// Encrypted (see `SecretBox`); set from enrolment start, active once `totp_enabled_at`.
    pub totp_secret_enc: Option<String>,
    pub totp_enabled_at: Option<i64>,
    /// The last accepted TOTP step: a code for this step or an earlier one is a replay.
    pub totp_last_step: Option<i64>,
    pub created_at: i64,
}

/// Personal and secret fields stay out of logs.
impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("status", &self.status)
            .field("staff_role", &self.staff_role)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Membership {
    pub business_id: String,
    pub business_name: String,
    pub role: BusinessRole,
}

#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub id: String,
    pub user_id: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    /// Absolute end of life; the idle timeout is applied to `last_seen_at`.
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// When this session last passed an MFA check (sign-in with MFA, or step-up).
    pub mfa_verified_at: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum ApiScope {
    Read,
    Payments,
}

impl ApiScope {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Payments => "payments",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "read" => Some(Self::Read),
            "payments" => Some(Self::Payments),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ApiKeyRecord {
    pub id: String,
    pub business_id: String,
    pub created_by: String,
    pub name: String,
    /// The first characters of the key, to recognise it in lists.
    pub prefix: String,
    pub scopes: Vec<ApiScope>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    VerifyEmail,
    ResetPassword,
}

impl TokenPurpose {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
        }
    }
}

/// A single-use token sent by email; only its hash is stored.
#[derive(Debug, Clone)]
pub struct NewEmailToken {
    pub token_hash: Vec<u8>,
    pub user_id: String,
    pub purpose: TokenPurpose,
    pub created_at: i64,
    pub expires_at: i64,
}

/// An email waiting in the outbox, written in the same transaction as what caused it.
#[derive(Clone)]
pub struct Notification {
    pub id: String,
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub attempts: i64,
    pub last_error: Option<String>,
}

impl std::fmt::Debug for Notification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Bodies hold single-use links; recipients are personal data.
        f.debug_struct("Notification").field("id", &self.id).field("attempts", &self.attempts).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct MfaChallenge {
    pub id: String,
    pub user_id: String,
    pub expires_at: i64,
    pub attempts: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditEvent {
    pub id: String,
    pub at: i64,
    /// `login.succeeded`, `mfa.enabled`, `session.revoked`, … (see `audit::kinds`).
    pub kind: String,
    pub actor_user_id: Option<String>,
    pub subject_user_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Never secrets or personal data beyond ids.
    pub details: serde_json::Value,
}

/// A new user and everything created with them, in one transaction.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub user: UserRecord,
    pub email_normalized: String,
    /// For a business registration: the business the user becomes admin of.
    pub business: Option<(String, String)>,
    pub verification: Option<NewEmailToken>,
    pub notification: Option<Notification>,
    pub audit: AuditEvent,
}

#[derive(Debug, Clone)]
pub struct Page {
    pub limit: u32,
    pub starting_after: Option<String>,
}
