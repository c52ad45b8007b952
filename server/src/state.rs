//! [`AppState`]: what every handler shares — the store, the configuration,
//! the metrics — and the two seams the realtime hub plugs into
//! ([`AppState::published`], [`AppState::token_revoked`]).

use std::sync::{atomic::Ordering::Relaxed, Arc};

use ledgerline_wire::Event;
use tokio_util::sync::CancellationToken;

use crate::{config::RealtimeConfig, metrics::Metrics, store::Store};

/// Cheap to clone: one `Arc` inside.
#[derive(Debug, Clone)]
pub struct AppState {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    store: Store,
    config: RealtimeConfig,
    metrics: Metrics,
    stopping: CancellationToken,
}

impl AppState {
    pub fn new(store: Store, config: RealtimeConfig) -> Self {
        AppState {
            shared: Arc::new(Shared {
                store,
                config,
                metrics: Metrics::default(),
                stopping: CancellationToken::new(),
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    pub fn config(&self) -> &RealtimeConfig {
        &self.shared.config
    }

    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// Cancelled as soon as the server begins a graceful shutdown (before
    /// in-flight requests have finished). Long-running handlers — the hub's
    /// long-polls — and background tasks select on it, so shutdown does not
    /// wait out a poll timeout.
    pub fn stopping(&self) -> &CancellationToken {
        &self.shared.stopping
    }

    /// Seam for the realtime hub: called right after a write's database
    /// transaction committed, with the events it recorded (ascending `seq`).
    /// The hub appends them to the org's buffer and wakes its long-polls; for
    /// now they are only counted.
    pub fn published(&self, org_id: &str, events: &[Event]) {
        let _ = org_id;
        self.metrics()
            .events_published
            .fetch_add(events.len() as u64, Relaxed);
    }

    /// Seam for the realtime hub: called after logout revoked `token_id`, so
    /// the hub can end that token's waiting long-polls. Nothing to do yet.
    pub fn token_revoked(&self, token_id: &str) {
        let _ = token_id;
    }
}
