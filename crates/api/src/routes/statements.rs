//! Account statements, as JSON or CSV (`?format=csv` or `Accept: text/csv`).

use crate::auth::Auth;
use crate::dto::time;
use crate::error::{ApiError, ErrorBody};
use crate::error_code::ErrorCode;
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::accounts::{AccountParam, view};
use crate::routes::ledger_views::AccountView;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use pb_domain::ledger::to_decimal;
use pb_ledger::Statement;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatementQuery {
    /// Start, inclusive: a date (`2026-11-01`, from its first moment, UTC) or an RFC 3339 time.
    /// Defaults to 30 days before `to`.
    pub from: Option<String>,
    /// End: a date (inclusive: up to the end of that day, UTC) or an RFC 3339 time (exclusive).
    /// Defaults to now.
    pub to: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatementLineView {
    pub transfer_id: String,
    pub date: String,
    /// Why: `p2p`, `capture`, `sandbox_deposit`, `adjustment`, …
    pub code: String,
    pub description: Option<String>,
    pub counterparty_account: String,
    /// Signed integer minor units: positive in, negative out.
    pub amount: String,
    pub balance_after: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatementView {
    pub object: &'static str,
    pub account: AccountView,
    pub from: String,
    pub to: String,
    pub opening_balance: String,
    pub closing_balance: String,
    pub total_in: String,
    pub total_out: String,
    pub lines: Vec<StatementLineView>,
}

/// Parses a bound: a date means its first moment (or, for an inclusive end, the next day's).
fn bound(param: &'static str, s: &str, end: bool) -> Result<i64, ApiError> {
    let bad = || {
        ApiError::new(ErrorCode::InvalidQueryParameter, "give a date like 2026-11-01 or an RFC 3339 time")
            .with_param(param)
    };
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let start = d.and_hms_opt(0, 0, 0).ok_or_else(bad)?.and_utc().timestamp_millis();
        return Ok(if end { start + DAY_MS } else { start });
    }
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc).timestamp_millis()).map_err(|_| bad())
}

fn wants_csv(q: &StatementQuery, headers: &HeaderMap) -> Result<bool, ApiError> {
    match q.format.as_deref() {
        Some("csv") => Ok(true),
        Some("json") => Ok(false),
        Some(_) => Err(ApiError::new(ErrorCode::InvalidQueryParameter, "format is json or csv").with_param("format")),
        None => Ok(headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/csv") && !a.contains("application/json"))),
    }
}

/// A CSV field (RFC 4180), with text that a spreadsheet would run as a formula defused (OWASP
/// "CSV injection").
fn field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_owned() };
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

fn csv(st: &Statement, scale: u8) -> String {
    let asset = st.account.asset.as_str();
    let mut out = String::from("date,transfer_id,code,description,counterparty_account,amount,balance,asset\r\n");
    let opening = to_decimal(st.opening, scale);
    out.push_str(&format!("{},,opening_balance,Opening balance,,,{opening},{asset}\r\n", time(st.from_ms)));
    for l in &st.lines {
        let t = &l.transfer;
        let other = if t.credit_account_id == st.account.id { t.debit_account_id } else { t.credit_account_id };
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{asset}\r\n",
            time(t.created_at),
            t.id.to_api(),
            field(&t.code),
            field(t.description.as_deref().unwrap_or("")),
            other.to_api(),
            to_decimal(l.amount, scale),
            to_decimal(l.balance_after, scale),
        ));
    }
    let closing = to_decimal(st.closing, scale);
    out.push_str(&format!("{},,closing_balance,Closing balance,,,{closing},{asset}\r\n", time(st.to_ms)));
    out
}

/// Opening balance, the posted movements of the period, closing balance. Amounts in JSON are
/// integer minor units; the CSV shows decimals in the asset's major unit.
#[utoipa::path(get, path = "/v1/accounts/{id}/statement", tag = "ledger",
    params(("id" = String, Path), StatementQuery),
    responses((status = 200, body = StatementView, content_type = "application/json"),
        (status = 200, description = "The same statement as CSV", content_type = "text/csv"),
        (status = 404, body = ErrorBody), (status = 422, description = "statement_too_large", body = ErrorBody)))]
pub async fn statement(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    ApiPath(id): ApiPath<AccountParam>,
    ApiQuery(q): ApiQuery<StatementQuery>,
) -> Result<Response, ApiError> {
    let csv_out = wants_csv(&q, &headers)?;
    let to = match q.to.as_deref() {
        Some(s) => bound("to", s, true)?,
        None => state.ledger().now_ms(),
    };
    let from = match q.from.as_deref() {
        Some(s) => bound("from", s, false)?,
        None => to - 30 * DAY_MS,
    };
    if from >= to {
        return Err(ApiError::new(ErrorCode::InvalidQueryParameter, "`from` must be before `to`").with_param("from"));
    }
    let st = state.ledger().statement(&auth.caller, id.0, from, to).await?;
    let scale = state.ledger().assets().get(st.account.asset.as_str()).map_or(0, |a| a.scale);
    if csv_out {
        let name = format!(
            "attachment; filename=\"statement-{}-{}-{}.csv\"",
            st.account.id.to_api(),
            time(from).get(..10).unwrap_or_default(),
            time(to - 1).get(..10).unwrap_or_default()
        );
        let mut res = csv(&st, scale).into_response();
        res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
        if let Ok(v) = HeaderValue::from_str(&name) {
            res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
        }
        return Ok(res);
    }
    let total_in: i128 = st.lines.iter().filter(|l| l.amount > 0).map(|l| l.amount).sum();
    let total_out: i128 = st.lines.iter().filter(|l| l.amount < 0).map(|l| -l.amount).sum();
    let lines = st
        .lines
        .iter()
        .map(|l| {
            let t = &l.transfer;
            let other = if t.credit_account_id == st.account.id { t.debit_account_id } else { t.credit_account_id };
            StatementLineView {
                transfer_id: t.id.to_api(),
                date: time(t.created_at),
                code: t.code.clone(),
                description: t.description.clone(),
                counterparty_account: other.to_api(),
                amount: l.amount.to_string(),
                balance_after: l.balance_after.to_string(),
            }
        })
        .collect();
    Ok(Json(StatementView {
        object: "statement",
        account: view(&state, &st.account),
        from: time(from),
        to: time(to),
        opening_balance: st.opening.to_string(),
        closing_balance: st.closing.to_string(),
        total_in: total_in.to_string(),
        total_out: total_out.to_string(),
        lines,
    })
    .into_response())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("@SUM(A1)"), "'@SUM(A1)");
    }

    #[test]
    fn dates_are_whole_days_and_times_are_exact() {
        assert_eq!(bound("from", "1970-01-02", false).unwrap(), DAY_MS);
        assert_eq!(bound("to", "1970-01-02", true).unwrap(), 2 * DAY_MS);
        assert_eq!(bound("to", "1970-01-01T00:00:01Z", true).unwrap(), 1_000);
        assert!(bound("to", "yesterday", true).is_err());
    }
}
