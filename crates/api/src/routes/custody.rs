//! Crypto custody: whether it is on, and deposit addresses (issue 5).

use crate::auth::{Auth, StaffAuth};
use crate::dto::{List, time};
use crate::error::{ApiError, ErrorBody};
use crate::error_code::ErrorCode;
use crate::extract::ApiQuery;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use pb_custody::CustodyError;
use pb_domain::custody::DepositAddress;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

impl From<CustodyError> for ApiError {
    fn from(e: CustodyError) -> Self {
        match e {
            CustodyError::Disabled | CustodyError::ChainDisabled(_) => {
                ApiError::new(ErrorCode::CustodyDisabled, e.to_string())
            }
            CustodyError::UnknownChain(_) => {
                ApiError::new(ErrorCode::ValidationFailed, e.to_string()).with_param("chain")
            }
            CustodyError::NoSeed => ApiError::new(ErrorCode::CustodyNotInitialised, e.to_string()),
            CustodyError::Denied(d) => d.into(),
            CustodyError::Store(pb_domain::StoreError::Unavailable(d)) => ApiError::unavailable(d),
            CustodyError::Store(other) => ApiError::internal(other),
            CustodyError::Keys(k) => ApiError::internal(k),
            CustodyError::WithdrawalNotFound => ApiError::of(ErrorCode::WithdrawalNotFound),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustodyStatus {
    pub object: &'static str,
    /// False when no chain RPC endpoint is configured: every custody route answers `custody_disabled`.
    pub enabled: bool,
    /// `ethereum`, `solana`.
    pub chains: Vec<&'static str>,
    /// What a withdrawal costs the customer in network fees, per chain and asset.
    pub withdrawal_fees: Vec<WithdrawalFee>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WithdrawalFee {
    pub chain: &'static str,
    pub asset: String,
    /// Smallest units, as a string.
    pub amount: String,
    /// What one customer may withdraw of this asset in any 24 hours (smallest units); absent
    /// when unlimited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daily_limit: Option<String>,
}

/// Whether crypto custody is on, and for which chains.
#[utoipa::path(get, path = "/v1/custody", tag = "custody", responses((status = 200, body = CustodyStatus)))]
pub async fn status(State(state): State<AppState>, _auth: Auth) -> Json<CustodyStatus> {
    let custody = state.custody();
    let chains: Vec<&'static str> = custody.chains().iter().map(|c| c.as_str()).collect();
    let mut withdrawal_fees = Vec::new();
    for chain in custody.chains() {
        for asset in custody.assets_on(*chain) {
            let amount = custody.withdrawal_fee_for(*chain, &asset).to_string();
            let daily_limit = custody.daily_withdrawal_limit(&asset).map(|l| l.to_string());
            withdrawal_fees.push(WithdrawalFee { chain: chain.as_str(), asset, amount, daily_limit });
        }
    }
    Json(CustodyStatus {
        object: "custody",
        enabled: !chains.is_empty() && custody.has_seed(),
        chains,
        withdrawal_fees,
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DepositAddressView {
    pub object: &'static str,
    pub chain: String,
    /// EIP-55 checksummed (Ethereum) or base58 (Solana). Tokens on the chain use the same address.
    pub address: String,
    pub owner: String,
    pub created: String,
}

fn view(a: &DepositAddress) -> DepositAddressView {
    DepositAddressView {
        object: "deposit_address",
        chain: a.chain.clone(),
        address: a.address.clone(),
        owner: a.owner.clone(),
        created: time(a.created_at),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DepositAddressQuery {
    /// `ethereum` or `solana`: that chain's address, created on first request. Absent: all yours.
    pub chain: Option<String>,
    /// A business you may move money for; defaults to you.
    pub owner: Option<String>,
}

/// Your deposit addresses; with `chain`, that chain's (created on first request).
#[utoipa::path(get, path = "/v1/deposit-addresses", tag = "custody", params(DepositAddressQuery),
    responses((status = 200, body = List<DepositAddressView>),
        (status = 409, description = "custody_disabled", body = ErrorBody)))]
pub async fn deposit_addresses(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<DepositAddressQuery>,
) -> Result<Json<List<DepositAddressView>>, ApiError> {
    let custody = state.custody();
    match q.chain.as_deref() {
        Some(chain) => {
            let owner = match q.owner {
                Some(o) => o,
                None => auth.caller.user_id().map(str::to_owned).ok_or_else(|| ApiError::of(ErrorCode::Forbidden))?,
            };
            let a = custody.deposit_address(&auth.caller, &owner, chain).await?;
            Ok(Json(List::new(vec![view(&a)], false)))
        }
        None => {
            let all = custody.deposit_addresses(&auth.caller).await?;
            Ok(Json(List::new(all.iter().map(view).collect(), false)))
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DepositView {
    pub id: String,
    pub object: &'static str,
    pub chain: String,
    pub asset: String,
    /// Smallest units (wei, lamports, token base units), as a string.
    pub amount: String,
    pub address: String,
    /// Ethereum: the transaction hash; Solana: the transaction's signature (base58).
    pub tx_hash: String,
    /// Ethereum: the block number; Solana: the slot.
    pub block_number: u64,
    /// `pending` (waiting for confirmations), `credited`, `dropped` (its block left the chain
    /// before credit) or `reorged` (after credit: under review by staff).
    pub status: String,
    /// The ledger transfer that credited it.
    pub transfer_id: Option<String>,
    pub seen: String,
    pub credited: Option<String>,
}

fn deposit_view(d: pb_domain::custody::Deposit) -> DepositView {
    DepositView {
        object: "deposit",
        amount: d.amount.to_string(),
        credited: if d.status == "credited" { d.decided_at.map(time) } else { None },
        seen: time(d.seen_at),
        id: d.id,
        chain: d.chain,
        asset: d.asset,
        address: d.address,
        tx_hash: d.tx_hash,
        block_number: d.block_number,
        status: d.status,
        transfer_id: d.transfer_id,
    }
}

/// Your crypto deposits, newest first.
#[utoipa::path(get, path = "/v1/deposits", tag = "custody",
    responses((status = 200, body = List<DepositView>), (status = 409, description = "custody_disabled", body = ErrorBody)))]
pub async fn deposits(State(state): State<AppState>, auth: Auth) -> Result<Json<List<DepositView>>, ApiError> {
    let rows = state.custody().deposits(&auth.caller, 100).await?;
    let data = rows.into_iter().map(deposit_view).collect();
    Ok(Json(List::new(data, false)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReserveView {
    pub chain: &'static str,
    pub asset: String,
    /// Hot wallet plus every deposit address, smallest units.
    pub on_chain: String,
    /// What the ledger says is on chain.
    pub ledger_expects: String,
    pub customer_liabilities: String,
    /// On chain minus ledger: zero when every movement is accounted for.
    pub difference: String,
}

/// On-chain holdings against the ledger, per asset. Support, compliance officers and admins.
#[utoipa::path(get, path = "/v1/admin/reserves", tag = "admin",
    responses((status = 200, body = List<ReserveView>), (status = 403, body = ErrorBody)))]
pub async fn reserves(
    State(state): State<AppState>,
    StaffAuth(auth): StaffAuth,
) -> Result<Json<List<ReserveView>>, ApiError> {
    use pb_domain::identity::roles::StaffRole;
    auth.caller.require_staff(&[StaffRole::Support, StaffRole::ComplianceOfficer, StaffRole::Admin])?;
    let rows = state.custody().reserves(state.ledger()).await.map_err(|e| match e {
        pb_custody::ReservesError::Rpc(r) => ApiError::unavailable(r.to_string()),
        other => ApiError::internal(other),
    })?;
    let data = rows
        .into_iter()
        .map(|r| ReserveView {
            chain: r.chain,
            asset: r.asset,
            on_chain: r.on_chain.to_string(),
            ledger_expects: r.expected.to_string(),
            customer_liabilities: r.customer_liabilities.to_string(),
            difference: r.difference.to_string(),
        })
        .collect();
    Ok(Json(List::new(data, false)))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AdminDepositQuery {
    /// `reorged` (default: credited, then reorganised away — posted to suspense), `pending`,
    /// `credited` or `dropped`.
    pub status: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminDepositView {
    /// The customer (or business) credited.
    pub owner: String,
    #[serde(flatten)]
    pub deposit: DepositView,
}

/// Deposits in one status across chains, oldest first: by default the credited deposits a
/// reorganisation removed, whose amounts sit in the chain's suspense account until staff resolve
/// them. Support, compliance officers and admins.
#[utoipa::path(get, path = "/v1/admin/deposits", tag = "admin", params(AdminDepositQuery),
    responses((status = 200, body = List<AdminDepositView>), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn admin_deposits(
    State(state): State<AppState>,
    StaffAuth(auth): StaffAuth,
    ApiQuery(q): ApiQuery<AdminDepositQuery>,
) -> Result<Json<List<AdminDepositView>>, ApiError> {
    use pb_domain::identity::roles::StaffRole;
    auth.caller.require_staff(&[StaffRole::Support, StaffRole::ComplianceOfficer, StaffRole::Admin])?;
    let status = q.status.as_deref().unwrap_or("reorged");
    if !["pending", "credited", "dropped", "reorged"].contains(&status) {
        return Err(ApiError::new(ErrorCode::ValidationFailed, "status is pending, credited, dropped or reorged")
            .with_param("status"));
    }
    let rows = state.custody().deposits_in_status(status, 500).await?;
    let data =
        rows.into_iter().map(|d| AdminDepositView { owner: d.owner.clone(), deposit: deposit_view(d) }).collect();
    Ok(Json(List::new(data, false)))
}
