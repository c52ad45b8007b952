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
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    api::requests::RequestCounts,
    bus::{Bus, Feeds},
    config::RealtimeConfig,
    conn,
    fleet::{self, Signals},
    realtime::Hub,
    sessions::SessionCache,
    store::{Store, StoreError},
    telemetry::ClientTelemetry,
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
    sessions: SessionCache,
    /// The fleet's bus, when `--nats-url` is set.
    bus: Option<Bus>,
    signals: Arc<Signals>,
    /// The connection layer's budget and counters.
    connections: Arc<conn::budget::Counters>,
    /// The desktop sessions' uploaded counters.
    client_telemetry: ClientTelemetry,
    /// Requests answered, by route.
    requests: Arc<RequestCounts>,
    /// The bus's and the fleet tasks'.
    tasks: TaskTracker,
    cancel: CancellationToken,
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
        let sessions = SessionCache::new(config.session_cache_ttl());
        AppState {
            shared: Arc::new(Shared {
                store,
                config,
                hub,
                sessions,
                bus: None,
                signals: Signals::new(),
                connections: Arc::default(),
                client_telemetry: ClientTelemetry::default(),
                requests: Arc::default(),
                tasks: TaskTracker::new(),
                cancel: CancellationToken::new(),
            }),
        }
    }

    /// [`AppState::new`], and with `--nats-url` an instance of a fleet: the
    /// bus connects (in the background; NATS being down does not stop the
    /// server) and the fleet tasks start (`crate::fleet`).
    pub async fn start(
        store: Store,
        config: RealtimeConfig,
    ) -> Result<Self, async_nats::ConnectError> {
        let mut state = Self::new(store, config);
        let Some(url) = state.config().nats_url.clone() else {
            return Ok(state);
        };
        let shared = Arc::get_mut(&mut state.shared).expect("a new state is not shared yet");
        let feeds = Feeds {
            hub: shared.hub.clone(),
            sessions: shared.sessions.clone(),
            signals: Arc::clone(&shared.signals),
        };
        shared.bus = Some(Bus::start(&url, feeds, &shared.tasks, shared.cancel.clone()).await?);
        fleet::spawn(
            shared.store.clone(),
            shared.hub.clone(),
            shared.sessions.clone(),
            Arc::clone(&shared.signals),
            &shared.tasks,
            &shared.cancel,
        );
        Ok(state)
    }

    pub fn sessions(&self) -> &SessionCache {
        &self.shared.sessions
    }

    /// The connection layer's counters (open connections, refusals,
    /// timeouts), for `/metrics`.
    pub fn connections(&self) -> &Arc<conn::budget::Counters> {
        &self.shared.connections
    }

    /// The sums of the desktop sessions' counter uploads, for `/metrics`.
    pub fn client_telemetry(&self) -> &ClientTelemetry {
        &self.shared.client_telemetry
    }

    /// Requests answered through the router, by route, for `/metrics`.
    pub fn requests(&self) -> &Arc<RequestCounts> {
        &self.shared.requests
    }

    pub fn bus(&self) -> Option<&Bus> {
        self.shared.bus.as_ref()
    }

    pub fn signals(&self) -> &Signals {
        &self.shared.signals
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
        if let Some(bus) = &self.shared.bus {
            bus.publish(org_id, &events);
        }
        self.hub().publish(org_id, events);
    }

    /// Seam for the realtime hub and the session caches: called after logout
    /// revoked `token_id` (whose hash is `token_hash`); the token's parked
    /// long-polls end at once with 401, here and — over the bus — on every
    /// instance of the fleet.
    pub fn token_revoked(&self, token_id: &str, token_hash: Option<&str>) {
        if let Some(hash) = token_hash {
            self.shared.sessions.revoke(hash);
            if let Some(bus) = &self.shared.bus {
                bus.revoke(token_id, hash);
            }
        }
        self.hub().revoke_token(token_id);
    }

    /// Stops the hub: parked long-polls are answered at once (no events, the
    /// cursor they had), new ones do not park. The returned future waits for
    /// the hub's tasks. Called by [`crate::run`] when shutdown begins, so the
    /// graceful shutdown does not wait out the poll timeout.
    pub fn shutdown(&self) -> impl Future<Output = ()> + Send + 'static {
        self.shared.cancel.cancel();
        self.shared.tasks.close();
        let tasks = self.shared.tasks.clone();
        let hub = self.shared.hub.shutdown();
        async move {
            hub.await;
            tasks.wait().await;
        }
    }
}
