//! Request extractors that turn axum's rejections into [`ApiError`]s, so a
//! malformed body, query or path gets the JSON error shape like everything
//! else.

use std::{
    convert::Infallible,
    net::{IpAddr, SocketAddr},
};

use axum::{
    extract::{ConnectInfo, FromRequest, FromRequestParts},
    http::request::Parts,
};

use super::error::ApiError;
use crate::domain::transaction;

/// `axum::Json`, rejecting with [`ApiError`].
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

/// `axum::extract::Query`, rejecting with [`ApiError`].
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// `axum::extract::Path`, rejecting with [`ApiError`].
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// The client's IP address, when the server was started with connection
/// info (`crate::run` does; a router driven directly in a test has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip()),
        ))
    }
}

/// The `{id}` of a path, 1 to [`transaction::MAX_ID_LEN`] characters; a
/// longer one is a 400, not a database lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(id) = Path::<String>::from_request_parts(parts, state).await?;
        check_id("id", &id)?;
        Ok(IdPath(id))
    }
}

/// An id given in a path or query: 1 to [`transaction::MAX_ID_LEN`] characters.
pub fn check_id(field: &'static str, id: &str) -> Result<(), ApiError> {
    transaction::id(field, id).map_err(|e| ApiError::BadRequest(e.message))
}
