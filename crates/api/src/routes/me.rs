//! The signed-in user: profile, sessions, password, MFA, sign-in history.

use crate::auth::{Auth, Ctx};
use crate::dto::{List, PageQuery, SessionId, time};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::auth::CodeRequest;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use pb_domain::identity::password_policy::Password;
use pb_domain::identity::records::{AuditEvent, Membership, Page, UserRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct BusinessView {
    pub id: String,
    pub name: String,
    /// `admin`, `finance_manager` or `view_only`.
    pub role: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub object: &'static str,
    pub email: String,
    pub name: String,
    /// `individual`, `business` or `staff`.
    pub kind: &'static str,
    pub email_verified: bool,
    pub mfa_enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staff_role: Option<&'static str>,
    pub businesses: Vec<BusinessView>,
    /// `active` or `closed`.
    pub status: &'static str,
    pub created: String,
}

pub fn user_view(u: &UserRecord, memberships: &[Membership]) -> UserView {
    UserView {
        id: u.id.clone(),
        object: "user",
        email: u.email.clone(),
        name: u.name.clone(),
        kind: u.kind.as_str(),
        email_verified: u.email_verified_at.is_some(),
        mfa_enabled: u.totp_enabled_at.is_some(),
        staff_role: u.staff_role.map(|r| r.as_str()),
        businesses: memberships
            .iter()
            .map(|m| BusinessView { id: m.business_id.clone(), name: m.business_name.clone(), role: m.role.as_str() })
            .collect(),
        status: match u.status {
            pb_domain::identity::records::UserStatus::Active => "active",
            pb_domain::identity::records::UserStatus::Closed => "closed",
        },
        created: time(u.created_at),
    }
}

/// The signed-in user.
#[utoipa::path(get, path = "/v1/me", tag = "me", responses((status = 200, body = UserView), (status = 401, body = ErrorBody)))]
pub async fn me(State(state): State<AppState>, auth: Auth) -> Result<Json<UserView>, ApiError> {
    let id = auth.caller.user_id().ok_or_else(|| ApiError::of(crate::ErrorCode::Forbidden))?;
    let user = state.identity().user(id).await?.ok_or_else(|| ApiError::of(crate::ErrorCode::Unauthenticated))?;
    Ok(Json(user_view(&user, &auth.caller.memberships)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionInfo {
    pub id: String,
    pub object: &'static str,
    pub created: String,
    pub last_seen: String,
    pub expires_at: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// This is the session making the request.
    pub current: bool,
}

/// Live sessions of the signed-in user, newest first.
#[utoipa::path(get, path = "/v1/me/sessions", tag = "me", responses((status = 200, body = List<SessionInfo>)))]
pub async fn sessions(State(state): State<AppState>, auth: Auth) -> Result<Json<List<SessionInfo>>, ApiError> {
    let current = auth.caller.session_id().map(str::to_owned);
    let data = state
        .identity()
        .sessions(&auth.caller)
        .await?
        .into_iter()
        .map(|s| SessionInfo {
            current: current.as_deref() == Some(s.id.as_str()),
            id: s.id,
            object: "session",
            created: time(s.created_at),
            last_seen: time(s.last_seen_at),
            expires_at: time(s.expires_at),
            ip: s.ip,
            user_agent: s.user_agent,
        })
        .collect();
    Ok(Json(List::new(data, false)))
}

/// Revokes one of your sessions, on every instance at once.
#[utoipa::path(delete, path = "/v1/me/sessions/{id}", tag = "me", params(("id" = String, Path)), responses(
    (status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke_session(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    auth: Auth,
    ApiPath(id): ApiPath<SessionId>,
) -> Result<StatusCode, ApiError> {
    state.identity().revoke_session(&auth.caller, &id.0, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordChange {
    #[schema(value_type = String)]
    pub current_password: Password,
    #[schema(value_type = String)]
    pub new_password: Password,
}

/// Changes the password; every other session is signed out.
#[utoipa::path(post, path = "/v1/me/password", tag = "me", request_body = PasswordChange, responses(
    (status = 204), (status = 401, description = "wrong_current_password", body = ErrorBody), (status = 422, description = "weak_password", body = ErrorBody)))]
pub async fn change_password(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    auth: Auth,
    ApiJson(req): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    state.identity().change_password(&auth.caller, req.current_password, req.new_password, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TotpSetup {
    /// Base32 secret, for manual entry. Shown once.
    pub secret: String,
    /// Draw this as a QR code for authenticator apps.
    pub otpauth_uri: String,
}

/// Starts TOTP enrolment. Confirm with a code to turn it on.
#[utoipa::path(post, path = "/v1/me/mfa/totp", tag = "me", responses((status = 200, body = TotpSetup), (status = 409, body = ErrorBody)))]
pub async fn totp_begin(State(state): State<AppState>, auth: Auth) -> Result<Json<TotpSetup>, ApiError> {
    let e = state.identity().begin_totp(&auth.caller).await?;
    Ok(Json(TotpSetup { secret: e.secret, otpauth_uri: e.otpauth_uri }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Ten single-use codes. Shown once: store them safely.
    pub recovery_codes: Vec<String>,
}

/// Confirms TOTP enrolment with a current code; returns recovery codes.
#[utoipa::path(post, path = "/v1/me/mfa/totp/confirm", tag = "me", request_body = CodeRequest, responses(
    (status = 200, body = RecoveryCodes), (status = 401, description = "invalid_mfa_code", body = ErrorBody)))]
pub async fn totp_confirm(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    auth: Auth,
    ApiJson(req): ApiJson<CodeRequest>,
) -> Result<Json<RecoveryCodes>, ApiError> {
    let recovery_codes = state.identity().confirm_totp(&auth.caller, &req.code, &ctx).await?;
    Ok(Json(RecoveryCodes { recovery_codes }))
}

/// Turns TOTP off; needs a fresh code.
#[utoipa::path(post, path = "/v1/me/mfa/totp/disable", tag = "me", request_body = CodeRequest, responses(
    (status = 204), (status = 401, description = "invalid_mfa_code", body = ErrorBody)))]
pub async fn totp_disable(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    auth: Auth,
    ApiJson(req): ApiJson<CodeRequest>,
) -> Result<StatusCode, ApiError> {
    state.identity().disable_totp(&auth.caller, &req.code, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub id: String,
    pub object: &'static str,
    /// `login.succeeded`, `mfa.enabled`, …
    #[serde(rename = "type")]
    pub kind: String,
    pub created: String,
    pub actor_user_id: Option<String>,
    pub subject_user_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

pub fn event_view(e: AuditEvent) -> EventView {
    EventView {
        id: e.id,
        object: "audit_event",
        kind: e.kind,
        created: time(e.at),
        actor_user_id: e.actor_user_id,
        subject_user_id: e.subject_user_id,
        ip: e.ip,
        user_agent: e.user_agent,
        details: e.details,
    }
}

pub fn page(q: &PageQuery) -> Result<Page, ApiError> {
    Ok(Page { limit: q.limit()? + 1, starting_after: q.starting_after.clone() })
}

/// Trims the extra row fetched to learn `has_more`.
pub fn paged<T>(mut rows: Vec<T>, q: &PageQuery) -> Result<(Vec<T>, bool), ApiError> {
    let limit = usize::try_from(q.limit()?).unwrap_or(100);
    let more = rows.len() > limit;
    rows.truncate(limit);
    Ok((rows, more))
}

/// Your sign-in history: successes, failures and lockouts, newest first.
#[utoipa::path(get, path = "/v1/me/sign-ins", tag = "me", params(PageQuery), responses((status = 200, body = List<EventView>)))]
pub async fn sign_ins(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<List<EventView>>, ApiError> {
    let rows = state.identity().sign_in_history(&auth.caller, page(&q)?).await?;
    let (rows, more) = paged(rows, &q)?;
    Ok(Json(List::new(rows.into_iter().map(event_view).collect(), more)))
}
