//! Staff corrections under the four-eyes rule: `POST /v1/admin/adjustments` proposes,
//! another staff member approves (the ledger transfer is made then) or rejects.

use crate::auth::StaffAuth;
use crate::dto::{AdjustmentId, List, PageQuery, time, time_opt};
use crate::error::{ApiError, ErrorBody};
use crate::error_code::ErrorCode;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use pb_domain::ledger::Amount;
use pb_domain::ledger::account::AccountId;
use pb_domain::ledger::adjustment::{Adjustment, AdjustmentStatus, Direction};
use pb_domain::ledger::transfer::TransferId;
use pb_ledger::{LedgerError, Proposal};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
pub struct ProposeAdjustment {
    pub account_id: String,
    /// `credit` (money to the account) or `debit` (money from it).
    pub direction: String,
    /// Integer minor units of the account's asset, as a string.
    pub amount: String,
    /// Why, for the checker and the audit trail (10 to 500 characters).
    pub reason: String,
    /// The transfer this corrects, if any.
    pub corrects: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdjustmentView {
    pub id: String,
    pub object: &'static str,
    pub account_id: String,
    pub asset: String,
    pub amount: String,
    pub direction: &'static str,
    pub reason: String,
    pub corrects: Option<String>,
    /// `pending_approval`, `posted`, `failed` or `rejected`.
    pub status: &'static str,
    pub proposed_by: String,
    pub decided_by: Option<String>,
    /// The correcting transfer, once posted.
    pub transfer_id: Option<String>,
    /// Why the ledger refused it, when `failed` (e.g. `insufficient_funds`).
    pub failure_code: Option<String>,
    pub created: String,
    pub decided: Option<String>,
}

fn adjustment_view(a: &Adjustment) -> AdjustmentView {
    AdjustmentView {
        id: a.id.clone(),
        object: "adjustment",
        account_id: a.account_id.to_api(),
        asset: a.asset.to_string(),
        amount: a.amount.to_string(),
        direction: a.direction.as_str(),
        reason: a.reason.clone(),
        corrects: a.corrects.map(TransferId::to_api),
        status: a.status.as_str(),
        proposed_by: a.maker.clone(),
        decided_by: a.checker.clone(),
        transfer_id: a.transfer_id.map(TransferId::to_api),
        failure_code: a.failure.clone(),
        created: time(a.created_at),
        decided: time_opt(a.decided_at),
    }
}

fn invalid(param: &'static str, message: &'static str) -> ApiError {
    ApiError::new(ErrorCode::ValidationFailed, message).with_param(param)
}

/// Proposes a correction. Compliance officers and admins.
#[utoipa::path(post, path = "/v1/admin/adjustments", tag = "admin", request_body = ProposeAdjustment,
    responses((status = 201, body = AdjustmentView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn propose(
    State(state): State<AppState>,
    StaffAuth(auth): StaffAuth,
    ApiJson(req): ApiJson<ProposeAdjustment>,
) -> Result<(StatusCode, Json<AdjustmentView>), ApiError> {
    let account_id = AccountId::from_api(&req.account_id)
        .ok_or_else(|| invalid("account_id", "expected an account id like acct_…"))?;
    let direction = Direction::parse(&req.direction).ok_or_else(|| invalid("direction", "credit or debit"))?;
    let amount = Amount::parse(&req.amount)
        .map_err(|e| ApiError::new(ErrorCode::InvalidAmount, e.to_string()).with_param("amount"))?;
    let corrects = req
        .corrects
        .as_deref()
        .map(|t| TransferId::from_api(t).ok_or_else(|| invalid("corrects", "expected a transfer id like tr_…")))
        .transpose()?;
    let proposal = Proposal { account_id, direction, amount, reason: req.reason, corrects };
    let a = state.ledger().propose_adjustment(&auth.caller, proposal).await?;
    Ok((StatusCode::CREATED, Json(adjustment_view(&a))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdjustmentQuery {
    /// Only adjustments in this status.
    pub status: Option<String>,
    pub limit: Option<u32>,
    pub starting_after: Option<String>,
}

/// Adjustments, newest first. Support, compliance officers and admins.
#[utoipa::path(get, path = "/v1/admin/adjustments", tag = "admin", params(AdjustmentQuery),
    responses((status = 200, body = List<AdjustmentView>), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    StaffAuth(auth): StaffAuth,
    ApiQuery(q): ApiQuery<AdjustmentQuery>,
) -> Result<Json<List<AdjustmentView>>, ApiError> {
    let status = q
        .status
        .as_deref()
        .map(|s| {
            AdjustmentStatus::parse(s).ok_or_else(|| {
                ApiError::new(ErrorCode::InvalidQueryParameter, "pending_approval, posted, failed or rejected")
                    .with_param("status")
            })
        })
        .transpose()?;
    let page = PageQuery { limit: q.limit, starting_after: q.starting_after };
    let limit = page.limit()?;
    let mut rows = state.ledger().adjustments(&auth.caller, status, page.starting_after.as_deref(), limit + 1).await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    Ok(Json(List::new(rows.iter().map(adjustment_view).collect(), more)))
}

/// One adjustment. Support, compliance officers and admins.
#[utoipa::path(get, path = "/v1/admin/adjustments/{id}", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = AdjustmentView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    StaffAuth(auth): StaffAuth,
    ApiPath(id): ApiPath<AdjustmentId>,
) -> Result<Json<AdjustmentView>, ApiError> {
    Ok(Json(adjustment_view(&state.ledger().adjustment(&auth.caller, &id.0).await?)))
}

/// Approves: the correcting transfer is made now. A different compliance officer or admin than
/// the proposer, with a recent MFA check. Repeating an approval returns the same answer.
#[utoipa::path(post, path = "/v1/admin/adjustments/{id}/approve", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = AdjustmentView), (status = 403, description = "four_eyes_required", body = ErrorBody),
        (status = 409, description = "adjustment_already_decided", body = ErrorBody)))]
pub async fn approve(
    State(state): State<AppState>,
    StaffAuth(auth): StaffAuth,
    ApiPath(id): ApiPath<AdjustmentId>,
) -> Result<Json<AdjustmentView>, ApiError> {
    state.identity().require_step_up(&auth.caller)?;
    match state.ledger().approve_adjustment(&auth.caller, &id.0).await {
        Ok(a) => Ok(Json(adjustment_view(&a))),
        // A retry by the same checker (say, after a lost response) gets the first answer.
        Err(LedgerError::AdjustmentDecided(AdjustmentStatus::Posted | AdjustmentStatus::Failed)) => {
            let a = state.ledger().adjustment(&auth.caller, &id.0).await?;
            if a.checker.as_deref() == auth.caller.user_id() {
                Ok(Json(adjustment_view(&a)))
            } else {
                Err(LedgerError::AdjustmentDecided(a.status).into())
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Rejects a proposal; no money moves. A different compliance officer or admin than the proposer.
#[utoipa::path(post, path = "/v1/admin/adjustments/{id}/reject", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = AdjustmentView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn reject(
    State(state): State<AppState>,
    StaffAuth(auth): StaffAuth,
    ApiPath(id): ApiPath<AdjustmentId>,
) -> Result<Json<AdjustmentView>, ApiError> {
    Ok(Json(adjustment_view(&state.ledger().reject_adjustment(&auth.caller, &id.0).await?)))
}
