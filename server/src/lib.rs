//! `ledgerline-server`: the Ledgerline HTTP API — auth, transactions, the
//! derived reports, and the durable per-org event log the realtime hub serves
//! long-polls from. The binary (`main.rs`) only parses flags, sets up tracing,
//! opens the store, binds, and calls [`run`].
//!
//! # Layout
//! - [`config`]: command-line flags with environment fallbacks; [`config::RealtimeConfig`].
//! - [`state`]: [`AppState`], shared by handlers; the hub's seams
//!   ([`AppState::published`], [`AppState::token_revoked`], [`AppState::stopping`]).
//! - [`api`]: the router ([`app`]) and one module per resource; the error shape;
//!   the [`api::principal::Principal`] extractor.
//! - [`store`]: all SQL — sessions, transactions, the event log, reports,
//!   demo data and bulk seeding — behind one [`store::Store`].
//! - [`domain`]: newtypes parsed once at the edge (page cursors, tokens,
//!   password hashes, transaction field rules).
//! - [`metrics`]: counters and gauges, rendered as Prometheus text in one place.
//! - [`retention`]: the task that prunes the event log.
//! - `realtime` (next): the hub — per-org buffers and long-polls.

pub mod api;
pub mod config;
pub mod domain;
pub mod metrics;
pub mod retention;
pub mod state;
pub mod store;

use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::RealtimeConfig;
pub use state::AppState;
pub use store::Store;

/// The whole HTTP application for `state`.
pub fn app(state: AppState) -> Router {
    api::router(state)
}

/// Serve on `listener` until `shutdown` is cancelled, then finish in-flight
/// requests and stop the background tasks this server owns.
/// [`AppState::stopping`] is cancelled the moment shutdown begins.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let stopping = state.stopping().clone();
    let retention = retention::spawn(
        state.store().clone(),
        state.config().event_retention(),
        stopping.clone(),
    );
    let begin_shutdown = {
        let stopping = stopping.clone();
        async move {
            shutdown.cancelled().await;
            stopping.cancel();
        }
    };
    let served = axum::serve(listener, app(state))
        .with_graceful_shutdown(begin_shutdown)
        .await;
    stopping.cancel();
    if let Err(error) = retention.await {
        tracing::warn!(%error, "retention task ended abnormally");
    }
    served
}
