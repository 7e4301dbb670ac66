//! The stable error codes clients switch on (api.md, "Errors"). A code, once published, keeps
//! its meaning; new situations get new codes. `GET /v1/error-codes` serves this catalogue.

use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

/// The family of an error, as in Stripe's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorType {
    /// The request was malformed or refers to something that does not exist.
    InvalidRequestError,
    /// The caller is not signed in, or the credentials are invalid.
    AuthenticationError,
    /// The caller is signed in but may not do this.
    PermissionError,
    /// Too many requests; retry after `Retry-After`.
    RateLimitError,
    /// An `Idempotency-Key` problem.
    IdempotencyError,
    /// A business rule refused the operation (insufficient funds, closed account, …).
    BusinessError,
    /// Our fault or an unavailable dependency; safe to retry with the same idempotency key.
    ApiError,
}

macro_rules! error_codes {
    ($( $variant:ident => ($code:literal, $status:ident, $kind:ident, $doc:literal), )*) => {
        /// Every stable error code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorCode { $( #[doc = $doc] $variant, )* }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            pub const fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)* }
            }
            pub const fn status(self) -> StatusCode {
                match self { $(ErrorCode::$variant => StatusCode::$status,)* }
            }
            pub const fn kind(self) -> ErrorType {
                match self { $(ErrorCode::$variant => ErrorType::$kind,)* }
            }
            pub const fn description(self) -> &'static str {
                match self { $(ErrorCode::$variant => $doc,)* }
            }
            pub fn parse(code: &str) -> Option<Self> {
                match code { $($code => Some(ErrorCode::$variant),)* _ => None }
            }
        }
    };
}

error_codes! {
    InvalidJson => ("invalid_json", BAD_REQUEST, InvalidRequestError,
        "The request body is not valid JSON."),
    UnsupportedMediaType => ("unsupported_media_type", UNSUPPORTED_MEDIA_TYPE, InvalidRequestError,
        "The request body must be sent with `Content-Type: application/json`."),
    PayloadTooLarge => ("payload_too_large", PAYLOAD_TOO_LARGE, InvalidRequestError,
        "The request body is larger than this endpoint accepts."),
    ValidationFailed => ("validation_failed", UNPROCESSABLE_ENTITY, InvalidRequestError,
        "The request is well-formed JSON but a field is missing or invalid; `param` names it."),
    InvalidPathParameter => ("invalid_path_parameter", BAD_REQUEST, InvalidRequestError,
        "A value in the URL path is not of the expected form."),
    InvalidQueryParameter => ("invalid_query_parameter", BAD_REQUEST, InvalidRequestError,
        "A query-string parameter is missing or not of the expected form."),
    RouteNotFound => ("route_not_found", NOT_FOUND, InvalidRequestError,
        "No endpoint exists at this path. See /v1/openapi.json."),
    MethodNotAllowed => ("method_not_allowed", METHOD_NOT_ALLOWED, InvalidRequestError,
        "The endpoint exists but does not accept this HTTP method."),
    NotFound => ("not_found", NOT_FOUND, InvalidRequestError,
        "The object does not exist, or is not visible to the caller."),
    Unauthenticated => ("unauthenticated", UNAUTHORIZED, AuthenticationError,
        "Sign in or send a valid API key."),
    Forbidden => ("forbidden", FORBIDDEN, PermissionError,
        "The caller may not perform this action."),
    NotAvailableInProduction => ("not_available_in_production", FORBIDDEN, PermissionError,
        "This sandbox endpoint exists only when PROTOCOL_BANK_ENV=development."),
    RateLimited => ("rate_limited", TOO_MANY_REQUESTS, RateLimitError,
        "Too many requests. Retry after the number of seconds in the `Retry-After` header."),
    EmailTaken => ("email_taken", CONFLICT, InvalidRequestError,
        "An account with this email address already exists. Sign in, or reset the password."),
    WeakPassword => ("weak_password", UNPROCESSABLE_ENTITY, InvalidRequestError,
        "The password is too short, too long, too common, or contains the email address."),
    InvalidCredentials => ("invalid_credentials", UNAUTHORIZED, AuthenticationError,
        "The email or password is incorrect."),
    InvalidToken => ("invalid_token", BAD_REQUEST, InvalidRequestError,
        "The link or token is invalid, already used, or expired."),
    InvalidMfaCode => ("invalid_mfa_code", UNAUTHORIZED, AuthenticationError,
        "The authentication code is incorrect or was already used."),
    InvalidChallenge => ("invalid_challenge", UNAUTHORIZED, AuthenticationError,
        "The sign-in challenge is invalid or expired. Sign in again."),
    WrongCurrentPassword => ("wrong_current_password", UNAUTHORIZED, AuthenticationError,
        "The current password is incorrect."),
    MfaRequired => ("mfa_required", FORBIDDEN, PermissionError,
        "This operation needs a recent multi-factor check: POST /v1/auth/step-up with a code."),
    MfaEnrollmentRequired => ("mfa_enrollment_required", FORBIDDEN, PermissionError,
        "Staff accounts must enrol an authenticator (POST /v1/me/mfa/totp) before using staff routes."),
    MfaAlreadyEnabled => ("mfa_already_enabled", CONFLICT, InvalidRequestError,
        "Multi-factor authentication is already enabled."),
    MfaNotEnabled => ("mfa_not_enabled", CONFLICT, InvalidRequestError,
        "Multi-factor authentication is not enabled."),
    EmailNotVerified => ("email_not_verified", FORBIDDEN, PermissionError,
        "Verify your email address before moving money."),
    CsrfTokenInvalid => ("csrf_token_invalid", FORBIDDEN, PermissionError,
        "Requests authenticated by cookie must send the X-CSRF-Token header from sign-in."),
    ScopeMissing => ("scope_missing", FORBIDDEN, PermissionError,
        "The API key does not have the scope this endpoint needs."),
    InvalidAmount => ("invalid_amount", UNPROCESSABLE_ENTITY, InvalidRequestError,
        "Amounts are strings of a positive integer of the asset's smallest unit: \"1050\" is 10.50 USD."),
    UnknownAsset => ("unknown_asset", UNPROCESSABLE_ENTITY, InvalidRequestError,
        "The asset is not one this bank holds. See GET /v1/assets."),
    AccountNotFound => ("account_not_found", NOT_FOUND, InvalidRequestError,
        "The account does not exist, or is not visible to the caller."),
    RecipientNotFound => ("recipient_not_found", NOT_FOUND, InvalidRequestError,
        "No open account in this asset was found for the recipient."),
    AccountClosed => ("account_closed", CONFLICT, BusinessError,
        "The account is closed."),
    AccountNotEmpty => ("account_not_empty", CONFLICT, BusinessError,
        "Only an account with a zero balance and nothing pending can be closed."),
    AssetMismatch => ("asset_mismatch", UNPROCESSABLE_ENTITY, BusinessError,
        "Both accounts of a transfer must hold the same asset; different currencies are never added."),
    SameAccount => ("same_account", UNPROCESSABLE_ENTITY, BusinessError,
        "A transfer needs two different accounts."),
    InsufficientFunds => ("insufficient_funds", PAYMENT_REQUIRED, BusinessError,
        "The source account's available balance is too low."),
    TransferNotFound => ("transfer_not_found", NOT_FOUND, InvalidRequestError,
        "The transfer does not exist, or is not visible to the caller."),
    HoldNotPending => ("hold_not_pending", CONFLICT, BusinessError,
        "The transfer is not a hold, or it was already captured or voided."),
    HoldExpired => ("hold_expired", CONFLICT, BusinessError,
        "The hold expired and its funds were (or are being) released."),
    ExceedsHold => ("exceeds_hold", UNPROCESSABLE_ENTITY, BusinessError,
        "A capture cannot exceed the amount held."),
    LinkedTransferFailed => ("linked_transfer_failed", UNPROCESSABLE_ENTITY, BusinessError,
        "Another transfer of this atomic batch failed, so none was made."),
    TransferRefused => ("transfer_refused", UNPROCESSABLE_ENTITY, BusinessError,
        "The ledger refused the transfer; the message says why."),
    StatementTooLarge => ("statement_too_large", UNPROCESSABLE_ENTITY, InvalidRequestError,
        "The statement period has too many lines; ask for a shorter period."),
    AdjustmentNotFound => ("adjustment_not_found", NOT_FOUND, InvalidRequestError,
        "No adjustment with this id."),
    AdjustmentAlreadyDecided => ("adjustment_already_decided", CONFLICT, BusinessError,
        "The adjustment was already approved or rejected; see its status."),
    FourEyesRequired => ("four_eyes_required", FORBIDDEN, PermissionError,
        "An adjustment must be decided by a different staff member than the one who proposed it."),
    CustodyDisabled => ("custody_disabled", CONFLICT, InvalidRequestError,
        "Crypto custody (or custody on this chain) is not enabled on this server."),
    CustodyNotInitialised => ("custody_not_initialised", SERVICE_UNAVAILABLE, ApiError,
        "Custody is configured but has no master seed yet; operators run `protocol-bank custody init`."),
    InvalidAddress => ("invalid_address", UNPROCESSABLE_ENTITY, InvalidRequestError,
        "Not a valid address on this chain: an Ethereum address is 0x + 40 hex digits with a valid EIP-55 checksum; a Solana address is a 32-byte key in base58 (a wallet, not a token account)."),
    UnsupportedAsset => ("unsupported_asset", UNPROCESSABLE_ENTITY, InvalidRequestError,
        "This asset cannot be withdrawn on this chain (yet)."),
    WithdrawalLimitExceeded => ("withdrawal_limit_exceeded", UNPROCESSABLE_ENTITY, BusinessError,
        "The withdrawal would exceed the customer's 24-hour limit for this asset; the message says what remains."),
    WithdrawalInProgress => ("withdrawal_in_progress", CONFLICT, BusinessError,
        "Another withdrawal for this customer is being placed; retry in a moment with the same Idempotency-Key."),
    WithdrawalNotFound => ("withdrawal_not_found", NOT_FOUND, InvalidRequestError,
        "No withdrawal with this id."),
    IdempotencyKeyMissing => ("idempotency_key_missing", BAD_REQUEST, IdempotencyError,
        "This request moves money or creates an object and needs an `Idempotency-Key` header."),
    IdempotencyKeyReused => ("idempotency_key_reused", UNPROCESSABLE_ENTITY, IdempotencyError,
        "This `Idempotency-Key` was already used with a different request body."),
    RequestTimeout => ("request_timeout", SERVICE_UNAVAILABLE, ApiError,
        "The request took too long and was abandoned. Retry with the same idempotency key."),
    ServiceUnavailable => ("service_unavailable", SERVICE_UNAVAILABLE, ApiError,
        "A dependency is unavailable. Retry after the number of seconds in the `Retry-After` header, with the same idempotency key."),
    InternalError => ("internal_error", INTERNAL_SERVER_ERROR, ApiError,
        "Something went wrong on our side; it has been logged with the request id."),
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate code {s}");
            assert!(s.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{s} is not snake_case");
            assert_eq!(ErrorCode::parse(s), Some(*code));
            assert!(code.status().is_client_error() || code.status().is_server_error());
        }
    }
}
