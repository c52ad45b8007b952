//! The realtime hub: per-org event buffers and the long-polls waiting on them.
//!
//! The HTTP write path calls [`Hub::publish`] right after its transaction
//! commits; the long-poll handler calls [`Hub::poll`]; logout calls
//! [`Hub::revoke_token`]; `/metrics` renders [`Hub::metrics`]. The buffers are
//! only a cache of the durable event log ([`EventLog`]): a cursor they cannot
//! answer — older than the window, an evicted org, a restart — is served from
//! the log, and a cursor the log cannot answer either (pruned, or ahead of
//! it) gets `reset: true`. No event is ever skipped.
//!
//! # Layout
//! - `body`: a poll answer's JSON, serialized once for every poll that
//!   gets the same batch.
//! - `buffer`: one org's contiguous window of recent events, and the
//!   out-of-order ones held until the gap before them fills.
//! - `orgs`: the sharded map org → buffer, waiter count, wake-up.
//! - `poll`: the long-poll algorithm, [`PollRequest`] and [`PollError`].
//! - `backfill`: the task that fills a buffer's gap from the log.
//! - `waiters`: the drop guard counting a parked poll, per-token
//!   revocation, and the per-token cap.
//! - `sweeper`: the task that expires events and evicts idle orgs.
//! - `filter`: [`PropertyFilter`].
//! - `fleet`: what the bus between instances needs — which orgs this
//!   instance wants events of, head announcements, buffered heads.
//! - `log`: the [`EventLog`] trait the store implements.
//! - `metrics`: counters and gauges, Prometheus text.
//!
//! # Order and gaps
//! A buffer only ever holds a contiguous run of seqs, so no reader sees N+1
//! before N. A publish that skips ahead is *held*; if the gap is still open
//! after a short grace (its publisher died between commit and publish, a bus
//! message was lost) a single task per org reads the gap from the log. A
//! buffer only claims to be up to date at a head when every later event is
//! still to be published to it, so a parked poll cannot miss one.
//!
//! # Waking
//! All parked polls of an org wait on one `tokio::sync::Notify` and re-check
//! the buffer when a publish advances its head. The wait is an intrusive
//! list node inside the poll future: no allocation, no registry entry to
//! clean up, and dropping the future unlinks it. The price is that a publish
//! also wakes polls whose filter hides it; they re-check a few entries and
//! park again. A parked poll's future is ~650 bytes; the ignored test
//! `parked_poll_footprint` measures the whole cost (task included) and the
//! fan-out time of one publish to 5000 polls.

mod backfill;
mod body;
mod buffer;
mod filter;
mod fleet;
mod log;
mod metrics;
mod orgs;
mod poll;
mod sweeper;
mod waiters;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_fleet;

use std::{
    sync::{atomic::Ordering::Relaxed, Arc},
    time::Duration,
};

use ledgerline_wire::Event;
use tokio::{runtime::Handle, time::Instant};
use tokio_util::{
    sync::{CancellationToken, DropGuard},
    task::TaskTracker,
};

pub use filter::PropertyFilter;
pub use log::{EventLog, LogError, LogFuture};
pub use metrics::{MetricsSnapshot, PollOutcome};
pub use poll::{Batch, PollError, PollRequest};

use buffer::Buffer;
use orgs::{OrgState, Orgs};
use waiters::Tokens;

/// The hub's knobs; `Default` gives the documented defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubConfig {
    /// Most events one org's buffer holds (default 1024).
    pub buffer_capacity: usize,
    /// How long an event stays buffered (default 5 min).
    pub event_ttl: Duration,
    /// An org with no publish and no waiter this long loses its buffer
    /// (default 2 min).
    pub idle_evict: Duration,
    /// How long a poll waits, and the most it may ask for (default 25 s).
    pub poll_timeout: Duration,
    /// Parked polls per org; past it a poll is answered at once with
    /// `retry_after_ms` (default 5000).
    pub waiter_cap: usize,
    /// Parked polls per token; past it the token's oldest is answered at
    /// once with `retry_after_ms` (default 16).
    pub polls_per_token: usize,
    /// Most events in one poll response (default 500).
    pub max_batch: usize,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            buffer_capacity: 1024,
            event_ttl: Duration::from_secs(5 * 60),
            idle_evict: Duration::from_secs(2 * 60),
            poll_timeout: Duration::from_secs(25),
            waiter_cap: 5000,
            polls_per_token: 16,
            max_batch: 500,
        }
    }
}

/// The realtime hub. A cheap-to-clone handle; the hub stops (its sweeper
/// and back-fill tasks end, parked polls are answered) on [`Hub::shutdown`],
/// when the token it was started under is cancelled, or when the last handle
/// is dropped.
#[derive(Clone)]
pub struct Hub {
    shared: Arc<Shared>,
    /// Cancels the hub's token when the last handle goes (tasks hold
    /// `Shared`, never this).
    _stop: Arc<DropGuard>,
}

struct Shared {
    config: HubConfig,
    log: Arc<dyn EventLog>,
    orgs: Orgs,
    tokens: Tokens,
    metrics: metrics::Metrics,
    bodies: body::Bodies,
    /// Cancelled on shutdown; parent of every token's poll cancellation.
    cancel: CancellationToken,
    /// The sweeper and back-fill tasks.
    tasks: TaskTracker,
    /// Where `publish` (a sync fn) spawns back-fills.
    runtime: Handle,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("config", &self.shared.config)
            .field("metrics", &self.metrics())
            .finish_non_exhaustive()
    }
}

impl Hub {
    /// Starts a hub reading gaps and old cursors from `log`, and its
    /// sweeper. It stops when `shutdown` is cancelled.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn new(config: HubConfig, log: Arc<dyn EventLog>, shutdown: &CancellationToken) -> Hub {
        let cancel = shutdown.child_token();
        let shards = orgs::default_shards();
        let tokens = Tokens::new(shards, config.polls_per_token);
        let shared = Arc::new(Shared {
            config,
            log,
            orgs: Orgs::new(shards),
            tokens,
            metrics: metrics::Metrics::default(),
            bodies: body::Bodies::new(),
            cancel,
            tasks: TaskTracker::new(),
            runtime: Handle::current(),
        });
        sweeper::spawn(&shared);
        let stop = Arc::new(shared.cancel.clone().drop_guard());
        Hub {
            shared,
            _stop: stop,
        }
    }

    pub fn config(&self) -> &HubConfig {
        &self.shared.config
    }

    /// Hands committed events of `org_id` to its buffer and wakes its parked
    /// polls. Call right after the transaction commits. Never blocks on I/O:
    /// events may come in any order, repeated, or with gaps (which are
    /// filled from the log in the background).
    pub fn publish(&self, org_id: &str, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let shared = &self.shared;
        shared
            .metrics
            .events_published
            .fetch_add(events.len() as u64, Relaxed);
        let mut events: Vec<Arc<Event>> = events.into_iter().map(Arc::new).collect();
        events.sort_unstable_by_key(|e| e.seq);
        let now = Instant::now();
        let (claimed, waker) = {
            // Held for a few pointer moves; never across an `.await`.
            let mut shard = shared.orgs.lock(org_id);
            if !shard.contains_key(org_id) {
                // A new buffer starts right before the first event it sees;
                // older cursors go to the log.
                let key: Arc<str> = Arc::from(org_id);
                let buffer = Buffer::at(events[0].seq.saturating_sub(1));
                shard.insert(Arc::clone(&key), OrgState::new(key, buffer, now));
                shared.metrics.buffered_orgs.fetch_add(1, Relaxed);
            }
            let Some(state) = shard.get_mut(org_id) else {
                return;
            };
            state.last_active = now;
            let advanced = state
                .buffer
                .publish(events, now, shared.config.buffer_capacity);
            let claimed = state.claim_backfill().then(|| Arc::clone(&state.key));
            (claimed, advanced.then(|| state.waker()).flatten())
        };
        if let Some(waker) = waker {
            waker.notify_waiters();
        }
        if let Some(org) = claimed {
            if !shared.cancel.is_cancelled() {
                backfill::spawn(shared, org);
            }
        }
    }

    /// Ends the token's parked polls at once with [`PollError::Revoked`], and
    /// refuses polls that were already past authentication.
    pub fn revoke_token(&self, token_id: &str) {
        self.shared.tokens.revoke(token_id, Instant::now());
    }

    /// Stops the hub now: parked polls are answered at once with no events,
    /// new polls do not park, the sweeper and back-fills stop. Await the
    /// returned future to wait until those tasks have ended.
    pub fn shutdown(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        self.shared.cancel.cancel();
        self.shared.tasks.close();
        let tasks = self.shared.tasks.clone();
        async move { tasks.wait().await }
    }

    /// The JSON body (`PollResponse`) of `batch`, the answer to `req`:
    /// serialized once for all the polls that get the same events.
    pub fn body(&self, req: &PollRequest, batch: &Batch) -> bytes::Bytes {
        let cursor = self.cursor(batch.cursor);
        self.shared
            .bodies
            .get(&req.org_id, req.cursor, &req.filter, batch, &cursor)
    }

    pub fn metrics(&self) -> MetricsSnapshot {
        self.shared.metrics.snapshot()
    }
}
