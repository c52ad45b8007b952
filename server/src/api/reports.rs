//! `GET /v1/reports/profit-loss`: revenue, expense and net over a date range,
//! by day and by category, computed in SQL. Also resolves the scope every
//! derived read shares (property filter, currency) for [`super::approvals`].

use axum::extract::State;
use chrono::NaiveDate;
use ledgerline_wire::{Currency, ErrorBody, ProfitLoss};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{
    error::ApiError,
    extract::{check_id, Query},
    principal::Principal,
};
use crate::{domain::transaction, state::AppState, store::reports::ReportScope};

/// Longest range a profit-loss report covers.
const MAX_RANGE_DAYS: i64 = 366 * 10;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProfitLossQuery {
    /// First day, inclusive (`YYYY-MM-DD`).
    pub from: NaiveDate,
    /// Last day, inclusive.
    pub to: NaiveDate,
    /// Only this property.
    pub property_id: Option<String>,
    /// Report in this currency (default: the org's); other currencies are not counted.
    pub currency: Option<Currency>,
}

/// The scope of a derived read: the caller's org and visible properties,
/// narrowed to `property_id` (which must be visible, else 404), in `currency`
/// or the org's own.
pub(super) async fn scope<'a>(
    state: &AppState,
    principal: &'a Principal,
    property_id: Option<&'a str>,
    currency: Option<Currency>,
) -> Result<ReportScope<'a>, ApiError> {
    if let Some(p) = property_id {
        check_id("property_id", p)?;
        let visible = state
            .store()
            .property_visible(&principal.org_id, p, principal.visible())
            .await?;
        if !visible {
            return Err(ApiError::NotFound);
        }
    }
    let currency = match currency {
        Some(c) => c,
        None => {
            let code = state.store().org_currency(&principal.org_id).await?;
            code.parse()
                .map_err(|_| ApiError::Internal(format!("org currency {code:?}")))?
        }
    };
    Ok(ReportScope {
        org_id: &principal.org_id,
        currency,
        property_id,
        visible: principal.visible(),
    })
}

pub(super) fn check_date(field: &'static str, day: NaiveDate) -> Result<(), ApiError> {
    transaction::date(field, day).map_err(|e| ApiError::BadRequest(e.message))
}

/// Profit and loss over `from..=to`. Rejected transactions are not counted.
/// `from` must not be after `to`, and the range may span at most 3660 days
/// (400).
#[utoipa::path(
    get, path = "/v1/reports/profit-loss", tag = "derived",
    security(("bearer" = [])),
    params(ProfitLossQuery),
    responses(
        (status = 200, body = ProfitLoss),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "unknown or unpermitted property", body = ErrorBody),
    )
)]
pub async fn profit_loss(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<ProfitLossQuery>,
) -> Result<axum::Json<ProfitLoss>, ApiError> {
    check_date("from", q.from)?;
    check_date("to", q.to)?;
    if q.from > q.to {
        return Err(ApiError::BadRequest("`from` is after `to`".into()));
    }
    if (q.to - q.from).num_days() > MAX_RANGE_DAYS {
        return Err(ApiError::BadRequest(format!(
            "the range may span at most {MAX_RANGE_DAYS} days"
        )));
    }
    let scope = scope(&state, &principal, q.property_id.as_deref(), q.currency).await?;
    let report = state.store().profit_loss(&scope, q.from, q.to).await?;
    Ok(axum::Json(report))
}
