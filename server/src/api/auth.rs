//! `POST /v1/auth/login` and `POST /v1/auth/logout`. Passwords are checked
//! against argon2 hashes on a blocking thread; a login creates a session
//! whose random bearer token is returned once and stored only hashed.

use axum::{extract::State, http::StatusCode};
use chrono::{TimeDelta, Utc};
use ledgerline_wire::{ErrorBody, LoginRequest, LoginResponse, UserInfo};

use super::{error::ApiError, extract::Json, principal::Principal};
use crate::{
    domain::{password, token::BearerToken},
    state::AppState,
};

/// How long a token lives.
pub const SESSION_TTL: TimeDelta = TimeDelta::days(7);

/// Longest password we will hash (argon2 cost grows with input).
const MAX_PASSWORD_LEN: usize = 1024;

/// Sign in with email and password.
#[utoipa::path(
    post, path = "/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 400, body = ErrorBody),
        (status = 401, description = "wrong email or password", body = ErrorBody),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    Json(req): Json<LoginRequest>,
) -> Result<axum::Json<LoginResponse>, ApiError> {
    if req.email.trim().is_empty() || req.email.len() > 254 {
        return Err(ApiError::Validation(
            "email must be 1 to 254 characters".into(),
        ));
    }
    if req.password.is_empty() || req.password.len() > MAX_PASSWORD_LEN {
        return Err(ApiError::Validation(format!(
            "password must be 1 to {MAX_PASSWORD_LEN} bytes"
        )));
    }
    let store = state.store();
    let user = store
        .user_by_email(&req.email)
        .await?
        .ok_or(ApiError::InvalidCredentials)?;
    let hash = user.password_hash.clone();
    let matches = tokio::task::spawn_blocking(move || password::verify(&req.password, &hash))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    if !matches {
        return Err(ApiError::InvalidCredentials);
    }

    let token = BearerToken::generate();
    let expires_at = Utc::now() + SESSION_TTL;
    store
        .create_session(&user, &token.hash(), expires_at)
        .await?;
    let visible = if user.role.is_property_scoped() {
        Some(store.assigned_properties(&user.id).await?)
    } else {
        None
    };
    let properties = store.properties(&user.org_id, visible.as_deref()).await?;
    let org = store.org(&user.org_id).await?;
    Ok(axum::Json(LoginResponse {
        token: token.as_str().to_owned(),
        expires_at,
        user: UserInfo {
            id: user.id,
            name: user.name,
            email: user.email,
            role: user.role,
        },
        org,
        properties,
    }))
}

/// Revoke the calling token.
#[utoipa::path(
    post, path = "/v1/auth/logout", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "the token is revoked"),
        (status = 401, body = ErrorBody),
    )
)]
pub async fn logout(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<StatusCode, ApiError> {
    let hash = state.store().revoke_session(&principal.token_id).await?;
    state.token_revoked(&principal.token_id, hash.as_deref());
    Ok(StatusCode::NO_CONTENT)
}
