//! `GET /v1/properties`: the caller's properties (staff: only theirs).

use axum::extract::State;
use ledgerline_wire::{ErrorBody, PropertyInfo};

use super::{error::ApiError, principal::Principal};
use crate::state::AppState;

/// The properties the caller may see, by name.
#[utoipa::path(
    get, path = "/v1/properties", tag = "finance",
    security(("bearer" = [])),
    responses(
        (status = 200, body = [PropertyInfo]),
        (status = 401, body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<axum::Json<Vec<PropertyInfo>>, ApiError> {
    let properties = state
        .store()
        .properties(&principal.org_id, principal.visible())
        .await?;
    Ok(axum::Json(properties))
}
