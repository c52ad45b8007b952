//! Bookkeeping of parked polls: the drop guard that un-counts a waiter however
//! its poll ends (answered, timed out, or dropped because the client hung
//! up), and the per-token registry through which `revoke_token` ends a
//! token's parked polls at once.
//!
//! Each token with parked polls has one `CancellationToken`, a child of the
//! hub's, shared by all its polls: revoking cancels it, shutting the hub down
//! cancels all of them. A revoked token is remembered for one poll timeout so
//! a poll that authenticated just before the revocation cannot park after it.

use std::{
    collections::HashMap,
    hash::{BuildHasher, RandomState},
    sync::{atomic::Ordering::Relaxed, Arc, Mutex, MutexGuard, PoisonError},
};

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Shared;

/// Counts one parked poll in its org (and, once registered, its token) for
/// as long as it lives.
pub(super) struct WaiterGuard<'a> {
    shared: &'a Shared,
    org: Arc<str>,
    token: Option<Arc<str>>,
}

impl<'a> WaiterGuard<'a> {
    /// Takes over a waiter the caller already counted in `org`'s state and
    /// in the waiters gauge.
    pub(super) fn counted(shared: &'a Shared, org: Arc<str>) -> Self {
        WaiterGuard {
            shared,
            org,
            token: None,
        }
    }

    /// Registers the poll under `token`. `None`: the token is revoked.
    pub(super) fn register(&mut self, token: &Arc<str>) -> Option<CancellationToken> {
        let cancel = self.shared.tokens.park(token, &self.shared.cancel)?;
        self.token = Some(Arc::clone(token));
        Some(cancel)
    }
}

impl Drop for WaiterGuard<'_> {
    fn drop(&mut self) {
        if let Some(token) = &self.token {
            self.shared.tokens.unpark(token);
        }
        {
            let mut shard = self.shared.orgs.lock(&self.org);
            if let Some(state) = shard.get_mut(&*self.org) {
                state.waiters -= 1;
                state.last_active = Instant::now();
            }
        }
        self.shared.metrics.waiters.fetch_sub(1, Relaxed);
    }
}

#[derive(Debug, Default)]
struct TokenShard {
    parked: HashMap<Arc<str>, Parked>,
    revoked: HashMap<Arc<str>, Instant>,
}

#[derive(Debug)]
struct Parked {
    cancel: CancellationToken,
    polls: usize,
}

/// Token id → the cancellation shared by its parked polls, plus recently
/// revoked tokens. Sharded like the org map; locks are held for one map
/// operation, never across an `.await`.
#[derive(Debug)]
pub(super) struct Tokens {
    shards: Box<[Mutex<TokenShard>]>,
    hasher: RandomState,
}

impl Tokens {
    pub(super) fn new(shards: usize) -> Self {
        Tokens {
            shards: (0..shards.max(1)).map(|_| Mutex::default()).collect(),
            hasher: RandomState::new(),
        }
    }

    fn lock(&self, token: &str) -> MutexGuard<'_, TokenShard> {
        let i = (self.hasher.hash_one(token) % self.shards.len() as u64) as usize;
        self.shards[i]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn is_revoked(&self, token: &str) -> bool {
        self.lock(token).revoked.contains_key(token)
    }

    fn park(&self, token: &Arc<str>, hub: &CancellationToken) -> Option<CancellationToken> {
        let mut shard = self.lock(token);
        if shard.revoked.contains_key(&**token) {
            return None;
        }
        let parked = shard
            .parked
            .entry(Arc::clone(token))
            .or_insert_with(|| Parked {
                cancel: hub.child_token(),
                polls: 0,
            });
        parked.polls += 1;
        Some(parked.cancel.clone())
    }

    fn unpark(&self, token: &str) {
        let mut shard = self.lock(token);
        if let Some(parked) = shard.parked.get_mut(token) {
            parked.polls -= 1;
            if parked.polls == 0 {
                shard.parked.remove(token);
            }
        }
    }

    /// Ends the token's parked polls and refuses its future ones.
    pub(super) fn revoke(&self, token: &str, now: Instant) {
        let mut shard = self.lock(token);
        if let Some(parked) = shard.parked.remove(token) {
            parked.cancel.cancel();
        }
        shard.revoked.insert(Arc::from(token), now);
    }

    /// Forgets revocations made before `cutoff`.
    pub(super) fn forget_revoked_before(&self, cutoff: Instant) {
        for shard in self.shards.iter() {
            let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            shard.revoked.retain(|_, at| *at >= cutoff);
        }
    }
}
