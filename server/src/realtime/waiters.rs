//! Bookkeeping of parked polls: the drop guard that un-counts a waiter however
//! its poll ends (answered, timed out, or dropped because the client hung
//! up), and the per-token registry through which `revoke_token` ends a
//! token's parked polls at once and which caps a token's parked polls.
//!
//! Each token with parked polls has one `CancellationToken`, a child of the
//! hub's: revoking cancels it, shutting the hub down cancels all of them.
//! Each parked poll waits on a child of its token's, kept in park order. A
//! revoked token is remembered for one poll timeout so a poll that
//! authenticated just before the revocation cannot park after it.
//!
//! # The per-token cap
//! A token may have `polls_per_token` parked polls. The next one to park
//! cancels the *oldest*'s own token, which answers it at once with no events,
//! its cursor and a jittered `retry_after_ms`. Evicting the oldest rather
//! than refusing the newest means a client that reconnects while its old
//! polls still look alive to the server (a proxy keeps the sockets open)
//! always gets through. The evicted poll is told to back off, so more
//! pollers than the cap rotate at most once per `retry_after_ms` each instead
//! of evicting each other in a loop, and none loses an event: each resumes
//! from the cursor it was given.

use std::{
    collections::{HashMap, VecDeque},
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
    /// The token and this poll's number under it.
    token: Option<(Arc<str>, u64)>,
}

/// What a registered poll waits on.
pub(super) struct Registration {
    /// Cancelled when the poll must end: revocation, shutdown or eviction.
    pub(super) poll: CancellationToken,
    /// Its token's: cancelled on revocation and shutdown, not on eviction.
    pub(super) token: CancellationToken,
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

    /// Registers the poll under `token`, evicting the token's oldest parked
    /// poll if it is at the cap. `None`: the token is revoked.
    pub(super) fn register(&mut self, token: &Arc<str>) -> Option<Registration> {
        let (id, registration) = self.shared.tokens.park(token, &self.shared.cancel)?;
        self.token = Some((Arc::clone(token), id));
        Some(registration)
    }
}

impl Drop for WaiterGuard<'_> {
    fn drop(&mut self) {
        if let Some((token, id)) = &self.token {
            self.shared.tokens.unpark(token, *id);
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
    /// The parked polls' numbers and own tokens, oldest first.
    polls: VecDeque<(u64, CancellationToken)>,
    next: u64,
}

/// Token id → the cancellation shared by its parked polls, plus recently
/// revoked tokens. Sharded like the org map; locks are held for one map
/// operation, never across an `.await`.
#[derive(Debug)]
pub(super) struct Tokens {
    shards: Box<[Mutex<TokenShard>]>,
    hasher: RandomState,
    /// Parked polls per token (at least 1).
    cap: usize,
}

impl Tokens {
    pub(super) fn new(shards: usize, cap: usize) -> Self {
        Tokens {
            shards: (0..shards.max(1)).map(|_| Mutex::default()).collect(),
            hasher: RandomState::new(),
            cap: cap.max(1),
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

    fn park(&self, token: &Arc<str>, hub: &CancellationToken) -> Option<(u64, Registration)> {
        let mut shard = self.lock(token);
        if shard.revoked.contains_key(&**token) {
            return None;
        }
        let parked = shard
            .parked
            .entry(Arc::clone(token))
            .or_insert_with(|| Parked {
                cancel: hub.child_token(),
                polls: VecDeque::new(),
                next: 0,
            });
        if parked.polls.len() >= self.cap {
            if let Some((_, oldest)) = parked.polls.pop_front() {
                oldest.cancel();
            }
        }
        let id = parked.next;
        parked.next += 1;
        let poll = parked.cancel.child_token();
        parked.polls.push_back((id, poll.clone()));
        Some((
            id,
            Registration {
                poll,
                token: parked.cancel.clone(),
            },
        ))
    }

    /// Forgets poll `id` of `token` (already gone if it was evicted).
    fn unpark(&self, token: &str, id: u64) {
        let mut shard = self.lock(token);
        if let Some(parked) = shard.parked.get_mut(token) {
            parked.polls.retain(|(poll, _)| *poll != id);
            if parked.polls.is_empty() {
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
