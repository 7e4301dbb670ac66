use pb_domain::identity::caller::Denied;
use pb_domain::identity::password_policy::WeakPassword;
use pb_domain::{CacheError, StoreError};
use std::time::Duration;

/// Outcomes the API maps to stable error codes.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error("{0}")]
    WeakPassword(#[from] WeakPassword),
    #[error("an account with this email already exists")]
    EmailTaken,
    /// Unknown email or wrong password: deliberately the same.
    #[error("email or password is incorrect")]
    InvalidCredentials,
    #[error("too many attempts; try again later")]
    Locked { retry_after: Duration },
    #[error("this link is invalid or has expired")]
    InvalidToken,
    #[error("the code is incorrect or has already been used")]
    InvalidMfaCode,
    #[error("the sign-in challenge is invalid or has expired; sign in again")]
    InvalidChallenge,
    #[error("multi-factor authentication is already enabled")]
    MfaAlreadyEnabled,
    #[error("multi-factor authentication is not enabled")]
    MfaNotEnabled,
    #[error("the current password is incorrect")]
    WrongCurrentPassword,
    #[error("not signed in, or the session has ended")]
    Unauthenticated,
    #[error("{0}")]
    Denied(#[from] Denied),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Cache(#[from] CacheError),
    #[error("internal: {0}")]
    Internal(String),
}

impl IdentityError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid { field, message: message.into() }
    }
}
