//! Crypto withdrawals (issue 5): `POST /v1/withdrawals` places the ledger holds; the sender
//! worker signs, broadcasts and tracks; the holds are captured on confirmation or voided.

use crate::auth::Auth;
use crate::dto::{List, time};
use crate::error::{ApiError, ErrorBody};
use crate::error_code::ErrorCode;
use crate::extract::ApiPath;
use crate::idempotency::{Idempotent, mark_replayed};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use pb_custody::{WithdrawalError, WithdrawalRequest};
use pb_domain::custody::Withdrawal;
use pb_domain::ledger::Amount;
use pb_domain::ledger::account::AccountId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateWithdrawal {
    /// The account to debit: its asset is what is sent (ETH or an ERC-20 on Ethereum; SOL or an
    /// SPL token on Solana).
    pub account_id: String,
    /// `ethereum` or `solana`.
    pub chain: String,
    /// Ethereum: EIP-55 checksummed (or all-lowercase). Solana: the recipient wallet's base58
    /// key (its token account is derived, and created if needed).
    pub to_address: String,
    /// Smallest units (wei, lamports, token units), as a string. The configured network fee is
    /// held on top.
    pub amount: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WithdrawalView {
    pub id: String,
    pub object: &'static str,
    pub account_id: String,
    pub chain: String,
    pub asset: String,
    pub to_address: String,
    pub amount: String,
    /// The network fee charged to the customer, smallest units.
    pub fee: String,
    /// `requested`, `signed`, `broadcast`, `confirmed` or `failed`.
    pub status: String,
    /// Ethereum: the transaction hash; Solana: the transaction's signature (base58).
    pub tx_hash: Option<String>,
    /// When `failed`: `network_refused` (the network would not accept it) or `reverted`.
    pub failure: Option<String>,
    pub created: String,
    pub updated: String,
}

fn view(w: &Withdrawal) -> WithdrawalView {
    WithdrawalView {
        id: w.id.clone(),
        object: "withdrawal",
        account_id: w.account_id.clone(),
        chain: w.chain.clone(),
        asset: w.asset.clone(),
        to_address: w.to_address.clone(),
        amount: w.amount.to_string(),
        fee: w.fee.to_string(),
        status: w.status.clone(),
        tx_hash: w.tx_hash.clone(),
        failure: w.failure.clone(),
        created: time(w.created_at),
        updated: time(w.updated_at),
    }
}

impl From<WithdrawalError> for ApiError {
    fn from(e: WithdrawalError) -> Self {
        match e {
            WithdrawalError::Custody(c) => c.into(),
            WithdrawalError::Ledger(l) => l.into(),
            WithdrawalError::InvalidAddress(m) => ApiError::new(ErrorCode::InvalidAddress, m).with_param("to_address"),
            WithdrawalError::InvalidAmount(m) => ApiError::new(ErrorCode::InvalidAmount, m).with_param("amount"),
            e @ WithdrawalError::LimitExceeded { .. } => {
                ApiError::new(ErrorCode::WithdrawalLimitExceeded, e.to_string()).with_param("amount")
            }
            e @ WithdrawalError::Busy => ApiError::new(ErrorCode::WithdrawalInProgress, e.to_string()),
            e @ WithdrawalError::UnsupportedAsset(_) => {
                ApiError::new(ErrorCode::UnsupportedAsset, e.to_string()).with_param("account_id")
            }
        }
    }
}

/// Sends crypto to an external address. Needs `Idempotency-Key` and a recent MFA check
/// (`POST /v1/auth/step-up`). Answers 202: the withdrawal is held and queued for signing.
#[utoipa::path(post, path = "/v1/withdrawals", tag = "custody", request_body = CreateWithdrawal,
    params(("Idempotency-Key" = String, Header)),
    responses((status = 202, body = WithdrawalView), (status = 402, description = "insufficient_funds", body = ErrorBody),
        (status = 403, description = "mfa_required", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    req: Idempotent<CreateWithdrawal>,
) -> Result<(StatusCode, HeaderMap, Json<WithdrawalView>), ApiError> {
    state.identity().require_step_up(&auth.caller)?;
    let b = &req.body;
    let account_id = AccountId::from_api(&b.account_id).ok_or_else(|| {
        ApiError::new(ErrorCode::ValidationFailed, "expected an account id like acct_…").with_param("account_id")
    })?;
    let amount = Amount::parse(&b.amount)
        .map_err(|e| ApiError::new(ErrorCode::InvalidAmount, e.to_string()).with_param("amount"))?;
    let request =
        WithdrawalRequest { account_id, chain: b.chain.clone(), to_address: b.to_address.trim().to_owned(), amount };
    let (outcome, replayed) =
        state.custody().request_withdrawal(state.ledger(), &auth.caller, request, req.claim(&auth.caller)).await?;
    let w = outcome.map_err(ApiError::from)?;
    let mut headers = HeaderMap::new();
    mark_replayed(&mut headers, replayed);
    Ok((StatusCode::ACCEPTED, headers, Json(view(&w))))
}

/// Your withdrawals, newest first.
#[utoipa::path(get, path = "/v1/withdrawals", tag = "custody", responses((status = 200, body = List<WithdrawalView>)))]
pub async fn list(State(state): State<AppState>, auth: Auth) -> Result<Json<List<WithdrawalView>>, ApiError> {
    let rows = state.custody().withdrawals(&auth.caller, 100).await?;
    Ok(Json(List::new(rows.iter().map(view).collect(), false)))
}

/// A withdrawal's status and transaction hash.
#[utoipa::path(get, path = "/v1/withdrawals/{id}", tag = "custody", params(("id" = String, Path)),
    responses((status = 200, body = WithdrawalView), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<WithdrawalView>, ApiError> {
    Ok(Json(view(&state.custody().withdrawal(&auth.caller, &id).await?)))
}
