//! `GET` and `PUT /v1/settings/lock-date`: the org's period lock. Any role
//! reads it; only owners move it. A change reaches every app as a
//! `settings.lock_date` realtime event.

use axum::extract::State;
use ledgerline_wire::{rules, ErrorBody, LockDate, Role};

use super::{error::ApiError, extract::Json, principal::Principal};
use crate::state::AppState;

/// The org's lock date: no transaction dated on or before it may be
/// created, changed, deleted, approved or rejected.
#[utoipa::path(
    get, path = "/v1/settings/lock-date", tag = "settings",
    security(("bearer" = [])),
    responses(
        (status = 200, body = LockDate),
        (status = 401, body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<axum::Json<LockDate>, ApiError> {
    let lock_date = state.store().lock_date(&principal.org_id).await?;
    Ok(axum::Json(LockDate { lock_date }))
}

/// Set or (with `null`) clear the lock date. Owners only.
#[utoipa::path(
    put, path = "/v1/settings/lock-date", tag = "settings",
    security(("bearer" = [])),
    request_body = LockDate,
    responses(
        (status = 200, body = LockDate),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "not an owner", body = ErrorBody),
        (status = 413, body = ErrorBody),
    )
)]
pub async fn put(
    State(state): State<AppState>,
    principal: Principal,
    Json(body): Json<LockDate>,
) -> Result<axum::Json<LockDate>, ApiError> {
    if principal.role != Role::Owner {
        return Err(ApiError::Forbidden("only owners set the lock date"));
    }
    if let Some(day) = body.lock_date {
        rules::date("lock_date", day).map_err(|e| ApiError::Validation(e.message))?;
    }
    let store = state.store().clone();
    let org_id = principal.org_id.clone();
    let lock_date = body.lock_date;
    state
        .commit(&principal.org_id, async move {
            let event = store.set_lock_date(&org_id, lock_date).await?;
            Ok(((), event.into_iter().collect()))
        })
        .await?;
    Ok(axum::Json(body))
}
