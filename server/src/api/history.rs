//! `GET /v1/transactions/{id}/history`: every change to a row, oldest
//! first, for whoever may see the row (where it is now, or where it was last
//! when it is gone).

use axum::extract::State;
use ledgerline_wire::{ErrorBody, History};

use super::{error::ApiError, extract::IdPath, principal::Principal};
use crate::state::AppState;

/// Every change to a transaction: who, when, what, and each changed field
/// `[from, to]`. A deleted transaction's history stays readable.
#[utoipa::path(
    get, path = "/v1/transactions/{id}/history", tag = "finance",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "transaction id")),
    responses(
        (status = 200, body = History),
        (status = 400, description = "an id over 128 characters", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "no such transaction, or another org's or property's", body = ErrorBody),
    )
)]
pub async fn history(
    State(state): State<AppState>,
    principal: Principal,
    IdPath(id): IdPath,
) -> Result<axum::Json<History>, ApiError> {
    let items = state
        .store()
        .history(&principal.org_id, &id, principal.visible())
        .await?;
    Ok(axum::Json(History { items }))
}
