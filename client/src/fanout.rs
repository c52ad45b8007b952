//! The windows' subscriptions: each gets every [`PatchBatch`] in order,
//! through its own unbounded channel, so a slow window never holds up the
//! poll loop or another window. A window's subscription
//! ([`Hub::subscribe_window`]) gets the batches through its own delivery
//! task ([`crate::delivery`]: coalesced, split, serialized there, off the
//! cache's writer lock); a channel subscription (tests, tools) gets them
//! as they are. Dropping a [`Subscription`] (or `unsubscribe`) frees it; a
//! closed channel is freed on the next send.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, Weak},
};

use tokio::sync::{mpsc, watch};

use crate::{
    delivery::{self, Published, WindowMessage},
    view::PatchBatch,
};

type Callback = Arc<dyn Fn(WindowMessage) + Send + Sync>;

enum Sink {
    Channel(mpsc::UnboundedSender<PatchBatch>),
    /// A window's delivery task; dropping the sender ends it.
    Window(mpsc::UnboundedSender<Arc<Published>>),
}

struct Inner {
    next_id: u64,
    sinks: BTreeMap<u64, Sink>,
}

/// The set of subscribers. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    // A std Mutex: held to add, remove or send (sends never block), never across `.await`.
    inner: Arc<Mutex<Inner>>,
    /// The subscriber ids, for the loops that run one long-poll per subscriber.
    ids: Arc<watch::Sender<Vec<u64>>>,
}

/// One window's feed. `batches` yields every batch after `seq`.
pub struct Subscription {
    pub id: u64,
    pub seq: u64,
    pub batches: mpsc::UnboundedReceiver<PatchBatch>,
    hub: Weak<Mutex<Inner>>,
    ids: Weak<watch::Sender<Vec<u64>>>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let (Some(inner), Some(ids)) = (self.hub.upgrade(), self.ids.upgrade()) {
            Hub { inner, ids }.remove(self.id);
        }
    }
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            inner: Arc::new(Mutex::new(Inner {
                next_id: 1,
                sinks: BTreeMap::new(),
            })),
            ids: Arc::new(watch::Sender::new(Vec::new())),
        }
    }
}

impl Hub {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn add(&self, sink: Sink) -> u64 {
        let mut inner = self.lock();
        let id = inner.next_id;
        inner.next_id += 1;
        inner.sinks.insert(id, sink);
        self.ids.send_replace(inner.sinks.keys().copied().collect());
        id
    }

    /// A channel subscription; the caller passes the seq it read under the
    /// cache's write lock.
    pub(crate) fn subscribe(&self, seq: u64) -> Subscription {
        let (tx, rx) = mpsc::unbounded_channel();
        let id = self.add(Sink::Channel(tx));
        Subscription {
            id,
            seq,
            batches: rx,
            hub: Arc::downgrade(&self.inner),
            ids: Arc::downgrade(&self.ids),
        }
    }

    /// A window's subscription, kept until [`Hub::remove`]: its delivery
    /// task (spawned here, ended by the removal) calls `f` with each
    /// message, the first naming `seq` as the one before it.
    pub(crate) fn subscribe_window(&self, seq: u64, f: Callback) -> u64 {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(delivery::run(rx, seq, move |m| f(m)));
        self.add(Sink::Window(tx))
    }

    /// Whether a subscription was there to remove.
    pub fn remove(&self, id: u64) -> bool {
        let mut inner = self.lock();
        let removed = inner.sinks.remove(&id).is_some();
        if removed {
            self.ids.send_replace(inner.sinks.keys().copied().collect());
        }
        removed
    }

    pub fn len(&self) -> usize {
        self.lock().sinks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Follows the set of subscriber ids.
    pub fn watch_ids(&self) -> watch::Receiver<Vec<u64>> {
        self.ids.subscribe()
    }

    /// Hands `batch` to every subscriber, in the caller's order (windows
    /// share one `Arc` of it; nothing is serialized here).
    pub fn publish(&self, batch: &Arc<PatchBatch>) {
        if batch.patches.is_empty() {
            return;
        }
        let mut inner = self.lock();
        let mut closed = Vec::new();
        let mut shared: Option<Arc<Published>> = None;
        for (id, sink) in &inner.sinks {
            let sent = match sink {
                Sink::Channel(tx) => tx.send(PatchBatch::clone(batch)).is_ok(),
                Sink::Window(tx) => tx
                    .send(
                        shared
                            .get_or_insert_with(|| Published::new(batch.clone()))
                            .clone(),
                    )
                    .is_ok(),
            };
            if !sent {
                closed.push(*id);
            }
        }
        if !closed.is_empty() {
            for id in closed {
                inner.sinks.remove(&id);
            }
            self.ids.send_replace(inner.sinks.keys().copied().collect());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::Patch;

    fn batch(seq: u64) -> PatchBatch {
        PatchBatch {
            seq,
            patches: vec![Patch::Remove {
                id: format!("t{seq}"),
            }],
        }
    }

    #[test]
    fn every_subscriber_gets_batches_in_order_and_drop_frees_it() {
        let hub = Hub::default();
        let mut a = hub.subscribe(0);
        let mut b = hub.subscribe(0);
        assert_eq!(hub.len(), 2);
        hub.publish(&Arc::new(batch(1)));
        hub.publish(&Arc::new(batch(2)));
        for sub in [&mut a, &mut b] {
            assert_eq!(sub.batches.try_recv().unwrap().seq, 1);
            assert_eq!(sub.batches.try_recv().unwrap().seq, 2);
        }
        drop(a);
        assert_eq!(hub.len(), 1);
        assert_eq!(*hub.watch_ids().borrow(), vec![b.id]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_window_gets_messages_until_removed() {
        let hub = Hub::default();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let id = hub.subscribe_window(
            7,
            Arc::new(move |m: WindowMessage| {
                let _ = tx.send(m);
            }),
        );
        hub.publish(&Arc::new(batch(8)));
        let m = rx.recv().await.unwrap();
        assert_eq!((m.prev_seq, m.seq), (7, 8));
        assert!(hub.remove(id));
        assert!(!hub.remove(id));
        hub.publish(&Arc::new(batch(9)));
        assert!(rx.recv().await.is_none(), "the delivery task ended");
    }
}
