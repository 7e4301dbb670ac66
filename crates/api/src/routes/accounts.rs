//! Assets and accounts.

use crate::auth::Auth;
use crate::dto::{List, PageQuery};
use crate::error::{ApiError, ErrorBody};
use crate::error_code::ErrorCode;
use crate::extract::{ApiPath, ApiQuery};
use crate::idempotency::{Idempotent, mark_replayed};
use crate::routes::ledger_views::{AccountView, TransferView, account_view, transfer_view};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use pb_domain::ledger::account::{Account, AccountId};
use pb_domain::ledger::transfer::TransferId;
use pb_ledger::NewAccount;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct AssetView {
    pub code: String,
    pub object: &'static str,
    pub scale: u8,
    pub name: String,
    /// `fiat` or `crypto`.
    pub kind: String,
}

/// The assets this bank holds, with their scales.
#[utoipa::path(get, path = "/v1/assets", tag = "ledger", responses((status = 200, body = List<AssetView>)))]
pub async fn assets(State(state): State<AppState>) -> Json<List<AssetView>> {
    let data = state
        .ledger()
        .assets()
        .all()
        .map(|a| AssetView {
            code: a.code.to_string(),
            object: "asset",
            scale: a.scale,
            name: a.name.clone(),
            kind: serde_json::to_value(a.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
        })
        .collect();
    Json(List::new(data, false))
}

/// An `acct_…` path parameter.
#[derive(Debug, Clone, Copy)]
pub struct AccountParam(pub AccountId);

impl<'de> Deserialize<'de> for AccountParam {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        AccountId::from_api(&s).map(Self).ok_or_else(|| serde::de::Error::custom("expected an account id like acct_…"))
    }
}

/// A `tr_…` path parameter.
#[derive(Debug, Clone, Copy)]
pub struct TransferParam(pub TransferId);

impl<'de> Deserialize<'de> for TransferParam {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        TransferId::from_api(&s).map(Self).ok_or_else(|| serde::de::Error::custom("expected a transfer id like tr_…"))
    }
}

pub fn view(state: &AppState, a: &Account) -> AccountView {
    let scale = state.ledger().assets().get(a.asset.as_str()).map_or(0, |x| x.scale);
    account_view(a, scale)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OpenAccount {
    /// See GET /v1/assets.
    pub asset: String,
    #[serde(default)]
    pub name: String,
    /// A master account of the same owner: this becomes its sub-account.
    pub parent_id: Option<String>,
    /// A business the caller may move money for; defaults to the caller.
    pub owner: Option<String>,
}

/// Opens an account (needs `Idempotency-Key`). A customer may hold several per asset.
#[utoipa::path(post, path = "/v1/accounts", tag = "ledger", request_body = OpenAccount,
    params(("Idempotency-Key" = String, Header)),
    responses((status = 201, body = AccountView), (status = 422, body = ErrorBody)))]
pub async fn open(
    State(state): State<AppState>,
    auth: Auth,
    req: Idempotent<OpenAccount>,
) -> Result<(StatusCode, HeaderMap, Json<AccountView>), ApiError> {
    let parent_id = req
        .body
        .parent_id
        .as_deref()
        .map(|p| {
            AccountId::from_api(p)
                .ok_or_else(|| ApiError::new(ErrorCode::ValidationFailed, "not an account id").with_param("parent_id"))
        })
        .transpose()?;
    let new = NewAccount {
        owner: req.body.owner.clone(),
        asset: req.body.asset.clone(),
        name: req.body.name.clone(),
        parent_id,
    };
    let (account, replayed) = state.ledger().open_account(&auth.caller, new, req.claim(&auth.caller)).await?;
    let mut headers = HeaderMap::new();
    mark_replayed(&mut headers, replayed);
    Ok((StatusCode::CREATED, headers, Json(view(&state, &account))))
}

/// Your accounts (and your businesses'), oldest first.
#[utoipa::path(get, path = "/v1/accounts", tag = "ledger", params(PageQuery), responses((status = 200, body = List<AccountView>)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<List<AccountView>>, ApiError> {
    let limit = q.limit()?;
    let after = q
        .starting_after
        .as_deref()
        .map(|s| {
            AccountId::from_api(s).ok_or_else(|| {
                ApiError::new(ErrorCode::InvalidQueryParameter, "not an account id").with_param("starting_after")
            })
        })
        .transpose()?;
    let mut rows = state.ledger().accounts(&auth.caller, after, limit + 1).await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    Ok(Json(List::new(rows.iter().map(|a| view(&state, a)).collect(), more)))
}

/// One account with its posted, pending and available balance.
#[utoipa::path(get, path = "/v1/accounts/{id}", tag = "ledger", params(("id" = String, Path)),
    responses((status = 200, body = AccountView), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<AccountParam>,
) -> Result<Json<AccountView>, ApiError> {
    let a = state.ledger().account(&auth.caller, id.0).await?;
    Ok(Json(view(&state, &a)))
}

/// Closes an account; only at zero with nothing pending.
#[utoipa::path(post, path = "/v1/accounts/{id}/close", tag = "ledger", params(("id" = String, Path)),
    responses((status = 200, body = AccountView), (status = 409, description = "account_not_empty", body = ErrorBody)))]
pub async fn close(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<AccountParam>,
) -> Result<Json<AccountView>, ApiError> {
    let a = state.ledger().close_account(&auth.caller, id.0).await?;
    Ok(Json(view(&state, &a)))
}

/// The account's transfers, newest first, with the balance after each posted one.
#[utoipa::path(get, path = "/v1/accounts/{id}/transfers", tag = "ledger", params(("id" = String, Path), PageQuery),
    responses((status = 200, body = List<TransferView>), (status = 404, body = ErrorBody)))]
pub async fn history(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<AccountParam>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<List<TransferView>>, ApiError> {
    let limit = q.limit()?;
    let after = q
        .starting_after
        .as_deref()
        .map(|s| {
            TransferId::from_api(s).ok_or_else(|| {
                ApiError::new(ErrorCode::InvalidQueryParameter, "not a transfer id").with_param("starting_after")
            })
        })
        .transpose()?;
    let mut rows = state.ledger().history(&auth.caller, id.0, after, limit + 1).await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    Ok(Json(List::new(rows.iter().map(|t| transfer_view(t, None, Some(id.0))).collect(), more)))
}
