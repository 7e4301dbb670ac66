//! Business API keys: created by a business admin, shown once, scoped, revocable.

use crate::auth::{Auth, Ctx};
use crate::dto::{ApiKeyId, List, time, time_opt};
use crate::error::{ApiError, ErrorBody};
use crate::error_code::ErrorCode;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use pb_domain::identity::caller::Caller;
use pb_domain::identity::records::{ApiKeyRecord, ApiScope};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: String,
    pub object: &'static str,
    pub business_id: String,
    pub name: String,
    /// The first characters of the key, to recognise it.
    pub prefix: String,
    #[schema(value_type = Vec<String>)]
    pub scopes: Vec<ApiScope>,
    pub created: String,
    pub last_used: Option<String>,
    pub revoked: Option<String>,
    /// Present only in the response that created the key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

fn view(r: ApiKeyRecord, key: Option<String>) -> ApiKeyView {
    ApiKeyView {
        id: r.id,
        object: "api_key",
        business_id: r.business_id,
        name: r.name,
        prefix: r.prefix,
        scopes: r.scopes,
        created: time(r.created_at),
        last_used: time_opt(r.last_used_at),
        revoked: time_opt(r.revoked_at),
        key,
    }
}

/// The business a request is about: the one named, or the caller's only business.
fn business_of(caller: &Caller, named: Option<&str>) -> Result<String, ApiError> {
    if let pb_domain::identity::caller::Principal::ApiKey { business_id, .. } = &caller.principal {
        return Ok(business_id.clone());
    }
    if let Some(id) = named {
        return Ok(id.to_owned());
    }
    match caller.memberships.as_slice() {
        [only] => Ok(only.business_id.clone()),
        [] => Err(ApiError::new(ErrorCode::Forbidden, "API keys belong to businesses; you are not a member of one")),
        _ => Err(ApiError::new(ErrorCode::ValidationFailed, "you belong to several businesses: give business_id")
            .with_param("business_id")),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateApiKey {
    /// Defaults to your only business.
    pub business_id: Option<String>,
    pub name: String,
    /// `read` and/or `payments`.
    #[schema(value_type = Vec<String>)]
    pub scopes: Vec<ApiScope>,
}

/// Creates an API key (business admins). The key is in this response only.
#[utoipa::path(post, path = "/v1/api-keys", tag = "api_keys", request_body = CreateApiKey, responses(
    (status = 201, body = ApiKeyView), (status = 403, description = "forbidden (not a business admin)", body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    auth: Auth,
    ApiJson(req): ApiJson<CreateApiKey>,
) -> Result<(StatusCode, Json<ApiKeyView>), ApiError> {
    let business = business_of(&auth.caller, req.business_id.as_deref())?;
    let created = state.identity().create_api_key(&auth.caller, &business, &req.name, req.scopes, &ctx).await?;
    Ok((StatusCode::CREATED, Json(view(created.record, Some(created.key)))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BusinessQuery {
    pub business_id: Option<String>,
}

/// The business's API keys, newest first (without the keys themselves).
#[utoipa::path(get, path = "/v1/api-keys", tag = "api_keys", params(BusinessQuery), responses((status = 200, body = List<ApiKeyView>)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<BusinessQuery>,
) -> Result<Json<List<ApiKeyView>>, ApiError> {
    let business = business_of(&auth.caller, q.business_id.as_deref())?;
    let keys = state.identity().api_keys(&auth.caller, &business).await?;
    Ok(Json(List::new(keys.into_iter().map(|k| view(k, None)).collect(), false)))
}

/// Revokes an API key at once.
#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "api_keys", params(("id" = String, Path)), responses(
    (status = 204), (status = 404, body = ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    auth: Auth,
    ApiPath(id): ApiPath<ApiKeyId>,
) -> Result<StatusCode, ApiError> {
    // The key may belong to any business the caller manages; others answer not found.
    let mut last = ApiError::not_found("api key");
    for m in &auth.caller.memberships {
        match state.identity().revoke_api_key(&auth.caller, &m.business_id, &id.0, &ctx).await {
            Ok(()) => return Ok(StatusCode::NO_CONTENT),
            Err(pb_identity::IdentityError::Denied(pb_domain::identity::caller::Denied::NotFound)) => {}
            Err(e) => last = e.into(),
        }
    }
    Err(last)
}
