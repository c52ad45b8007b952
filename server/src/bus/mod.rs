//! The bus between the instances of a fleet: core NATS (no JetStream). It
//! carries each org's committed events to every instance's hub, logouts to
//! every instance's session cache and parked polls, and a heartbeat per
//! instance. It is only a fast path: the durable truth is the event log in
//! Postgres, and everything the bus loses is recovered from it (`fleet`).
//!
//! # Subjects
//! - `ll.ev.<org_id>`: a JSON array of events, serialized once per commit.
//!   Every instance subscribes to `ll.ev.*` and reads the org id from the
//!   *subject*: events of an org it has no buffer for (and no poll reading
//!   the log of) are skipped without decoding the payload
//!   ([`crate::realtime::Hub::wants`]). A subject per org (rather than one
//!   per shard, or one for all) is what makes that skip a string lookup, and
//!   lets a deployment that routes orgs to instances narrow the
//!   subscription later without a format change. `docs/scaling.md` has the
//!   measured cost of a skipped and of a decoded message.
//! - `ll.head.<org_id>`: `<seq>`, "the log of this org reaches seq": sent
//!   after a reconnect for the orgs this instance published to while its
//!   connection may have been losing messages.
//! - `ll.revoke`: `{"token_id", "token_hash"}` of a logout.
//! - `ll.hb`: an instance's id, once a second; a peer falling silent makes
//!   the others check their buffers against the log (it may have died
//!   between a commit and its publish).
//!
//! The connection is made with `no_echo` (an instance does not hear its
//! own messages: its hub already has them) and retries for ever, also at
//! start: NATS being down never stops the server or its writes.

mod tasks;

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering::Relaxed},
        Arc,
    },
    time::Duration,
};

use async_nats::{ConnectOptions, Event as NatsEvent};
use bytes::Bytes;
use ledgerline_wire::Event;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{fleet::Signals, realtime::Hub, sessions::SessionCache};
use tasks::Run;

const EVENTS: &str = "ll.ev";
const HEADS: &str = "ll.head";
const REVOKE: &str = "ll.revoke";
const HEARTBEAT: &str = "ll.hb";
const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);
/// A peer silent this long is presumed dead.
const PEER_SILENT: Duration = Duration::from_secs(3);
/// After our connection drops, orgs published to this recently are
/// re-announced: their last messages may not have left the socket.
const REANNOUNCE_WINDOW: Duration = Duration::from_secs(10);

/// A logout, as the bus carries it.
#[derive(Debug, Serialize, Deserialize)]
struct Revocation {
    token_id: String,
    token_hash: String,
}

enum Outgoing {
    Events {
        org: Arc<str>,
        head: u64,
        payload: Bytes,
    },
    Revoke(Bytes),
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct BusMetrics {
    pub published: AtomicU64,
    pub publish_failures: AtomicU64,
    /// Event messages for orgs this instance wanted: decoded and published.
    pub taken: AtomicU64,
    /// Event messages skipped by subject, never decoded.
    pub skipped: AtomicU64,
    pub malformed: AtomicU64,
    pub connected: AtomicBool,
}

/// A handle to the running bus. Cheap to clone.
#[derive(Clone)]
pub struct Bus {
    outbox: mpsc::UnboundedSender<Outgoing>,
    metrics: Arc<BusMetrics>,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus").finish_non_exhaustive()
    }
}

/// What the bus feeds.
pub struct Feeds {
    pub hub: Hub,
    pub sessions: SessionCache,
    pub signals: Arc<Signals>,
}

impl Bus {
    /// Connects to `url` (in the background, retrying for ever) and starts
    /// the bus's tasks on `tasks`; they stop when `cancel` is.
    pub async fn start(
        url: &str,
        feeds: Feeds,
        tasks: &TaskTracker,
        cancel: CancellationToken,
    ) -> Result<Bus, async_nats::ConnectError> {
        let metrics = Arc::new(BusMetrics::default());
        let signals = Arc::clone(&feeds.signals);
        let on_event = {
            let metrics = Arc::clone(&metrics);
            move |event: NatsEvent| {
                let signals = Arc::clone(&signals);
                let metrics = Arc::clone(&metrics);
                async move {
                    match event {
                        NatsEvent::Connected => {
                            tracing::info!("bus connected");
                            metrics.connected.store(true, Relaxed);
                            signals.bus_up();
                        }
                        NatsEvent::Disconnected => {
                            tracing::warn!("bus disconnected; serving from the log");
                            metrics.connected.store(false, Relaxed);
                            signals.bus_down();
                        }
                        NatsEvent::SlowConsumer(_) => {
                            tracing::warn!("bus dropped messages (slow consumer)");
                            signals.check_heads();
                        }
                        other => tracing::info!(event = %other, "bus"),
                    }
                }
            }
        };
        let client = ConnectOptions::new()
            .no_echo()
            .retry_on_initial_connect()
            .max_reconnects(None)
            .subscription_capacity(64 * 1024)
            .connection_timeout(Duration::from_secs(2))
            .ping_interval(Duration::from_secs(5))
            .reconnect_delay_callback(|attempts| {
                Duration::from_millis((50u64 << attempts.min(5)).min(1_000))
            })
            .event_callback(on_event)
            .connect(url)
            .await?;
        let (outbox, rx) = mpsc::unbounded_channel();
        let bus = Bus {
            outbox,
            metrics: Arc::clone(&metrics),
        };
        let instance = uuid::Uuid::new_v4().simple().to_string();
        let run = Run {
            client,
            feeds,
            metrics,
            instance,
        };
        run.spawn(rx, tasks, cancel).await;
        Ok(bus)
    }

    /// Announces `events` of `org_id`, just committed here, to the fleet.
    /// Never blocks; order is kept, and what the bus loses the log has.
    pub fn publish(&self, org_id: &str, events: &[Event]) {
        let Some(head) = events.iter().map(|e| e.seq).max() else {
            return;
        };
        if !valid_token(org_id) {
            tracing::warn!(org_id, "org id is not a NATS subject token; not on the bus");
            return;
        }
        match serde_json::to_vec(events) {
            Ok(payload) => {
                let _ = self.outbox.send(Outgoing::Events {
                    org: Arc::from(org_id),
                    head,
                    payload: Bytes::from(payload),
                });
            }
            Err(error) => tracing::error!(%error, "encoding events for the bus"),
        }
    }

    /// Tells every instance that the token was revoked.
    pub fn revoke(&self, token_id: &str, token_hash: &str) {
        let message = Revocation {
            token_id: token_id.to_owned(),
            token_hash: token_hash.to_owned(),
        };
        if let Ok(payload) = serde_json::to_vec(&message) {
            let _ = self.outbox.send(Outgoing::Revoke(Bytes::from(payload)));
        }
    }

    pub fn metrics(&self) -> &BusMetrics {
        &self.metrics
    }
}

/// NATS subject tokens may not hold `.`, `*`, `>` or whitespace. Org ids are
/// UUIDs, so this only guards against a malformed row.
fn valid_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
