//! Development-only routes (PROTOCOL_BANK_ENV=development). Production refuses them.

use crate::dto::{List, PageQuery, time, time_opt};
use crate::error::{ApiError, ErrorBody};
use crate::error_code::ErrorCode;
use crate::extract::ApiQuery;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxMessage {
    pub id: String,
    pub object: &'static str,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub created: String,
    pub sent: Option<String>,
}

pub fn sandbox_only(state: &AppState) -> Result<(), ApiError> {
    if state.settings().environment.sandbox_allowed() {
        Ok(())
    } else {
        Err(ApiError::of(ErrorCode::NotAvailableInProduction))
    }
}

/// The embedded default's email outbox, newest first: read verification and reset links here.
#[utoipa::path(get, path = "/v1/dev/outbox", tag = "development", params(PageQuery), responses(
    (status = 200, body = List<OutboxMessage>), (status = 403, description = "not_available_in_production", body = ErrorBody)))]
pub async fn outbox(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<List<OutboxMessage>>, ApiError> {
    sandbox_only(&state)?;
    let rows = state.identity().outbox(q.limit()?).await?;
    let data = rows
        .into_iter()
        .map(|n| OutboxMessage {
            id: n.id,
            object: "email",
            to: n.recipient,
            subject: n.subject,
            body: n.body,
            created: time(n.created_at),
            sent: time_opt(n.sent_at),
        })
        .collect();
    Ok(Json(List::new(data, false)))
}
