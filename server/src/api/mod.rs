//! The HTTP surface: the router, and one module per resource. Handlers are
//! thin — parse ([`extract`]), authorize ([`principal`]), call the store or
//! the realtime hub, map errors ([`error`]).

pub mod approvals;
pub mod auth;
pub mod error;
pub mod extract;
pub mod openapi;
pub mod ops;
pub mod principal;
pub mod properties;
pub mod realtime;
pub mod reports;
pub mod transactions;

use axum::{
    extract::DefaultBodyLimit,
    middleware,
    routing::{get, post},
    Router,
};
use tower_http::{limit::RequestBodyLimitLayer, trace::TraceLayer};

use crate::state::AppState;

/// Largest request body accepted; larger ones get 413.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Every route, with the error shape, body limit and request tracing.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(openapi::document))
        .route("/v1/auth/login", post(auth::login))
        .route("/v1/auth/logout", post(auth::logout))
        .route("/v1/properties", get(properties::list))
        .route(
            "/v1/transactions",
            get(transactions::list).post(transactions::create),
        )
        .route(
            "/v1/transactions/{id}",
            get(transactions::get)
                .patch(transactions::update)
                .delete(transactions::delete),
        )
        .route("/v1/transactions/{id}/approve", post(approvals::approve))
        .route("/v1/transactions/{id}/reject", post(approvals::reject))
        .route("/v1/reports/profit-loss", get(reports::profit_loss))
        .route("/v1/approvals/daily", get(approvals::daily))
        .route("/v1/approvals/today-pending", get(approvals::today_pending))
        .route("/v1/realtime/poll", get(realtime::poll))
        .fallback(error::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(middleware::from_fn(error::error_shape))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
