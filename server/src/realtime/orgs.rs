//! The sharded map org → [`OrgState`]: its buffer, how many polls are parked
//! on it, the `Notify` that wakes them, and when it was last active.
//!
//! One `std::sync::Mutex<HashMap>` per shard, the shard chosen by hashing the
//! org id, so publishes and polls of different orgs rarely meet on a lock.
//! A shard lock is only ever held for synchronous work on one org (a scan of
//! at most `buffer_capacity` entries) or by the sweeper for one shard's
//! sweep — never across an `.await` — which is why a std mutex is right here.

use std::{
    collections::HashMap,
    hash::{BuildHasher, RandomState},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use tokio::{
    sync::{futures::OwnedNotified, Notify},
    time::Instant,
};

use super::buffer::Buffer;

pub(super) type Shard = HashMap<Arc<str>, OrgState>;

#[derive(Debug)]
pub(super) struct OrgState {
    /// The map's own key, handed to waiters and back-fill tasks so they can
    /// find the entry again without allocating.
    pub(super) key: Arc<str>,
    pub(super) buffer: Buffer,
    /// Polls parked on this org.
    pub(super) waiters: usize,
    /// Created for the first waiter; every waiter of the org waits on it and
    /// re-checks the buffer when woken.
    notify: Option<Arc<Notify>>,
    /// Last publish, or last time a waiter came or went.
    pub(super) last_active: Instant,
    /// A back-fill task is filling this org's gap.
    pub(super) backfilling: bool,
}

impl OrgState {
    pub(super) fn new(key: Arc<str>, buffer: Buffer, now: Instant) -> Self {
        OrgState {
            key,
            buffer,
            waiters: 0,
            notify: None,
            last_active: now,
            backfilling: false,
        }
    }

    /// A future that completes when the [`waker`](Self::waker) is next
    /// notified. It is armed
    /// as soon as it is created, so creating it under the shard lock after
    /// checking the buffer cannot miss a publish.
    pub(super) fn notified(&mut self) -> OwnedNotified {
        Arc::clone(self.notify.get_or_insert_with(Default::default)).notified_owned()
    }

    /// What wakes every parked poll of the org (they re-check the buffer),
    /// if it has any. Call `notify_waiters` on it *after* releasing the shard
    /// lock: a poll arms its wake-up under the lock before it parks, so it
    /// cannot miss the call, and thousands of wake-ups do not hold the shard.
    pub(super) fn waker(&self) -> Option<Arc<Notify>> {
        self.notify.as_ref().filter(|_| self.waiters > 0).cloned()
    }

    /// Claims the back-fill of a gap: true if there is a gap and nobody is
    /// filling it yet. The caller must then spawn the back-fill.
    pub(super) fn claim_backfill(&mut self) -> bool {
        if self.buffer.has_gap() && !self.backfilling {
            self.backfilling = true;
            true
        } else {
            false
        }
    }
}

/// Orgs without a buffer that a poll is reading from the log right now, and
/// how many polls are: the bus feeds their events in too (see
/// `fleet::Interest`).
pub(super) type Interested = HashMap<Arc<str>, usize>;

#[derive(Debug)]
pub(super) struct Orgs {
    shards: Box<[Mutex<Shard>]>,
    /// Same index as `shards`; never locked while a shard is.
    interest: Box<[Mutex<Interested>]>,
    hasher: RandomState,
}

impl Orgs {
    pub(super) fn new(shards: usize) -> Self {
        Orgs {
            shards: (0..shards.max(1)).map(|_| Mutex::default()).collect(),
            interest: (0..shards.max(1)).map(|_| Mutex::default()).collect(),
            hasher: RandomState::new(),
        }
    }

    fn index(&self, org: &str) -> usize {
        (self.hasher.hash_one(org) % self.shards.len() as u64) as usize
    }

    /// Locks the shard holding `org`. A panic elsewhere while holding a
    /// shard leaves plain data behind, so poisoning is ignored.
    pub(super) fn lock(&self, org: &str) -> MutexGuard<'_, Shard> {
        self.shards[self.index(org)]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks the interest map of `org`'s shard (never while holding the
    /// shard itself).
    pub(super) fn interest(&self, org: &str) -> MutexGuard<'_, Interested> {
        self.interest[self.index(org)]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn shards(&self) -> impl Iterator<Item = MutexGuard<'_, Shard>> {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// A shard count for this machine: enough that cores rarely collide.
pub(super) fn default_shards() -> usize {
    let cores = std::thread::available_parallelism().map_or(4, |n| n.get());
    (cores * 16).next_power_of_two().clamp(64, 4096)
}
