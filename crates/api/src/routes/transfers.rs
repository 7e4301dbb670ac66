//! Transfers, holds, batches and sandbox deposits. Every POST needs an `Idempotency-Key`.

use crate::auth::Auth;
use crate::error::{ApiError, ErrorBody};
use crate::error_code::ErrorCode;
use crate::extract::ApiPath;
use crate::idempotency::{Idempotent, mark_replayed};
use crate::routes::accounts::TransferParam;
use crate::routes::ledger_views::{TransferView, transfer_view};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use pb_domain::identity::email::EmailAddress;
use pb_domain::ledger::Amount;
use pb_domain::ledger::account::AccountId;
use pb_domain::ledger::engine::PendingState;
use pb_ledger::{Recipient, TransferInput};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

fn amount(v: &serde_json::Value) -> Result<Amount, ApiError> {
    let bad = |m: String| ApiError::new(ErrorCode::InvalidAmount, m).with_param("amount");
    match v {
        serde_json::Value::String(s) => Amount::parse(s).map_err(|e| bad(e.to_string())),
        serde_json::Value::Number(_) => {
            Err(bad("amount must be a JSON string of integer minor units, such as \"1050\"".into()))
        }
        _ => Err(bad("amount is required: a string of integer minor units, such as \"1050\"".into())),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct To {
    pub account_id: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct Hold {
    /// The hold voids itself after this many seconds unless captured (max 30 days).
    pub timeout_seconds: u32,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateTransfer {
    pub from_account: String,
    pub to: To,
    /// Integer minor units as a string: `"1050"` is 10.50 USD.
    #[schema(value_type = String, example = "1050")]
    pub amount: serde_json::Value,
    pub description: Option<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Reserve instead of paying now; capture or void later.
    pub hold: Option<Hold>,
}

fn input(t: &CreateTransfer) -> Result<TransferInput, ApiError> {
    let from = AccountId::from_api(&t.from_account)
        .ok_or_else(|| ApiError::new(ErrorCode::ValidationFailed, "not an account id").with_param("from_account"))?;
    let to = match (&t.to.account_id, &t.to.email) {
        (Some(id), None) => Recipient::Account(AccountId::from_api(id).ok_or_else(|| {
            ApiError::new(ErrorCode::ValidationFailed, "not an account id").with_param("to.account_id")
        })?),
        (None, Some(e)) => Recipient::Email(EmailAddress::parse(e).map_err(|_| {
            ApiError::new(ErrorCode::ValidationFailed, "not a valid email address").with_param("to.email")
        })?),
        _ => {
            return Err(ApiError::new(ErrorCode::ValidationFailed, "give exactly one of to.account_id or to.email")
                .with_param("to"));
        }
    };
    let hold = match &t.hold {
        Some(h) if h.timeout_seconds == 0 || h.timeout_seconds > 30 * 86_400 => {
            return Err(ApiError::new(ErrorCode::ValidationFailed, "timeout_seconds must be 1 to 2592000")
                .with_param("hold.timeout_seconds"));
        }
        Some(h) => Some(h.timeout_seconds),
        None => None,
    };
    Ok(TransferInput {
        from,
        to,
        amount: amount(&t.amount)?,
        description: t.description.clone(),
        metadata: t.metadata.clone(),
        hold_timeout_seconds: hold,
    })
}

/// 201 with the transfer, or the failure's error; either marked when replayed.
fn created(outcome: pb_ledger::Single, replayed: bool) -> Response {
    let mut response = match outcome {
        Ok(t) => {
            let state = t.flags.pending.then_some(PendingState::Pending);
            (StatusCode::CREATED, Json(transfer_view(&t, state, None))).into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    };
    mark_replayed(response.headers_mut(), replayed);
    response
}

/// Sends money to another account (by id or the owner's email), or places a hold.
#[utoipa::path(post, path = "/v1/transfers", tag = "ledger", request_body = CreateTransfer,
    params(("Idempotency-Key" = String, Header)),
    responses((status = 201, body = TransferView), (status = 402, description = "insufficient_funds", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    req: Idempotent<CreateTransfer>,
) -> Result<Response, ApiError> {
    let input = input(&req.body)?;
    let (t, replayed) = state.ledger().transfer(&auth.caller, input, req.claim(&auth.caller)).await?;
    Ok(created(t, replayed))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateBatch {
    /// 1 to 1000 transfers.
    pub transfers: Vec<CreateTransfer>,
    /// All succeed or none does.
    #[serde(default)]
    pub atomic: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchItem {
    pub index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfer: Option<TransferView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<crate::error::ErrorDetail>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchResult {
    pub object: &'static str,
    pub data: Vec<BatchItem>,
    pub has_more: bool,
}

/// Many transfers in one request, each with its own result; `atomic` makes them all-or-nothing.
#[utoipa::path(post, path = "/v1/transfers/batch", tag = "ledger", request_body = CreateBatch,
    params(("Idempotency-Key" = String, Header)), responses((status = 200, body = BatchResult), (status = 422, body = ErrorBody)))]
pub async fn batch(
    State(state): State<AppState>,
    auth: Auth,
    req: Idempotent<CreateBatch>,
) -> Result<(HeaderMap, Json<BatchResult>), ApiError> {
    let inputs = req.body.transfers.iter().map(input).collect::<Result<Vec<_>, _>>()?;
    let (results, replayed) =
        state.ledger().batch(&auth.caller, inputs, req.body.atomic, req.claim(&auth.caller)).await?;
    let data = results
        .into_iter()
        .enumerate()
        .map(|(index, r)| match r {
            Ok(t) => BatchItem {
                index,
                transfer: Some(transfer_view(&t, t.flags.pending.then_some(PendingState::Pending), None)),
                error: None,
            },
            Err(e) => BatchItem { index, transfer: None, error: Some(ApiError::from(e).body().error) },
        })
        .collect();
    let mut headers = HeaderMap::new();
    mark_replayed(&mut headers, replayed);
    Ok((headers, Json(BatchResult { object: "list", data, has_more: false })))
}

/// A transfer you are a party to.
#[utoipa::path(get, path = "/v1/transfers/{id}", tag = "ledger", params(("id" = String, Path)),
    responses((status = 200, body = TransferView), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<TransferParam>,
) -> Result<Json<TransferView>, ApiError> {
    let (t, s) = state.ledger().get_transfer(&auth.caller, id.0).await?;
    Ok(Json(transfer_view(&t, s, None)))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct Capture {
    /// Part of the hold to capture; all of it when absent.
    #[schema(value_type = Option<String>)]
    pub amount: Option<serde_json::Value>,
}

/// Captures a hold (all or part); the rest is released. Once only.
#[utoipa::path(post, path = "/v1/transfers/{id}/capture", tag = "ledger", params(("id" = String, Path), ("Idempotency-Key" = String, Header)),
    request_body = Capture, responses((status = 201, body = TransferView), (status = 409, body = ErrorBody)))]
pub async fn capture(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<TransferParam>,
    req: Idempotent<Capture>,
) -> Result<Response, ApiError> {
    let part = req.body.amount.as_ref().map(amount).transpose()?;
    let (t, replayed) = state.ledger().resolve(&auth.caller, id.0, Some(part), req.claim(&auth.caller)).await?;
    Ok(created(t, replayed))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct Void {}

/// Voids a hold, releasing the funds. Once only.
#[utoipa::path(post, path = "/v1/transfers/{id}/void", tag = "ledger", params(("id" = String, Path), ("Idempotency-Key" = String, Header)),
    responses((status = 201, body = TransferView), (status = 409, body = ErrorBody)))]
pub async fn void(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<TransferParam>,
    req: Idempotent<Void>,
) -> Result<Response, ApiError> {
    let (t, replayed) = state.ledger().resolve(&auth.caller, id.0, None, req.claim(&auth.caller)).await?;
    Ok(created(t, replayed))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SandboxDeposit {
    pub account_id: String,
    #[schema(value_type = String, example = "100000")]
    pub amount: serde_json::Value,
}

/// Development only: money from the sandbox's "outside world" into one of your accounts,
/// as a real ledger transfer.
#[utoipa::path(post, path = "/v1/sandbox/deposits", tag = "development", request_body = SandboxDeposit,
    params(("Idempotency-Key" = String, Header)),
    responses((status = 201, body = TransferView), (status = 403, description = "not_available_in_production", body = ErrorBody)))]
pub async fn sandbox_deposit(
    State(state): State<AppState>,
    auth: Auth,
    req: Idempotent<SandboxDeposit>,
) -> Result<Response, ApiError> {
    crate::routes::dev::sandbox_only(&state)?;
    let account = AccountId::from_api(&req.body.account_id)
        .ok_or_else(|| ApiError::new(ErrorCode::ValidationFailed, "not an account id").with_param("account_id"))?;
    let (t, replayed) = state
        .ledger()
        .sandbox_deposit(&auth.caller, account, amount(&req.body.amount)?, req.claim(&auth.caller))
        .await?;
    Ok(created(t, replayed))
}
