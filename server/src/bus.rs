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

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering::Relaxed},
        Arc,
    },
    time::Duration,
};

use async_nats::{Client, ConnectOptions, Event as NatsEvent};
use bytes::Bytes;
use futures::StreamExt;
use ledgerline_wire::Event;
use serde::{Deserialize, Serialize};
use tokio::{sync::mpsc, time::Instant};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{fleet::Signals, realtime::Hub, sessions::SessionCache};

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

struct Run {
    client: Client,
    feeds: Feeds,
    metrics: Arc<BusMetrics>,
    instance: String,
}

impl Run {
    async fn spawn(
        self,
        rx: mpsc::UnboundedReceiver<Outgoing>,
        tasks: &TaskTracker,
        cancel: CancellationToken,
    ) {
        let run = Arc::new(self);
        // Subscriptions are queued until the connection is up, and renewed
        // by the client after every reconnect.
        let subscribe = |subject: &'static str| {
            let client = run.client.clone();
            async move {
                client
                    .subscribe(subject)
                    .await
                    .map_err(|e| tracing::error!(error = %e, subject, "bus subscribe failed"))
                    .ok()
            }
        };
        let (events, heads, revokes, beats) = (
            subscribe("ll.ev.*").await,
            subscribe("ll.head.*").await,
            subscribe(REVOKE).await,
            subscribe(HEARTBEAT).await,
        );
        let spawn = |name: &'static str, fut: futures::future::BoxFuture<'static, ()>| {
            let cancel = cancel.clone();
            tasks.spawn(async move {
                cancel.run_until_cancelled(fut).await;
                tracing::debug!(task = name, "bus task stopped");
            });
        };
        spawn("publisher", Box::pin(Arc::clone(&run).publisher(rx)));
        spawn("heartbeat", Box::pin(Arc::clone(&run).heartbeat(beats)));
        if let Some(sub) = events {
            let run = Arc::clone(&run);
            spawn(
                "events",
                Box::pin(sub.for_each(move |m| {
                    run.on_events(&m.subject, m.payload);
                    async {}
                })),
            );
        }
        if let Some(sub) = heads {
            let run = Arc::clone(&run);
            spawn(
                "heads",
                Box::pin(sub.for_each(move |m| {
                    run.on_head(&m.subject, &m.payload);
                    async {}
                })),
            );
        }
        if let Some(sub) = revokes {
            let run = Arc::clone(&run);
            spawn(
                "revocations",
                Box::pin(sub.for_each(move |m| {
                    run.on_revoke(&m.payload);
                    async {}
                })),
            );
        }
    }

    fn on_events(&self, subject: &str, payload: Bytes) {
        let Some(org) = subject.strip_prefix("ll.ev.") else {
            return;
        };
        let hub = &self.feeds.hub;
        if !hub.wants(org) {
            self.metrics.skipped.fetch_add(1, Relaxed);
            return;
        }
        match serde_json::from_slice::<Vec<Event>>(&payload) {
            Ok(events) => {
                self.metrics.taken.fetch_add(1, Relaxed);
                hub.publish(org, events);
            }
            Err(error) => {
                self.metrics.malformed.fetch_add(1, Relaxed);
                tracing::warn!(%error, org_id = org, "malformed events on the bus");
                // Whatever it announced is in the log.
                self.feeds.signals.check_heads();
            }
        }
    }

    fn on_head(&self, subject: &str, payload: &[u8]) {
        let Some(org) = subject.strip_prefix("ll.head.") else {
            return;
        };
        match std::str::from_utf8(payload)
            .ok()
            .and_then(|s| s.parse().ok())
        {
            Some(head) => self.feeds.hub.announce(org, head),
            None => {
                self.metrics.malformed.fetch_add(1, Relaxed);
            }
        }
    }

    fn on_revoke(&self, payload: &[u8]) {
        match serde_json::from_slice::<Revocation>(payload) {
            Ok(r) => {
                self.feeds.sessions.revoke(&r.token_hash);
                self.feeds.hub.revoke_token(&r.token_id);
            }
            Err(error) => {
                self.metrics.malformed.fetch_add(1, Relaxed);
                tracing::warn!(%error, "malformed revocation on the bus");
            }
        }
    }

    /// Sends what this instance committed, in order. Remembers the orgs it
    /// published to, and after a reconnect announces their heads: messages
    /// in flight when the connection dropped may never have arrived.
    async fn publisher(self: Arc<Self>, mut rx: mpsc::UnboundedReceiver<Outgoing>) {
        let mut recent: HashMap<Arc<str>, (u64, Instant)> = HashMap::new();
        let mut reconnected = self.feeds.signals.subscribe_reconnects();
        loop {
            tokio::select! {
                changed = reconnected.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let now = Instant::now();
                    recent.retain(|_, (_, at)| now.duration_since(*at) < REANNOUNCE_WINDOW);
                    for (org, (head, _)) in &recent {
                        let subject = format!("{HEADS}.{org}");
                        let _ = self.client.publish(subject, Bytes::from(head.to_string())).await;
                    }
                }
                next = rx.recv() => {
                    let Some(next) = next else { return };
                    let (subject, payload) = match next {
                        Outgoing::Events { org, head, payload } => {
                            let subject = format!("{EVENTS}.{org}");
                            let now = Instant::now();
                            recent.insert(org, (head, now));
                            if recent.len() > 100_000 {
                                recent.retain(|_, (_, at)| now.duration_since(*at) < REANNOUNCE_WINDOW);
                            }
                            (subject, payload)
                        }
                        Outgoing::Revoke(payload) => (REVOKE.to_owned(), payload),
                    };
                    match self.client.publish(subject, payload).await {
                        Ok(()) => self.metrics.published.fetch_add(1, Relaxed),
                        Err(error) => {
                            tracing::debug!(%error, "bus publish failed");
                            self.metrics.publish_failures.fetch_add(1, Relaxed)
                        }
                    };
                }
            }
        }
    }

    /// Beats once a second, and watches the peers' beats: one falling
    /// silent may have died between a commit and its publish, so every
    /// buffer is checked against the log.
    async fn heartbeat(self: Arc<Self>, beats: Option<async_nats::Subscriber>) {
        let mut peers: HashMap<String, Instant> = HashMap::new();
        let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
        let mut beats = beats;
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let me = Bytes::from(self.instance.clone());
                    let _ = self.client.publish(HEARTBEAT, me).await;
                    let now = Instant::now();
                    let before = peers.len();
                    // Only while we hear the bus: a silence of our own
                    // connection is handled as the bus being down.
                    if self.metrics.connected.load(Relaxed) {
                        peers.retain(|_, at| now.duration_since(*at) < PEER_SILENT);
                    }
                    if peers.len() < before {
                        tracing::info!(peers = peers.len(), "a peer fell silent; checking heads");
                        self.feeds.signals.check_heads();
                    }
                }
                beat = async { match beats.as_mut() { Some(b) => b.next().await, None => std::future::pending().await } } => {
                    let Some(beat) = beat else { beats = None; continue };
                    if let Ok(peer) = std::str::from_utf8(&beat.payload) {
                        if peer != self.instance {
                            peers.insert(peer.to_owned(), Instant::now());
                        }
                    }
                }
            }
        }
    }
}
