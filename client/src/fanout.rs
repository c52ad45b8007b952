//! The windows' subscriptions: each gets every [`PatchBatch`] in order,
//! through its own unbounded channel or callback, so a slow window never
//! holds up the poll loop or another window. Dropping a [`Subscription`]
//! (or `unsubscribe`) frees it; a closed channel is freed on the next send.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, Weak},
};

use tokio::sync::{mpsc, watch};

use crate::view::PatchBatch;

type Callback = Arc<dyn Fn(PatchBatch) + Send + Sync>;

enum Sink {
    Channel(mpsc::UnboundedSender<PatchBatch>),
    Callback(Callback),
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

    /// A callback subscription, kept until [`Hub::remove`].
    pub(crate) fn subscribe_with(&self, f: Callback) -> u64 {
        self.add(Sink::Callback(f))
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

    /// Sends `batch` to every subscriber, in the caller's order.
    pub fn publish(&self, batch: &PatchBatch) {
        if batch.patches.is_empty() {
            return;
        }
        let mut inner = self.lock();
        let mut closed = Vec::new();
        for (id, sink) in &inner.sinks {
            match sink {
                Sink::Channel(tx) => {
                    if tx.send(batch.clone()).is_err() {
                        closed.push(*id);
                    }
                }
                Sink::Callback(f) => f(batch.clone()),
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
        hub.publish(&batch(1));
        hub.publish(&batch(2));
        for sub in [&mut a, &mut b] {
            assert_eq!(sub.batches.try_recv().unwrap().seq, 1);
            assert_eq!(sub.batches.try_recv().unwrap().seq, 2);
        }
        drop(a);
        assert_eq!(hub.len(), 1);
        assert_eq!(*hub.watch_ids().borrow(), vec![b.id]);
    }

    #[test]
    fn callbacks_are_called_until_removed() {
        let hub = Hub::default();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let id = hub.subscribe_with(Arc::new({
            let seen = seen.clone();
            move |b: PatchBatch| seen.lock().unwrap().push(b.seq)
        }));
        hub.publish(&batch(1));
        assert!(hub.remove(id));
        assert!(!hub.remove(id));
        hub.publish(&batch(2));
        assert_eq!(*seen.lock().unwrap(), vec![1]);
    }
}
