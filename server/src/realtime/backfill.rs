//! Filling a gap in an org's buffer from the log.
//!
//! A publish that skips seqs (6 arrives before 5) is held back by the buffer;
//! usually the missing publish follows within microseconds. If the gap is
//! still open after [`GAP_GRACE`] — the publisher of 5 died between commit
//! and publish, or a bus message was lost — one task per org reads the
//! missing events from the log, merges them and wakes the org's waiters. At
//! most one runs per org (`OrgState::backfilling`); it stops when the gap is
//! closed, the org is evicted, it gives up after [`MAX_FAILURES`] failed
//! reads (the next publish or parked poll starts a new one), or the hub
//! shuts down.

use std::{sync::Arc, time::Duration};

use ledgerline_wire::Event;

use super::Shared;

/// How long a gap may stay open before the log is asked to fill it.
pub(super) const GAP_GRACE: Duration = Duration::from_millis(50);
const MAX_FAILURES: u32 = 6;

/// A log read, checked against the contract: contiguous from `after + 1`.
pub(super) enum Run {
    /// Contiguous events from `after + 1` (maybe none). `complete`: the log
    /// had nothing more at read time, so the last one was its head.
    Events {
        events: Vec<Arc<Event>>,
        complete: bool,
    },
    /// The first event returned is past `after + 1`: the events right after
    /// the cursor were pruned.
    Late,
}

/// Checks a log read of at most `limit` events after `after`. Anything at or
/// before `after` is dropped; the run is cut at the first hole.
pub(super) fn contiguous(after: u64, read: Vec<Event>, limit: usize) -> Run {
    let complete = read.len() < limit;
    let mut events = Vec::with_capacity(read.len());
    // A cursor at u64::MAX (a client's, never one the server gave out) has
    // nothing after it; `read_log` then finds it ahead of the log: reset.
    let Some(mut next) = after.checked_add(1) else {
        return Run::Events {
            events: Vec::new(),
            complete: true,
        };
    };
    for event in read {
        if event.seq < next {
            continue;
        }
        if event.seq > next {
            if events.is_empty() {
                return Run::Late;
            }
            tracing::warn!(
                after,
                at = next,
                "event log returned a hole; using the run before it"
            );
            return Run::Events {
                events,
                complete: false,
            };
        }
        events.push(Arc::new(event));
        next += 1;
    }
    Run::Events { events, complete }
}

/// Starts the back-fill of `org`, which the caller claimed with
/// `OrgState::claim_backfill`.
pub(super) fn spawn(shared: &Arc<Shared>, org: Arc<str>) {
    let task_shared = Arc::clone(shared);
    shared.tasks.spawn_on(
        async move {
            let cancel = task_shared.cancel.clone();
            cancel.run_until_cancelled(fill(&task_shared, &org)).await;
        },
        &shared.runtime,
    );
}

async fn fill(shared: &Shared, org: &Arc<str>) {
    tokio::time::sleep(GAP_GRACE).await;
    let limit = shared.config.max_batch;
    let mut failures = 0;
    loop {
        let from = {
            let mut shard = shared.orgs.lock(org);
            let Some(state) = shard.get_mut(&**org) else {
                return;
            };
            if !state.buffer.has_gap() {
                state.backfilling = false;
                return;
            }
            state.buffer.head()
        };
        if step(shared, org, from, limit).await {
            failures = 0;
            continue;
        }
        failures += 1;
        if failures >= MAX_FAILURES {
            tracing::warn!(org_id = %org, head = from, "giving up filling a gap for now");
            if let Some(state) = shared.orgs.lock(org).get_mut(&**org) {
                state.backfilling = false;
            }
            return;
        }
        tokio::time::sleep(Duration::from_millis(100) * 2u32.pow(failures)).await;
    }
}

/// One read from the log past `from` (the buffer's head). Returns whether it
/// made progress.
async fn step(shared: &Shared, org: &Arc<str>, from: u64, limit: usize) -> bool {
    let read = match shared.log.events_after(org, from, limit).await {
        Ok(read) => read,
        Err(err) => {
            tracing::warn!(org_id = %org, error = %err, "back-fill read failed");
            return false;
        }
    };
    let (after, events) = match contiguous(from, read, limit) {
        Run::Events { events, .. } if !events.is_empty() => (from, events),
        // Nothing past our head, or it was pruned: ask where the log stands.
        empty_or_late => match shared.log.event_bounds(org).await {
            Ok((_, head)) if head <= from => {
                // The log has nothing we lack: what announced more was wrong.
                if let Some(state) = shared.orgs.lock(org).get_mut(&**org) {
                    state.buffer.forget_gap();
                }
                return true;
            }
            // Pruned past our head: rebase onto the log's head, so readers
            // behind it go to the log and get `reset`.
            Ok((_, head)) if matches!(empty_or_late, Run::Late) => (head, Vec::new()),
            Ok(_) => return false,
            Err(err) => {
                tracing::warn!(org_id = %org, error = %err, "back-fill read failed");
                return false;
            }
        },
    };
    let waker = {
        let mut shard = shared.orgs.lock(org);
        shard.get_mut(&**org).and_then(|state| {
            let advanced = state.buffer.merge(
                after,
                &events,
                tokio::time::Instant::now(),
                shared.config.buffer_capacity,
            );
            advanced.then(|| state.waker()).flatten()
        })
    };
    if let Some(waker) = waker {
        waker.notify_waiters();
    }
    true
}
