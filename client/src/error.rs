//! Errors at the core's two edges: [`ApiError`] for a call to the server
//! (sorted by what the caller should do about it), and [`CommandError`], the
//! one serializable error every public call of the core returns and the Tauri
//! shell hands to the UI as it is.

use serde::{Deserialize, Serialize};

/// What went wrong talking to the server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// No answer, a broken connection, a timeout or a 5xx: try again later.
    #[error("server unreachable: {0}")]
    Network(String),
    /// 429: too many requests (e.g. wrong passwords for one account): try
    /// again after `retry_after` (the server's `Retry-After`) if given.
    #[error("{message}")]
    Throttled {
        retry_after: Option<std::time::Duration>,
        message: String,
    },
    /// 401: the token is missing, revoked or expired; the session is over.
    #[error("signed out by the server")]
    Unauthorized,
    #[error("not found")]
    NotFound,
    /// 409: the row changed since it was read.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Any other 4xx: the request itself is refused; retrying will not help.
    #[error("{message}")]
    Rejected {
        status: u16,
        code: String,
        message: String,
    },
    /// A 2xx body that did not parse.
    #[error("unexpected response: {0}")]
    Decode(String),
}

impl ApiError {
    /// Whether the request may succeed if sent again later unchanged.
    pub fn is_retryable(&self) -> bool {
        matches!(self, ApiError::Network(_) | ApiError::Throttled { .. })
    }

    /// How long the server asked to wait before the next try, if it did.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            ApiError::Throttled { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// Which kind of failure a command reports, for the UI to pick its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    Network,
    Unauthorized,
    NotFound,
    Conflict,
    Invalid,
    /// Too many attempts: the message says when to try again.
    Throttled,
    /// Signing out would leave writes unsent (the message says how many).
    Unsent,
    /// The row's day is on or before the org's lock date.
    PeriodLocked,
    Internal,
}

/// `{ kind, message, field? }`: every command rejects with this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct CommandError {
    pub kind: ErrorKind,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl CommandError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        CommandError {
            kind,
            message: message.into(),
            field: None,
        }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        CommandError {
            kind: ErrorKind::Invalid,
            message: message.into(),
            field: Some(field.to_owned()),
        }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        CommandError::new(ErrorKind::Internal, message)
    }

    pub fn signed_out() -> Self {
        CommandError::new(ErrorKind::Unauthorized, "not signed in")
    }
}

impl From<ApiError> for CommandError {
    fn from(e: ApiError) -> Self {
        let kind = match &e {
            ApiError::Network(_) | ApiError::Decode(_) => ErrorKind::Network,
            ApiError::Throttled { .. } => ErrorKind::Throttled,
            ApiError::Unauthorized => ErrorKind::Unauthorized,
            ApiError::NotFound => ErrorKind::NotFound,
            ApiError::Conflict(_) => ErrorKind::Conflict,
            ApiError::Rejected { code, .. } if code == ledgerline_wire::rules::PERIOD_LOCKED => {
                ErrorKind::PeriodLocked
            }
            ApiError::Rejected { .. } => ErrorKind::Invalid,
        };
        CommandError::new(kind, e.to_string())
    }
}

impl From<sqlx::Error> for CommandError {
    fn from(e: sqlx::Error) -> Self {
        // The cache is ours; its text is no use to a person, but is logged.
        tracing::error!(error = %e, "cache error");
        CommandError::internal("the local cache failed; see the log")
    }
}

impl From<crate::cache::CacheError> for CommandError {
    fn from(e: crate::cache::CacheError) -> Self {
        tracing::error!(error = %e, "cache error");
        CommandError::internal(format!("the local cache failed: {e}"))
    }
}

impl From<crate::store::StoreError> for CommandError {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "settings store error");
        CommandError::internal(format!("settings store: {e}"))
    }
}
