//! Sign-up, verification, sign-in, MFA challenge, logout, password reset, step-up.

use crate::auth::{Auth, Ctx, clear_cookies, session_cookies};
use crate::dto::time;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ClientIp};
use crate::routes::me::{UserView, user_view};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pb_domain::identity::email::EmailAddress;
use pb_domain::identity::password_policy::Password;
use pb_domain::identity::roles::UserKind;
use pb_domain::{RateLimit, RateLimitDecision};
use pb_identity::{LoginOutcome, NewSession, Registration};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::ToSchema;

async fn limit_ip(
    state: &AppState,
    scope: &str,
    ip: Option<std::net::IpAddr>,
    limit: RateLimit,
) -> Result<(), ApiError> {
    let key = ip.map_or_else(|| "unknown".to_owned(), |i| i.to_string());
    match limit.hit(state.cache(), scope, &key).await {
        Ok(RateLimitDecision::Allowed { .. }) => Ok(()),
        Ok(RateLimitDecision::Limited { retry_after }) => Err(ApiError::rate_limited(retry_after)),
        Err(e) => Err(ApiError::unavailable(e)),
    }
}

fn email(field: &'static str, s: &str) -> Result<EmailAddress, ApiError> {
    EmailAddress::parse(s)
        .map_err(|_| ApiError::new(crate::ErrorCode::ValidationFailed, "not a valid email address").with_param(field))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterRequest {
    #[schema(example = "alice@example.com")]
    pub email: String,
    /// 12 to 128 characters, not a common password.
    #[schema(value_type = String)]
    pub password: Password,
    pub name: String,
    /// `individual` or `business`.
    #[schema(value_type = String, example = "individual")]
    pub kind: UserKind,
    /// For `business`: the business's name (defaults to `name`).
    pub business_name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterResponse {
    pub user: UserView,
    /// A verification link was sent to the address.
    pub verification_email_sent: bool,
}

/// Creates an individual or business customer and emails a verification link.
#[utoipa::path(post, path = "/v1/auth/register", tag = "auth", request_body = RegisterRequest, responses(
    (status = 201, body = RegisterResponse),
    (status = 409, description = "email_taken", body = ErrorBody),
    (status = 422, description = "validation_failed or weak_password", body = ErrorBody),
    (status = 429, description = "rate_limited", body = ErrorBody)))]
pub async fn register(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Ctx(ctx): Ctx,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, Json<RegisterResponse>), ApiError> {
    limit_ip(&state, "register", ip, RateLimit::new(20, Duration::from_secs(3600))).await?;
    let registration = Registration {
        email: email("email", &req.email)?,
        password: req.password,
        name: req.name,
        kind: req.kind,
        business_name: req.business_name,
    };
    let user = state.identity().register(registration, &ctx).await?;
    let memberships = state.identity().memberships(&user.id).await?;
    Ok((
        StatusCode::CREATED,
        Json(RegisterResponse { user: user_view(&user, &memberships), verification_email_sent: true }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    pub token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Verified {
    pub verified: bool,
}

/// Redeems the link from the verification email.
#[utoipa::path(post, path = "/v1/auth/verify-email", tag = "auth", request_body = TokenRequest, responses(
    (status = 200, body = Verified), (status = 400, description = "invalid_token", body = ErrorBody)))]
pub async fn verify_email(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(req): ApiJson<TokenRequest>,
) -> Result<Json<Verified>, ApiError> {
    state.identity().verify_email(&req.token, &ctx).await?;
    Ok(Json(Verified { verified: true }))
}

/// Sends a new verification link to the signed-in user.
#[utoipa::path(post, path = "/v1/auth/verify-email/resend", tag = "auth", responses((status = 204)))]
pub async fn resend_verification(State(state): State<AppState>, auth: Auth) -> Result<StatusCode, ApiError> {
    state.identity().resend_verification(&auth.caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub email: String,
    #[schema(value_type = String)]
    pub password: Password,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub id: String,
    /// Send as `Authorization: Bearer …` (API clients); browsers use the cookie instead.
    pub token: String,
    pub expires_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignedIn {
    pub user: UserView,
    pub session: SessionView,
    /// Echo in `X-CSRF-Token` on unsafe requests authenticated by the cookie.
    pub csrf_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MfaRequired {
    pub mfa_required: bool,
    pub challenge_id: String,
}

async fn signed_in(state: &AppState, s: NewSession) -> Result<Response, ApiError> {
    let memberships = state.identity().memberships(&s.user.id).await?;
    let csrf = state.identity().csrf_token(&s.token);
    let max_age = (s.session.expires_at - s.session.created_at) / 1000;
    let mut headers = HeaderMap::new();
    for c in session_cookies(&s.token, &csrf, max_age) {
        headers.append(header::SET_COOKIE, c);
    }
    let body = SignedIn {
        user: user_view(&s.user, &memberships),
        session: SessionView {
            id: s.session.id.clone(),
            token: s.token.clone(),
            expires_at: time(s.session.expires_at),
        },
        csrf_token: csrf,
    };
    Ok((headers, Json(body)).into_response())
}

/// Signs in. Unknown email and wrong password answer alike; repeated failures lock the account
/// for a growing time (429 `rate_limited` with `Retry-After`).
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest, responses(
    (status = 200, description = "Signed in (or `{mfa_required, challenge_id}`)", body = SignedIn),
    (status = 401, description = "invalid_credentials", body = ErrorBody),
    (status = 429, description = "rate_limited", body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    // A malformed email cannot exist: same answer as a wrong password, after the same work.
    let email = EmailAddress::parse(&req.email)
        .or_else(|_| EmailAddress::parse("unknown@invalid.invalid"))
        .map_err(|_| ApiError::of(crate::ErrorCode::InvalidCredentials))?;
    // `sign_ins_total{outcome}` for the dashboards: success, mfa_required, or the error code.
    let outcome = state.identity().login(&email, req.password, &ctx).await.map_err(ApiError::from);
    let label = match &outcome {
        Ok(LoginOutcome::Session(_)) => "success",
        Ok(LoginOutcome::MfaRequired { .. }) => "mfa_required",
        Err(e) => e.code.as_str(),
    };
    metrics::counter!("sign_ins_total", "outcome" => label).increment(1);
    match outcome? {
        LoginOutcome::Session(s) => signed_in(&state, *s).await,
        LoginOutcome::MfaRequired { challenge_id } => {
            Ok(Json(MfaRequired { mfa_required: true, challenge_id }).into_response())
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MfaVerifyRequest {
    pub challenge_id: String,
    /// A 6-digit authenticator code or a recovery code.
    pub code: String,
}

/// Completes a sign-in that needs a second factor.
#[utoipa::path(post, path = "/v1/auth/mfa/verify", tag = "auth", request_body = MfaVerifyRequest, responses(
    (status = 200, body = SignedIn), (status = 401, description = "invalid_mfa_code or invalid_challenge", body = ErrorBody)))]
pub async fn mfa_verify(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(req): ApiJson<MfaVerifyRequest>,
) -> Result<Response, ApiError> {
    let session = state.identity().verify_mfa_challenge(&req.challenge_id, &req.code, &ctx).await?;
    signed_in(&state, session).await
}

/// Ends the current session everywhere at once.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", responses((status = 204)))]
pub async fn logout(State(state): State<AppState>, Ctx(ctx): Ctx, auth: Auth) -> Result<Response, ApiError> {
    state.identity().logout(&auth.caller, &ctx).await?;
    let mut headers = HeaderMap::new();
    for c in clear_cookies() {
        headers.append(header::SET_COOKIE, c);
    }
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetRequest {
    pub email: String,
}

/// Emails a reset link if the address belongs to an account. Always 202.
#[utoipa::path(post, path = "/v1/auth/password-reset", tag = "auth", request_body = ResetRequest, responses((status = 202)))]
pub async fn request_reset(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Ctx(ctx): Ctx,
    ApiJson(req): ApiJson<ResetRequest>,
) -> Result<StatusCode, ApiError> {
    limit_ip(&state, "password_reset", ip, RateLimit::new(10, Duration::from_secs(3600))).await?;
    if let Ok(email) = EmailAddress::parse(&req.email) {
        state.identity().request_password_reset(&email, &ctx).await?;
    }
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetConfirm {
    pub token: String,
    #[schema(value_type = String)]
    pub password: Password,
}

/// Sets a new password from a reset link; every session is signed out.
#[utoipa::path(post, path = "/v1/auth/password-reset/confirm", tag = "auth", request_body = ResetConfirm, responses(
    (status = 204), (status = 400, description = "invalid_token", body = ErrorBody), (status = 422, description = "weak_password", body = ErrorBody)))]
pub async fn confirm_reset(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(req): ApiJson<ResetConfirm>,
) -> Result<StatusCode, ApiError> {
    state.identity().reset_password(&req.token, req.password, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CodeRequest {
    pub code: String,
}

/// Step-up: a fresh code lets this session perform sensitive operations for a few minutes.
#[utoipa::path(post, path = "/v1/auth/step-up", tag = "auth", request_body = CodeRequest, responses(
    (status = 204), (status = 401, description = "invalid_mfa_code", body = ErrorBody)))]
pub async fn step_up(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    auth: Auth,
    ApiJson(req): ApiJson<CodeRequest>,
) -> Result<StatusCode, ApiError> {
    state.identity().step_up(&auth.caller, &req.code, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}
