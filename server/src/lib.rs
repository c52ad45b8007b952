//! `ledgerline-server`: the Ledgerline HTTP API — auth, transactions, the
//! derived reports, and the durable per-org event log the realtime hub serves
//! long-polls from. The binary (`main.rs`) only parses flags, sets up tracing,
//! opens the store, binds, and calls [`run`].
//!
//! # Layout
//! - [`config`]: command-line flags with environment fallbacks; [`config::RealtimeConfig`].
//! - [`conn`]: the accept loop — the connection budget, header, idle and
//!   request timeouts, the long-poll's lean HTTP/1.1 path, hyper for the rest.
//! - [`state`]: [`AppState`], shared by handlers; the hub's seams
//!   ([`AppState::published`], [`AppState::token_revoked`]).
//! - [`api`]: the router ([`app`]) and one module per resource; the error shape;
//!   the [`api::principal::Principal`] extractor.
//! - [`store`]: all SQL — sessions, transactions, the event log, reports,
//!   demo data and bulk seeding — behind one [`store::Store`].
//! - [`domain`]: newtypes parsed once at the edge (page cursors, tokens,
//!   password hashes, transaction field rules).
//! - [`metrics`]: the Prometheus text of `/metrics`, rendered in one place.
//! - [`telemetry`]: the sums of the desktop sessions' counter uploads and
//!   their once-a-minute limit per token.
//! - [`retention`]: the task that prunes the event log (once per fleet).
//! - [`sessions`]: the in-process session cache (no database query per poll).
//! - [`bus`]: NATS between the instances of a fleet — events, logouts,
//!   heartbeats; [`fleet`]: the head check and revocation sweep that make
//!   up for whatever the bus loses.
//! - [`realtime`]: the hub — per-org event buffers, the long-polls parked on
//!   them, the property filter, and the [`realtime::EventLog`] the store implements.

pub mod api;
pub mod bus;
pub mod config;
pub mod conn;
pub mod domain;
pub mod fleet;
pub mod metrics;
pub mod realtime;
pub mod retention;
pub mod sessions;
pub mod state;
pub mod store;
pub mod telemetry;

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
///
/// Connections are served by [`conn::serve`] (the budget, the timeouts, the
/// long-poll's lean path) with the configuration's
/// [`config::ConnectionConfig`]. When `shutdown` fires the realtime hub stops
/// first, answering every parked long-poll at once, and idle connections
/// close, so the graceful shutdown only waits for ordinary requests, not for
/// poll or idle timeouts.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let tasks = shutdown.child_token();
    let retention = retention::spawn(
        state.store().clone(),
        state.config().event_retention(),
        tasks.clone(),
    );
    let hub = state.clone();
    let stopping = shutdown.clone();
    let signal = async move {
        stopping.cancelled().await;
        // Answers parked polls now; the tasks are awaited below.
        drop(hub.shutdown());
    };
    // The router is built once; each connection clones the handle (an
    // `Arc`), never the route table (docs/longpoll-benchmark.md).
    let served = tokio::join!(
        conn::serve(listener, state.clone(), app(state.clone()), shutdown),
        signal
    )
    .0;
    tasks.cancel();
    if let Err(error) = retention.await {
        tracing::warn!(%error, "retention task ended abnormally");
    }
    state.shutdown().await;
    served
}
