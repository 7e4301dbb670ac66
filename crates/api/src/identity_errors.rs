//! How identity outcomes become API errors.

use crate::error::ApiError;
use crate::error_code::ErrorCode;
use pb_domain::identity::caller::Denied;
use pb_identity::IdentityError;

impl From<Denied> for ApiError {
    fn from(d: Denied) -> Self {
        match d {
            Denied::NotFound => ApiError::not_found("object"),
            Denied::Forbidden => ApiError::of(ErrorCode::Forbidden),
            Denied::EmailNotVerified => ApiError::of(ErrorCode::EmailNotVerified),
            Denied::MfaRequired => ApiError::of(ErrorCode::MfaRequired),
            Denied::MfaEnrollmentRequired => ApiError::of(ErrorCode::MfaEnrollmentRequired),
            Denied::ScopeMissing => ApiError::of(ErrorCode::ScopeMissing),
        }
    }
}

impl From<IdentityError> for ApiError {
    fn from(e: IdentityError) -> Self {
        match e {
            IdentityError::Invalid { field, message } => {
                ApiError::new(ErrorCode::ValidationFailed, message).with_param(field)
            }
            IdentityError::WeakPassword(w) => {
                ApiError::new(ErrorCode::WeakPassword, w.to_string()).with_param("password")
            }
            IdentityError::EmailTaken => ApiError::of(ErrorCode::EmailTaken).with_param("email"),
            IdentityError::InvalidCredentials => ApiError::of(ErrorCode::InvalidCredentials),
            IdentityError::Locked { retry_after } => ApiError::rate_limited(retry_after),
            IdentityError::InvalidToken => ApiError::of(ErrorCode::InvalidToken).with_param("token"),
            IdentityError::InvalidMfaCode => ApiError::of(ErrorCode::InvalidMfaCode).with_param("code"),
            IdentityError::InvalidChallenge => ApiError::of(ErrorCode::InvalidChallenge).with_param("challenge_id"),
            IdentityError::MfaAlreadyEnabled => ApiError::of(ErrorCode::MfaAlreadyEnabled),
            IdentityError::MfaNotEnabled => ApiError::of(ErrorCode::MfaNotEnabled),
            IdentityError::WrongCurrentPassword => {
                ApiError::of(ErrorCode::WrongCurrentPassword).with_param("current_password")
            }
            IdentityError::Unauthenticated => ApiError::of(ErrorCode::Unauthenticated),
            IdentityError::Denied(d) => d.into(),
            IdentityError::Store(pb_domain::StoreError::Unavailable(detail)) => ApiError::unavailable(detail),
            IdentityError::Cache(pb_domain::CacheError::Unavailable(detail)) => ApiError::unavailable(detail),
            other => ApiError::internal(other),
        }
    }
}
