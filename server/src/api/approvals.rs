//! Approving and rejecting transactions (managers and owners only), and the
//! approval aggregates: `GET /v1/approvals/daily` and
//! `GET /v1/approvals/today-pending`.

use axum::extract::State;
use chrono::{NaiveDate, Utc};
use ledgerline_wire::{
    rules, Currency, DailyApproval, ErrorBody, TodayPending, Transaction, TransactionStatus,
};
use serde::Deserialize;
use utoipa::IntoParams;

use super::transactions::MutationQuery;
use super::{
    error::ApiError,
    extract::{IdPath, Query},
    principal::Principal,
    reports::{check_date, scope},
};
use crate::{state::AppState, store::transactions::StatusChange};

/// `?version=&client_mutation_id=` of an approve.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ApproveQuery {
    /// The version the decision is about: a transaction that has changed
    /// since is a 409. Without it the decision applies to the transaction
    /// as it is now.
    pub version: Option<i64>,
    /// Makes it idempotent: a replay is answered with the first result.
    pub client_mutation_id: Option<String>,
}

/// `?version=&reason=&client_mutation_id=` of a reject.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RejectQuery {
    /// The version the decision is about (see approve).
    pub version: Option<i64>,
    /// Why, in words shown to whoever entered it: 1 to 500 characters.
    pub reason: Option<String>,
    /// Makes it idempotent: a replay is answered with the first result.
    pub client_mutation_id: Option<String>,
}

async fn set_status(
    state: &AppState,
    principal: &Principal,
    id: &str,
    status: TransactionStatus,
    version: Option<i64>,
    reason: Option<String>,
    cmid: Option<String>,
) -> Result<axum::Json<Transaction>, ApiError> {
    principal.require_approver()?;
    let cmid = MutationQuery {
        client_mutation_id: cmid,
    }
    .checked()?;
    if let Some(v) = version {
        if v < 1 {
            return Err(ApiError::Validation("version must be 1 or more".into()));
        }
    }
    if let Some(r) = &reason {
        rules::reason(r).map_err(|e| ApiError::Validation(e.message))?;
    }
    let store = state.store().clone();
    let (org_id, user_id, id) = (
        principal.org_id.clone(),
        principal.user_id.clone(),
        id.to_owned(),
    );
    let visible = principal.properties.clone();
    let change = StatusChange {
        status,
        version,
        reason,
        client_mutation_id: cmid,
    };
    let t = state
        .commit(&principal.org_id, async move {
            let (t, event) = store
                .set_status(&org_id, &user_id, &id, &change, visible.as_deref())
                .await?;
            Ok((t, event.into_iter().collect()))
        })
        .await?;
    Ok(axum::Json(t))
}

/// Approve a transaction. Approving an approved one changes nothing.
#[utoipa::path(
    post, path = "/v1/transactions/{id}/approve", tag = "approvals",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "transaction id"), ApproveQuery),
    responses(
        (status = 200, body = Transaction),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "not a manager or owner", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "not at `version` (`conflict`), or dated on or before the lock date (`period_locked`)", body = ErrorBody),
    )
)]
pub async fn approve(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
    Query(q): Query<ApproveQuery>,
) -> Result<axum::Json<Transaction>, ApiError> {
    let status = TransactionStatus::Approved;
    set_status(
        &state,
        &principal,
        &id,
        status,
        q.version,
        None,
        q.client_mutation_id,
    )
    .await
}

/// Reject a transaction, optionally saying why. Rejecting a rejected one
/// with no new reason changes nothing.
#[utoipa::path(
    post, path = "/v1/transactions/{id}/reject", tag = "approvals",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "transaction id"), RejectQuery),
    responses(
        (status = 200, body = Transaction),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "not a manager or owner", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "not at `version` (`conflict`), or dated on or before the lock date (`period_locked`)", body = ErrorBody),
    )
)]
pub async fn reject(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
    Query(q): Query<RejectQuery>,
) -> Result<axum::Json<Transaction>, ApiError> {
    let status = TransactionStatus::Rejected;
    set_status(
        &state,
        &principal,
        &id,
        status,
        q.version,
        q.reason,
        q.client_mutation_id,
    )
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DailyQuery {
    /// The day (`YYYY-MM-DD`); default today (UTC).
    pub date: Option<NaiveDate>,
    /// Only this property.
    pub property_id: Option<String>,
    /// Count in this currency (default: the org's).
    pub currency: Option<Currency>,
}

/// Transactions that occurred on `date`, by approval status.
#[utoipa::path(
    get, path = "/v1/approvals/daily", tag = "derived",
    security(("bearer" = [])),
    params(DailyQuery),
    responses(
        (status = 200, body = DailyApproval),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "unknown or unpermitted property", body = ErrorBody),
    )
)]
pub async fn daily(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<DailyQuery>,
) -> Result<axum::Json<DailyApproval>, ApiError> {
    let date = q.date.unwrap_or_else(today);
    check_date("date", date)?;
    let scope = scope(&state, &principal, q.property_id.as_deref(), q.currency).await?;
    Ok(axum::Json(
        state.store().daily_approval(&scope, date).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TodayPendingQuery {
    /// Only this property.
    pub property_id: Option<String>,
    /// Count in this currency (default: the org's).
    pub currency: Option<Currency>,
}

/// Pending transactions that occurred today (the server's UTC date).
#[utoipa::path(
    get, path = "/v1/approvals/today-pending", tag = "derived",
    security(("bearer" = [])),
    params(TodayPendingQuery),
    responses(
        (status = 200, body = TodayPending),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "unknown or unpermitted property", body = ErrorBody),
    )
)]
pub async fn today_pending(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<TodayPendingQuery>,
) -> Result<axum::Json<TodayPending>, ApiError> {
    let date = today();
    let scope = scope(&state, &principal, q.property_id.as_deref(), q.currency).await?;
    let (count, amount_minor, as_of_seq) = state.store().pending_on(&scope, date).await?;
    Ok(axum::Json(TodayPending {
        date,
        count,
        amount_minor,
        as_of_seq,
    }))
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}
