//! The bus's tasks: the publisher (in commit order, re-announcing heads
//! after a reconnect), the subscribers (events, heads, revocations) and the
//! heartbeat. Started by [`super::Bus::start`].

use std::{
    collections::HashMap,
    sync::{atomic::Ordering::Relaxed, Arc},
};

use async_nats::Client;
use bytes::Bytes;
use futures::StreamExt;
use ledgerline_wire::Event;
use tokio::{sync::mpsc, time::Instant};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use super::{
    BusMetrics, Feeds, Outgoing, Revocation, EVENTS, HEADS, HEARTBEAT, HEARTBEAT_EVERY,
    PEER_SILENT, REANNOUNCE_WINDOW, REVOKE,
};

pub(super) struct Run {
    pub(super) client: Client,
    pub(super) feeds: Feeds,
    pub(super) metrics: Arc<BusMetrics>,
    pub(super) instance: String,
}

impl Run {
    pub(super) async fn spawn(
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
