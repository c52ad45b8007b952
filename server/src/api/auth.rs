//! `POST /v1/auth/login` and `POST /v1/auth/logout`. A login passes the
//! throttle ([`super::throttle`]), then its password is checked by one of the
//! argon2 workers ([`super::hashers`]) — against the dummy hash when the email
//! is unknown — and creates a session whose random bearer token is returned
//! once and stored only hashed.

use std::{sync::Arc, time::Duration};

use axum::{extract::State, http::StatusCode, Extension};
use chrono::{TimeDelta, Utc};
use ledgerline_wire::{ErrorBody, LoginRequest, LoginResponse, UserInfo};
use tokio::time::Instant;

use super::{
    error::ApiError,
    extract::{ClientAddr, Json},
    hashers::Hashers,
    principal::Principal,
    throttle::{LoginThrottle, Refused},
};
use crate::{
    domain::{text, token::BearerToken},
    state::AppState,
};

/// How long a token lives.
pub const SESSION_TTL: TimeDelta = TimeDelta::days(7);

/// Longest email, in characters.
pub const MAX_EMAIL_LEN: usize = 254;

/// Longest password, in characters (argon2 cost grows with input).
pub const MAX_PASSWORD_LEN: usize = 1024;

/// What login shares between requests: the argon2 workers and the throttle.
#[derive(Debug)]
pub struct LoginGuard {
    hashers: Hashers,
    throttle: LoginThrottle,
}

impl LoginGuard {
    /// One argon2 worker per core, the default throttle limits.
    pub fn new() -> Self {
        LoginGuard {
            hashers: Hashers::per_core(),
            throttle: LoginThrottle::default(),
        }
    }
}

impl Default for LoginGuard {
    fn default() -> Self {
        Self::new()
    }
}

/// Sign in with email and password. Throttled per account and per client
/// address (429 with `Retry-After`); an unknown email takes as long as a
/// wrong password.
#[utoipa::path(
    post, path = "/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 400, description = "malformed body, or a field breaks its rule", body = ErrorBody),
        (status = 401, description = "wrong email or password", body = ErrorBody),
        (status = 413, description = "body larger than 1 MiB", body = ErrorBody),
        (status = 429, description = "too many attempts for this account or from this address, or every password worker is busy",
            body = ErrorBody, headers(("Retry-After" = u64, description = "seconds to wait"))),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn login(
    State(state): State<AppState>,
    Extension(guard): Extension<Arc<LoginGuard>>,
    ClientAddr(client): ClientAddr,
    Json(req): Json<LoginRequest>,
) -> Result<axum::Json<LoginResponse>, ApiError> {
    if text::is_blank(&req.email) || req.email.chars().count() > MAX_EMAIL_LEN {
        return Err(ApiError::Validation(format!(
            "email must be 1 to {MAX_EMAIL_LEN} characters, not all blank"
        )));
    }
    let length = req.password.chars().count();
    if length == 0 || length > MAX_PASSWORD_LEN {
        return Err(ApiError::Validation(format!(
            "password must be 1 to {MAX_PASSWORD_LEN} characters"
        )));
    }
    let attempt = guard
        .throttle
        .begin(&req.email, client, Instant::now())
        .map_err(|Refused(wait)| ApiError::TooManyRequests(wait))?;
    let store = state.store();
    let user = store.user_by_email(&req.email).await?;
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let Ok(matches) = guard.hashers.verify(req.password, hash).await else {
        attempt.unchecked();
        return Err(ApiError::TooManyRequests(Duration::from_secs(1)));
    };
    let Some(user) = user.filter(|_| matches) else {
        return Err(ApiError::InvalidCredentials);
    };
    attempt.succeeded();

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
