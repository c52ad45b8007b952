//! The HTTP error: every 4xx/5xx leaves the server as
//! `{"error": {"code", "message"}}`. Handler errors convert into [`ApiError`];
//! axum's own rejections (bad JSON, query or path) convert through
//! [`super::extract`]; and [`error_shape`] rewrites the few responses that
//! are produced outside handlers (405, 413 from the body limit, …). Database
//! details are logged there, never sent.

use std::time::Duration;

use axum::{
    extract::{
        rejection::JsonRejection, rejection::PathRejection, rejection::QueryRejection, Request,
    },
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    Json,
};
use ledgerline_wire::ErrorBody;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed request: bad JSON, query or path.
    #[error("{0}")]
    BadRequest(String),
    /// Well-formed but not acceptable: missing fields, wrong types, bad values.
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("wrong email or password")]
    InvalidCredentials,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    /// A write into a locked period: 409 `period_locked`.
    #[error("{}", ledgerline_wire::rules::period_locked_message(*.0))]
    PeriodLocked(chrono::NaiveDate),
    #[error("request body is larger than 1 MiB")]
    PayloadTooLarge,
    /// A route with a smaller body limit than the router's: its bytes.
    #[error("request body is larger than {0} bytes")]
    BodyTooLarge(usize),
    /// Logged by [`error_shape`]; the client sees a generic message.
    #[error("internal error")]
    Internal(String),
    /// A dependency (the event log) failed; retrying may work. The detail is
    /// logged by [`error_shape`], never sent.
    #[error("temporarily unavailable; retry shortly")]
    Unavailable(String),
    #[error("the path and query are longer than 32 KiB")]
    UriTooLong,
    #[error("the request headers are larger than 32 KiB")]
    HeadersTooLarge,
    /// Throttled (login attempts): 429 with `Retry-After` in whole seconds.
    #[error("too many attempts; retry in {} s", retry_after_secs(*.0))]
    TooManyRequests(Duration),
}

/// `Retry-After` for `wait`: whole seconds, rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0 || wait.is_zero())
}

/// The detail of a 500, carried to [`error_shape`] for logging.
#[derive(Debug, Clone)]
struct InternalDetail(String);

impl ApiError {
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Validation(_) => (StatusCode::BAD_REQUEST, "validation_failed"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::PeriodLocked(_) => {
                (StatusCode::CONFLICT, ledgerline_wire::rules::PERIOD_LOCKED)
            }
            ApiError::PayloadTooLarge | ApiError::BodyTooLarge(_) => {
                (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
            }
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::UriTooLong => (StatusCode::URI_TOO_LONG, "uri_too_long"),
            ApiError::HeadersTooLarge => (
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "headers_too_large",
            ),
            ApiError::TooManyRequests(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
        }
    }
}

fn body(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(ErrorBody::new(code, message))).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let mut response = body(status, code, &self.to_string());
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let ApiError::TooManyRequests(wait) = self {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_secs(wait)),
            );
        }
        if let ApiError::Internal(detail) | ApiError::Unavailable(detail) = self {
            response.extensions_mut().insert(InternalDetail(detail));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::VersionConflict { current } => ApiError::Conflict(format!(
                "the transaction was changed by someone else; it is now at version {current}"
            )),
            StoreError::Overflow => ApiError::Validation("a total does not fit in 64 bits".into()),
            StoreError::PeriodLocked { lock_date } => ApiError::PeriodLocked(lock_date),
            StoreError::Forbidden(why) => ApiError::Forbidden(why),
            StoreError::MutationReused => {
                ApiError::Validation("client_mutation_id was already used for another write".into())
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::JsonDataError(e) => ApiError::Validation(e.body_text()),
            JsonRejection::JsonSyntaxError(e) => ApiError::BadRequest(e.body_text()),
            JsonRejection::MissingJsonContentType(_) => {
                ApiError::BadRequest("expected `Content-Type: application/json`".into())
            }
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            other => ApiError::BadRequest(other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::BadRequest(r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::BadRequest(r.body_text())
    }
}

/// Fallback for unknown routes.
pub async fn not_found() -> ApiError {
    ApiError::NotFound
}

/// Middleware: give every error response the JSON error shape (responses
/// made outside handlers — 405, 413 from the body limit — come without it),
/// and log the detail of internal errors.
pub async fn error_shape(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if let Some(InternalDetail(detail)) = response.extensions().get::<InternalDetail>() {
        tracing::error!(error = %detail, "internal error");
    }
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        return response;
    }
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::URI_TOO_LONG => "uri_too_long",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "headers_too_large",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "request body is larger than 1 MiB",
        s => s.canonical_reason().unwrap_or("error"),
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let shaped = body(status, code, message);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, shaped.into_body())
}
