//! Staff routes. Roles are checked on the server for each one (security.md).

use crate::auth::{Ctx, StaffAuth};
use crate::dto::{List, PageQuery, UserId};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::me::{EventView, UserView, event_view, page, paged, user_view};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use pb_domain::identity::roles::StaffRole;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only events about this user.
    pub user_id: Option<String>,
    pub limit: Option<u32>,
    pub starting_after: Option<String>,
}

/// The security audit log, newest first. Support, compliance officers and admins.
#[utoipa::path(get, path = "/v1/admin/audit-events", tag = "admin", params(AuditQuery), responses(
    (status = 200, body = List<EventView>), (status = 403, body = ErrorBody)))]
pub async fn audit_events(
    State(state): State<AppState>,
    StaffAuth(auth): StaffAuth,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<List<EventView>>, ApiError> {
    let pq = PageQuery { limit: q.limit, starting_after: q.starting_after };
    let rows = state.identity().audit_log(&auth.caller, q.user_id.as_deref(), page(&pq)?).await?;
    let (rows, more) = paged(rows, &pq)?;
    Ok(Json(List::new(rows.into_iter().map(event_view).collect(), more)))
}

/// A user, for staff. Support, compliance officers and admins.
#[utoipa::path(get, path = "/v1/admin/users/{id}", tag = "admin", params(("id" = String, Path)), responses(
    (status = 200, body = UserView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn user(
    State(state): State<AppState>,
    StaffAuth(auth): StaffAuth,
    ApiPath(id): ApiPath<UserId>,
) -> Result<Json<UserView>, ApiError> {
    auth.caller.require_staff(&[StaffRole::Support, StaffRole::ComplianceOfficer, StaffRole::Admin])?;
    let user = state.identity().user(&id.0).await?.ok_or_else(|| ApiError::not_found("user"))?;
    let memberships = state.identity().memberships(&user.id).await?;
    Ok(Json(user_view(&user, &memberships)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CloseUser {
    pub reason: String,
}

/// Closes a user (never deleted): sign-in stops and every session ends. Admins only.
#[utoipa::path(post, path = "/v1/admin/users/{id}/close", tag = "admin", params(("id" = String, Path)), request_body = CloseUser,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn close_user(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    StaffAuth(auth): StaffAuth,
    ApiPath(id): ApiPath<UserId>,
    ApiJson(req): ApiJson<CloseUser>,
) -> Result<StatusCode, ApiError> {
    state.identity().close_user(&auth.caller, &id.0, &req.reason, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SetRole {
    /// `support`, `compliance_officer` or `admin`.
    #[schema(value_type = String)]
    pub role: StaffRole,
}

/// Changes a staff member's role. Admins only, and not their own.
#[utoipa::path(post, path = "/v1/admin/staff/{id}/role", tag = "admin", params(("id" = String, Path)), request_body = SetRole,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_role(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    StaffAuth(auth): StaffAuth,
    ApiPath(id): ApiPath<UserId>,
    ApiJson(req): ApiJson<SetRole>,
) -> Result<StatusCode, ApiError> {
    state.identity().set_staff_role(&auth.caller, &id.0, req.role, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}
