//! `POST /v1/telemetry`: a sampled desktop session's counters, as their
//! increase since its previous upload. Authenticated by the session's
//! token, one upload per token a minute (429 with `Retry-After` sooner), a
//! body of at most [`MAX_BODY_BYTES`] naming only known counters, each at
//! most [`MAX_COUNTER_DELTA`]. The sums are in `/metrics`.

use axum::{
    body::Bytes,
    extract::State,
    http::{header, HeaderMap, StatusCode},
};
use ledgerline_wire::{telemetry::MAX_COUNTER_DELTA, ErrorBody, TelemetryUpload};

use super::{error::ApiError, principal::Principal};
use crate::state::AppState;

/// The largest upload body: every counter at its largest fits in ~400 bytes.
pub const MAX_BODY_BYTES: usize = 4096;

/// Adds the caller's counter increases to the fleet's sums.
#[utoipa::path(
    post, path = "/v1/telemetry", tag = "operations",
    security(("bearer" = [])),
    request_body = TelemetryUpload,
    responses(
        (status = 204, description = "taken; the sums are in /metrics"),
        (status = 400, description = "not JSON, an unknown counter, or a value out of range", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 413, description = "body larger than 4096 bytes", body = ErrorBody),
        (status = 429, description = "this token uploaded less than a minute ago; see Retry-After", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(org_id = %principal.org_id))]
pub async fn upload(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::BodyTooLarge(MAX_BODY_BYTES));
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return Err(ApiError::BadRequest(
            "expected `Content-Type: application/json`".into(),
        ));
    }
    let axum::Json(upload) = axum::Json::<TelemetryUpload>::from_bytes(&body)?;
    // serde also reads a struct from an array (`[]` would be all zeros).
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::Validation(
            "the body must be a JSON object of counters".into(),
        ));
    }
    if let Some(name) = upload.too_large() {
        return Err(ApiError::Validation(format!(
            "{name} must be at most {MAX_COUNTER_DELTA}"
        )));
    }
    state
        .client_telemetry()
        .accept(&principal.token_id, &upload)
        .map_err(ApiError::TooManyRequests)?;
    Ok(StatusCode::NO_CONTENT)
}
