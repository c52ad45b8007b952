//! Keeping an instance of a fleet right when the bus is not: the head check
//! and the revocation sweep.
//!
//! - **Head check.** Every buffered org's head is compared with the log's
//!   (`orgs.event_seq`, one indexed query per 500 orgs); a buffer behind it
//!   is told ([`Hub::announce`]), reads the missing events from the log and
//!   wakes its parked polls. It runs every [`UNHEALTHY_EVERY`] while the bus
//!   is down, once right after each (re)connect, after the bus reported a
//!   slow consumer, and when a peer instance falls silent — so the *last*
//!   event of a burst the bus lost reaches parked polls within about a
//!   second. While the bus is healthy it does not run: the hub's own gap
//!   detection covers any message lost between two delivered ones.
//! - **Revocation sweep.** Once a second, the sessions revoked in the last
//!   few seconds (by any instance) leave the session cache and end their
//!   parked polls here: a revocation whose bus message was lost still takes
//!   effect within about a second.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering::Relaxed},
        Arc,
    },
    time::Duration,
};

use chrono::{TimeDelta, Utc};
use tokio::sync::{watch, Notify};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{realtime::Hub, sessions::SessionCache, store::Store};

/// How often heads are checked while the bus is down.
pub const UNHEALTHY_EVERY: Duration = Duration::from_millis(500);
/// Orgs per head query.
const HEADS_PER_QUERY: usize = 500;
/// How often revocations are swept, and how far back each sweep looks
/// (instances' clocks may differ by a little).
const SWEEP_EVERY: Duration = Duration::from_secs(1);
const SWEEP_OVERLAP: TimeDelta = TimeDelta::seconds(5);

/// What the bus tells the fleet tasks, and their counters.
#[derive(Debug)]
pub struct Signals {
    healthy: AtomicBool,
    check: Notify,
    reconnects: watch::Sender<u64>,
    pub head_checks: AtomicU64,
    pub heads_behind: AtomicU64,
}

impl Signals {
    /// Signals of a bus that has not connected yet.
    pub fn new() -> Arc<Self> {
        Arc::new(Signals {
            healthy: AtomicBool::new(false),
            check: Notify::new(),
            reconnects: watch::Sender::new(0),
            head_checks: AtomicU64::new(0),
            heads_behind: AtomicU64::new(0),
        })
    }

    pub fn healthy(&self) -> bool {
        self.healthy.load(Relaxed)
    }

    /// The bus (re)connected: check heads once, re-announce.
    pub fn bus_up(&self) {
        self.healthy.store(true, Relaxed);
        self.reconnects.send_modify(|n| *n += 1);
        self.check.notify_one();
    }

    pub fn bus_down(&self) {
        self.healthy.store(false, Relaxed);
        self.check.notify_one();
    }

    /// Something may have been lost: check every buffer once, soon.
    pub fn check_heads(&self) {
        self.check.notify_one();
    }

    /// Changes once per (re)connect.
    pub fn subscribe_reconnects(&self) -> watch::Receiver<u64> {
        self.reconnects.subscribe()
    }
}

/// Starts the head check and the revocation sweep on `tasks`.
pub fn spawn(
    store: Store,
    hub: Hub,
    sessions: SessionCache,
    signals: Arc<Signals>,
    tasks: &TaskTracker,
    cancel: &CancellationToken,
) {
    let heads = {
        let (store, hub, signals) = (store.clone(), hub.clone(), Arc::clone(&signals));
        async move {
            loop {
                if signals.healthy() {
                    signals.check.notified().await;
                } else {
                    tokio::select! {
                        () = signals.check.notified() => {}
                        () = tokio::time::sleep(UNHEALTHY_EVERY) => {}
                    }
                }
                if let Err(error) = check_heads(&store, &hub, &signals).await {
                    tracing::warn!(%error, "head check failed");
                    tokio::time::sleep(UNHEALTHY_EVERY).await;
                }
            }
        }
    };
    let cancel_heads = cancel.clone();
    tasks.spawn(async move { cancel_heads.run_until_cancelled(heads).await });

    let sweep = async move {
        let mut since = Utc::now() - SWEEP_OVERLAP;
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let started = Utc::now();
            match sessions.sweep_revocations(&store, since).await {
                Ok(token_ids) => {
                    for token_id in token_ids {
                        hub.revoke_token(&token_id);
                    }
                    since = started - SWEEP_OVERLAP;
                }
                // `since` stays: the next sweep covers this one's window.
                Err(error) => tracing::warn!(%error, "revocation sweep failed"),
            }
        }
    };
    let cancel_sweep = cancel.clone();
    tasks.spawn(async move { cancel_sweep.run_until_cancelled(sweep).await });
}

/// One round: every buffered org's head against the log's.
pub async fn check_heads(
    store: &Store,
    hub: &Hub,
    signals: &Signals,
) -> Result<(), crate::store::StoreError> {
    signals.head_checks.fetch_add(1, Relaxed);
    let buffered = hub.buffered_heads();
    for chunk in buffered.chunks(HEADS_PER_QUERY) {
        let ids: Vec<&str> = chunk.iter().map(|(org, _)| &**org).collect();
        let heads: HashMap<String, u64> = store.heads(&ids).await?.into_iter().collect();
        for (org, seen) in chunk {
            if let Some(&head) = heads.get(&**org) {
                if head > *seen {
                    signals.heads_behind.fetch_add(1, Relaxed);
                    hub.announce(org, head);
                }
            }
        }
    }
    Ok(())
}
