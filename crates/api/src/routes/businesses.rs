//! Business membership.

use crate::auth::{Auth, Ctx};
use crate::dto::BusinessId;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use pb_domain::identity::email::EmailAddress;
use pb_domain::identity::roles::BusinessRole;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct AddMember {
    /// An existing customer's email.
    pub email: String,
    /// `admin`, `finance_manager` or `view_only`.
    #[schema(value_type = String)]
    pub role: BusinessRole,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    pub object: &'static str,
    pub business_id: String,
    pub user_id: String,
    pub role: &'static str,
}

/// Adds (or changes the role of) a member. Business admins only.
#[utoipa::path(post, path = "/v1/businesses/{id}/members", tag = "businesses", params(("id" = String, Path)),
    request_body = AddMember, responses((status = 201, body = MemberView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn add_member(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    auth: Auth,
    ApiPath(id): ApiPath<BusinessId>,
    ApiJson(req): ApiJson<AddMember>,
) -> Result<(StatusCode, Json<MemberView>), ApiError> {
    let email = EmailAddress::parse(&req.email).map_err(|_| {
        ApiError::new(crate::ErrorCode::ValidationFailed, "not a valid email address").with_param("email")
    })?;
    let member = state.identity().add_member(&auth.caller, &id.0, &email, req.role, &ctx).await?;
    Ok((
        StatusCode::CREATED,
        Json(MemberView { object: "business_member", business_id: id.0, user_id: member.id, role: req.role.as_str() }),
    ))
}
