//! [`AppState`]: what every handler shares — the store, the configuration,
//! the realtime hub — and the two seams through which the rest of the server
//! feeds the hub ([`AppState::published`], [`AppState::token_revoked`]).
//!
//! Writes that record events run through [`AppState::commit`], which owns
//! the write in a task of its own: a client that hangs up mid-request drops
//! its handler, and if that happened between the commit and the publish, the
//! hub would not learn of the event until the org's *next* write revealed
//! the gap (the hub's "order and gaps" note) — parked polls would sit on a
//! committed event.

use std::{future::Future, sync::Arc};

use ledgerline_wire::Event;
use tokio_util::sync::CancellationToken;

use crate::{
    config::RealtimeConfig,
    realtime::Hub,
    store::{Store, StoreError},
};

/// Cheap to clone: one `Arc` inside.
#[derive(Debug, Clone)]
pub struct AppState {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    store: Store,
    config: RealtimeConfig,
    hub: Hub,
}

impl AppState {
    /// The state for one server: starts the realtime hub (its sweeper task)
    /// reading the event log from `store`. The hub stops on
    /// [`AppState::shutdown`] or when the last clone of the state is dropped.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn new(store: Store, config: RealtimeConfig) -> Self {
        // The hub gets a token of its own: `run` stops it through
        // `AppState::shutdown`, dropping the last state stops it too.
        let hub = Hub::new(
            config.hub(),
            Arc::new(store.clone()),
            &CancellationToken::new(),
        );
        AppState {
            shared: Arc::new(Shared { store, config, hub }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    pub fn config(&self) -> &RealtimeConfig {
        &self.shared.config
    }

    pub fn hub(&self) -> &Hub {
        &self.shared.hub
    }

    /// Runs `write` (a store write returning its value and the events it
    /// committed) to completion on its own task, then publishes the events.
    /// Dropping the returned future — the client hung up — does not cancel
    /// the write or the publish.
    pub async fn commit<T, F>(&self, org_id: &str, write: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Future<Output = Result<(T, Vec<Event>), StoreError>> + Send + 'static,
    {
        let state = self.clone();
        let org_id = org_id.to_owned();
        let task = tokio::spawn(async move {
            let (value, events) = write.await?;
            state.published(&org_id, events);
            Ok(value)
        });
        match task.await {
            Ok(done) => done,
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            // Only a runtime shutting down cancels the task.
            Err(_) => Err(StoreError::Interrupted),
        }
    }

    /// Seam for the realtime hub: called right after a write's database
    /// transaction committed, with the events it recorded. The hub appends
    /// them to the org's buffer and wakes its long-polls. Prefer
    /// [`AppState::commit`], which calls this where no hang-up can skip it.
    pub fn published(&self, org_id: &str, events: Vec<Event>) {
        self.hub().publish(org_id, events);
    }

    /// Seam for the realtime hub: called after logout revoked `token_id`; the
    /// token's parked long-polls end at once with 401.
    pub fn token_revoked(&self, token_id: &str) {
        self.hub().revoke_token(token_id);
    }

    /// Stops the hub: parked long-polls are answered at once (no events, the
    /// cursor they had), new ones do not park. The returned future waits for
    /// the hub's tasks. Called by [`crate::run`] when shutdown begins, so the
    /// graceful shutdown does not wait out the poll timeout.
    pub fn shutdown(&self) -> impl Future<Output = ()> + Send + 'static {
        self.shared.hub.shutdown()
    }
}
