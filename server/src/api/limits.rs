//! Request-line and header limits the router enforces itself, well below
//! hyper's own, so that an over-long URI or oversized headers get the JSON
//! error shape: hyper answers past *its* limits (a URI over ~64 KiB,
//! headers over its ~400 KB read buffer, or more than 100 headers) with a
//! bare status and an empty body, before any middleware runs, and hyper 1
//! offers no hook to change that body.

use axum::{extract::Request, middleware::Next, response::Response};

use super::error::ApiError;

/// Longest path and query, in bytes (hyper's own limit is 64 KiB).
pub const MAX_URI_BYTES: usize = 32 * 1024;

/// Most header bytes (names and values) in one request.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Middleware: 414 or 431 in the error shape past the limits.
pub async fn request_limits(request: Request, next: Next) -> Result<Response, ApiError> {
    let uri = request
        .uri()
        .path_and_query()
        .map_or(0, |pq| pq.as_str().len());
    if uri > MAX_URI_BYTES {
        return Err(ApiError::UriTooLong);
    }
    let headers: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers > MAX_HEADER_BYTES {
        return Err(ApiError::HeadersTooLarge);
    }
    Ok(next.run(request).await)
}
