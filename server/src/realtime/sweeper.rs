//! The sweeper: a task that periodically drops events past their TTL, evicts
//! org buffers idle for `idle_evict` (no publish and no waiter), and forgets
//! old token revocations. The hub owns it: it stops when the hub's token is
//! cancelled (shutdown, or the last `Hub` handle dropped), and it holds only
//! a weak reference so it never keeps the hub alive.

use std::{
    sync::{atomic::Ordering::Relaxed, Arc, Weak},
    time::Duration,
};

use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::{HubConfig, Shared};

/// How often the sweeper runs: often enough that TTL and idle eviction are
/// late by at most an eighth of the shorter of the two.
pub(super) fn period(config: &HubConfig) -> Duration {
    (config.event_ttl.min(config.idle_evict) / 8)
        .clamp(Duration::from_millis(10), Duration::from_secs(15))
}

pub(super) fn spawn(shared: &Arc<Shared>) {
    let task = run(
        Arc::downgrade(shared),
        shared.cancel.clone(),
        period(&shared.config),
    );
    shared.tasks.spawn_on(task, &shared.runtime);
}

async fn run(shared: Weak<Shared>, cancel: CancellationToken, period: Duration) {
    let mut ticks = tokio::time::interval_at(Instant::now() + period, period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            _ = ticks.tick() => {
                let Some(shared) = shared.upgrade() else { break };
                sweep(&shared, Instant::now());
            }
        }
    }
    tracing::debug!("realtime sweeper stopped");
}

/// One pass over every shard.
pub(super) fn sweep(shared: &Shared, now: Instant) {
    let config = &shared.config;
    let mut evicted = 0u64;
    for mut shard in shared.orgs.shards() {
        shard.retain(|_, state| {
            state.buffer.expire(now, config.event_ttl);
            let idle = state.waiters == 0
                && now.saturating_duration_since(state.last_active) >= config.idle_evict;
            evicted += u64::from(idle);
            !idle
        });
    }
    if evicted > 0 {
        shared.metrics.evictions.fetch_add(evicted, Relaxed);
        shared.metrics.buffered_orgs.fetch_sub(evicted, Relaxed);
        tracing::debug!(evicted, "evicted idle org buffers");
    }
    if let Some(cutoff) = now.checked_sub(config.poll_timeout) {
        shared.tokens.forget_revoked_before(cutoff);
    }
}
