//! `/v1/transactions`: the keyset-paginated list, read one, create
//! (idempotent on `client_mutation_id`), update (optimistic, on `version`)
//! and delete. Each write runs through [`AppState::commit`], which publishes
//! its event to the realtime hub right after it committed.

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::IntoResponse,
};
use chrono::NaiveDate;
use ledgerline_wire::{
    ErrorBody, NewTransaction, Transaction, TransactionKind, TransactionPage, TransactionPatch,
    TransactionStatus,
};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{
    error::ApiError,
    extract::{check_id, IdPath, Json, Query},
    principal::Principal,
};
use crate::{
    domain::{
        page::{PageCursor, PageLimit},
        transaction::{self, validate_new, validate_patch},
    },
    state::AppState,
    store::transactions::{Created, Deleter, TransactionFilter},
};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this property.
    pub property_id: Option<String>,
    pub kind: Option<TransactionKind>,
    pub status: Option<TransactionStatus>,
    /// First `occurred_on` day, inclusive (`YYYY-MM-DD`).
    pub from: Option<NaiveDate>,
    /// Last `occurred_on` day, inclusive.
    pub to: Option<NaiveDate>,
    /// Rows per page, 1 to 5000 (default 50).
    pub limit: Option<u32>,
    /// The `next` of the previous page.
    pub after: Option<String>,
}

/// `?client_mutation_id=` on a delete, approve or reject: makes it
/// idempotent — a replay of one the server already applied is answered with
/// that one's result.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MutationQuery {
    pub client_mutation_id: Option<String>,
}

impl MutationQuery {
    /// The id, checked like every other client-chosen id.
    pub fn checked(self) -> Result<Option<String>, ApiError> {
        if let Some(cmid) = &self.client_mutation_id {
            transaction::id("client_mutation_id", cmid)
                .map_err(|e| ApiError::Validation(e.message))?;
        }
        Ok(self.client_mutation_id)
    }
}

/// One page of transactions, newest `occurred_on` first. `from` must not be
/// after `to` (400).
#[utoipa::path(
    get, path = "/v1/transactions", tag = "finance",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, body = TransactionPage),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "unknown or unpermitted property", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let limit = match q.limit {
        None => PageLimit::DEFAULT,
        Some(n) => PageLimit::new(n).map_err(|e| ApiError::BadRequest(e.to_string()))?,
    };
    let after = q
        .after
        .as_deref()
        .map(str::parse::<PageCursor>)
        .transpose()
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    for (field, day) in [("from", q.from), ("to", q.to)] {
        if let Some(day) = day {
            transaction::date(field, day).map_err(|e| ApiError::BadRequest(e.message))?;
        }
    }
    if let (Some(from), Some(to)) = (q.from, q.to) {
        if from > to {
            return Err(ApiError::BadRequest("`from` is after `to`".into()));
        }
    }
    if let Some(p) = &q.property_id {
        check_id("property_id", p)?;
        let visible = state
            .store()
            .property_visible(&principal.org_id, p, principal.visible())
            .await?;
        if !visible {
            return Err(ApiError::NotFound);
        }
    }
    // One row more than the page tells whether there is a next page.
    let filter = TransactionFilter {
        property_id: q.property_id,
        kind: q.kind,
        status: q.status,
        from: q.from,
        to: q.to,
        after,
        limit: limit.get() + 1,
    };
    // The page's JSON is written by the database: a `TransactionPage`
    // exactly (store::transactions::json), without decoding each row.
    let page = state
        .store()
        .list_transactions_json(&principal.org_id, &filter, principal.visible())
        .await?;
    let next = serde_json::to_string(&page.next.map(|c| c.to_string()))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        format!("{{\"items\":{},\"next\":{next}}}", page.items),
    ))
}

/// One transaction.
#[utoipa::path(
    get, path = "/v1/transactions/{id}", tag = "finance",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "transaction id")),
    responses(
        (status = 200, body = Transaction),
        (status = 400, description = "an id over 128 characters", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
) -> Result<axum::Json<Transaction>, ApiError> {
    let t = state
        .store()
        .transaction(&principal.org_id, &id, principal.visible())
        .await?;
    Ok(axum::Json(t))
}

/// Record a revenue or expense. Idempotent on `client_mutation_id`: a repeat
/// returns 200 with the row the first request created.
#[utoipa::path(
    post, path = "/v1/transactions", tag = "finance",
    security(("bearer" = [])),
    request_body = NewTransaction,
    responses(
        (status = 201, description = "created", body = Transaction),
        (status = 200, description = "already created by an earlier request with this client_mutation_id", body = Transaction),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "unknown or unpermitted property", body = ErrorBody),
        (status = 409, description = "its date is on or before the lock date (`period_locked`)", body = ErrorBody),
        (status = 413, body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Json(new): Json<NewTransaction>,
) -> Result<(StatusCode, axum::Json<Transaction>), ApiError> {
    validate_new(&new).map_err(|e| ApiError::Validation(e.message))?;
    let store = state.store().clone();
    let Principal {
        org_id,
        user_id,
        properties,
        ..
    } = principal;
    let write_org = org_id.clone();
    let created = state
        .commit(&org_id, async move {
            let created = store
                .create_transaction(&write_org, &user_id, &new, properties.as_deref())
                .await?;
            Ok(match created {
                Created::New(t, event) => ((StatusCode::CREATED, t), vec![event]),
                Created::Existing(t) => ((StatusCode::OK, t), Vec::new()),
            })
        })
        .await?;
    Ok((created.0, axum::Json(created.1)))
}

/// Change some fields of a transaction that is still at `version`. An
/// approved or rejected transaction whose amount, currency, date, kind,
/// category or property changes is pending again.
#[utoipa::path(
    patch, path = "/v1/transactions/{id}", tag = "finance",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "transaction id")),
    request_body = TransactionPatch,
    responses(
        (status = 200, body = Transaction),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "stale version (`conflict`), or the old or new date is on or before the lock date (`period_locked`)", body = ErrorBody),
        (status = 413, body = ErrorBody),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
    Json(patch): Json<TransactionPatch>,
) -> Result<axum::Json<Transaction>, ApiError> {
    validate_patch(&patch).map_err(|e| ApiError::Validation(e.message))?;
    let store = state.store().clone();
    let org_id = principal.org_id.clone();
    let t = state
        .commit(&org_id, async move {
            let (t, event) = store
                .update_transaction(
                    &principal.org_id,
                    &principal.user_id,
                    &id,
                    &patch,
                    principal.visible(),
                )
                .await?;
            Ok((t, event.into_iter().collect()))
        })
        .await?;
    Ok(axum::Json(t))
}

/// Delete a transaction. An approved one only managers and owners delete.
#[utoipa::path(
    delete, path = "/v1/transactions/{id}", tag = "finance",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "transaction id"), MutationQuery),
    responses(
        (status = 204, description = "deleted (or already deleted by an earlier request with this client_mutation_id)"),
        (status = 400, description = "an id over 128 characters", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "an approved transaction, and not a manager or owner", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "its date is on or before the lock date (`period_locked`)", body = ErrorBody),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
    Query(q): Query<MutationQuery>,
) -> Result<StatusCode, ApiError> {
    let cmid = q.checked()?;
    let store = state.store().clone();
    let org_id = principal.org_id.clone();
    state
        .commit(&org_id, async move {
            let by = Deleter {
                user_id: &principal.user_id,
                approver: principal.role.can_approve(),
            };
            let event = store
                .delete_transaction(
                    &principal.org_id,
                    by,
                    &id,
                    cmid.as_deref(),
                    principal.visible(),
                )
                .await?;
            Ok(((), event.into_iter().collect()))
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
