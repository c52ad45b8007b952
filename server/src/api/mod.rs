//! The HTTP surface: the router, and one module per resource. Handlers are
//! thin — parse ([`extract`]), authorize ([`principal`]), call the store or
//! the realtime hub, map errors ([`error`]). Login's defences are modules of
//! their own: the argon2 workers ([`hashers`]) and the per-account and
//! per-address throttle ([`throttle`]); [`panics`] turns a handler panic
//! into a 500; [`telemetry`] takes the desktop sessions' counter uploads.

pub mod approvals;
pub mod auth;
pub mod contract;
pub mod error;
pub mod extract;
pub mod hashers;
pub mod history;
pub mod limits;
pub mod openapi;
pub mod ops;
pub mod panics;
pub mod principal;
pub mod properties;
pub mod realtime;
pub mod reports;
pub mod requests;
pub mod settings;
pub mod telemetry;
pub mod throttle;
pub mod transactions;

use std::sync::Arc;

use axum::{
    extract::DefaultBodyLimit,
    middleware,
    routing::{get, post},
    Extension, Router,
};
use tower_http::{limit::RequestBodyLimitLayer, trace::TraceLayer};

use crate::state::AppState;

/// Largest request body accepted; larger ones get 413.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Every route, with the error shape, body, URI and header limits, panic
/// catching and request tracing. Login gets its own argon2 workers and throttle, which
/// live as long as the router.
pub fn router(state: AppState) -> Router {
    let login = Arc::new(auth::LoginGuard::new());
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(openapi::document))
        .route("/v1/auth/login", post(auth::login).layer(Extension(login)))
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
        .route("/v1/transactions/{id}/history", get(history::history))
        .route(
            "/v1/settings/lock-date",
            get(settings::get).put(settings::put),
        )
        .route("/v1/reports/profit-loss", get(reports::profit_loss))
        .route("/v1/approvals/daily", get(approvals::daily))
        .route("/v1/approvals/today-pending", get(approvals::today_pending))
        .route("/v1/realtime/poll", get(realtime::poll))
        .route("/v1/telemetry", post(telemetry::upload))
        .fallback(error::not_found)
        .layer(middleware::from_fn_with_state(
            state.requests().clone(),
            requests::count,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(middleware::from_fn(limits::request_limits))
        .layer(middleware::from_fn(error::error_shape))
        .layer(panics::layer())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
