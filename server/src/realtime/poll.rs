//! The long-poll: answer from the buffer if it covers the cursor, else from
//! the log, else park until a publish makes an event visible, the timeout
//! passes, the token is revoked or the hub shuts down.
//!
//! Parking is a loop: create the org's `Notified` under the shard lock right
//! after finding nothing visible (so no publish can slip between the check
//! and the wait), wait, re-check. A poll only counts as a waiter — against
//! the cap and in the gauge — from its first park until it returns or is
//! dropped ([`WaiterGuard`]). The future is cancel-safe: dropping it at any
//! `.await` leaves no state behind.

use std::{sync::Arc, time::Duration};

use ledgerline_wire::{Cursor, Event, PollResponse};
use rand::Rng;
use tokio::{sync::futures::OwnedNotified, time::Instant};

use super::{
    backfill::{self, contiguous, Run},
    buffer::{scan, Buffer, Read},
    filter::PropertyFilter,
    fleet::Interest,
    log::LogError,
    metrics::PollOutcome,
    orgs::OrgState,
    waiters::{Registration, WaiterGuard},
    Hub,
};

/// One long-poll, as the HTTP layer parsed and authorized it.
#[derive(Debug, Clone)]
pub struct PollRequest {
    pub org_id: Arc<str>,
    /// The bearer token's id, so `Hub::revoke_token` can end this poll.
    pub token_id: Arc<str>,
    /// The seq of the cursor, whose epoch the caller checked against the
    /// log's. `None`: answer at once with the head cursor.
    pub cursor: Option<u64>,
    pub filter: PropertyFilter,
    /// `None` or anything longer: the hub's `poll_timeout`.
    pub timeout: Option<Duration>,
}

/// A poll's answer before it is serialized: the events (shared with the
/// buffer), the seq of the cursor to send back, and the flags.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub events: Vec<Arc<Event>>,
    /// The cursor's seq; [`Hub::cursor`] names it with the log's epoch.
    pub cursor: u64,
    /// The cursor was older or newer than anything the log holds.
    pub reset: bool,
    /// Set at the waiter cap and for a poll its token's newer one evicted.
    pub retry_after_ms: Option<u64>,
}

/// Why a poll got no [`PollResponse`].
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// The token was revoked (logout) while or before the poll waited: 401.
    #[error("the token was revoked")]
    Revoked,
    /// The durable log could not be read: 503.
    #[error(transparent)]
    Log(#[from] LogError),
}

/// Log reads one poll may make (hidden pages, races) before it answers with
/// no events and the cursor it reached.
const MAX_LOG_READS: usize = 8;

/// The jittered hint given when an org's waiter cap is reached, or to a poll
/// a newer one of its token evicted.
const RETRY_AFTER_MS: std::ops::RangeInclusive<u64> = 1_000..=3_000;

/// What the buffer says, under its lock.
enum Check {
    Events {
        events: Vec<Arc<Event>>,
        cursor: u64,
    },
    /// Up to date at `cursor`: wait for `notified`. `joined` is set when
    /// this check counted the poll as a new waiter.
    Wait {
        cursor: u64,
        notified: OwnedNotified,
        joined: Option<Arc<str>>,
    },
    /// Up to date, but the org's waiter cap is reached.
    Full {
        cursor: u64,
    },
    Miss,
}

/// What the log says.
enum FromLog {
    Events {
        events: Vec<Arc<Event>>,
        cursor: u64,
    },
    /// Only hidden events up to `cursor`.
    Hidden {
        cursor: u64,
    },
    Reset {
        head: u64,
    },
    /// The buffer now knows more: check it again.
    Again,
}

/// A parked poll's registration.
struct Parked<'a> {
    _guard: WaiterGuard<'a>,
    cancel: Registration,
}

impl Hub {
    /// Answers one long-poll per `docs/api.md`: events after the cursor that
    /// pass the filter (at most `max_batch`), or none once the timeout
    /// passes; the returned cursor always moves past events the filter hid.
    /// Cancel-safe: drop the future when the client hangs up.
    pub async fn poll(&self, req: PollRequest) -> Result<PollResponse, PollError> {
        let batch = self.poll_batch(&req).await?;
        Ok(self.response(batch))
    }

    /// [`Hub::poll`], answered as a [`Batch`] of the buffered events
    /// themselves: what [`Hub::body`] serializes once for every poll that
    /// gets the same batch.
    pub async fn poll_batch(&self, req: &PollRequest) -> Result<Batch, PollError> {
        // Every exit goes through `respond` or `fail`, which count the
        // outcome; a wrapper future doing that would add its own copy of the
        // request to every parked poll.
        let shared = &*self.shared;
        if shared.tokens.is_revoked(&req.token_id) {
            return self.fail(PollError::Revoked);
        }
        let timeout = req.timeout.map_or(shared.config.poll_timeout, |t| {
            t.min(shared.config.poll_timeout)
        });
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);

        let Some(mut cursor) = req.cursor else {
            return match shared.log.event_bounds(&req.org_id).await {
                Ok((_, head)) => self.respond(Vec::new(), head, PollOutcome::Head),
                Err(err) => self.fail(err.into()),
            };
        };
        let mut parked: Option<Parked<'_>> = None;
        let mut log_reads = 0;
        loop {
            match self.check(&req.org_id, cursor, &req.filter, parked.is_none()) {
                Check::Events { events, cursor } => {
                    return self.respond(events, cursor, PollOutcome::Events)
                }
                Check::Full { cursor } => {
                    return self.respond(Vec::new(), cursor, PollOutcome::Cap)
                }
                Check::Miss => {
                    if log_reads == MAX_LOG_READS {
                        return self.respond(Vec::new(), cursor, PollOutcome::Hidden);
                    }
                    log_reads += 1;
                    // While it reads the log, events of this org from the
                    // bus are taken even if it has no buffer (fleet.rs).
                    let _interest = Interest::new(shared, &req.org_id);
                    // Boxed: only polls that read the log pay for its state.
                    match Box::pin(self.read_log(&req.org_id, cursor, &req.filter)).await {
                        Ok(FromLog::Events { events, cursor }) => {
                            return self.respond(events, cursor, PollOutcome::Events)
                        }
                        Ok(FromLog::Reset { head }) => {
                            return self.respond(Vec::new(), head, PollOutcome::Reset)
                        }
                        Ok(FromLog::Hidden { cursor: past }) => cursor = past,
                        Ok(FromLog::Again) => {}
                        Err(err) => return self.fail(err.into()),
                    }
                }
                Check::Wait {
                    cursor: at,
                    notified,
                    joined,
                } => {
                    cursor = at;
                    if let Some(org) = joined {
                        let mut guard = WaiterGuard::counted(shared, org);
                        let Some(cancel) = guard.register(&req.token_id) else {
                            return self.fail(PollError::Revoked);
                        };
                        parked = Some(Parked {
                            _guard: guard,
                            cancel,
                        });
                    }
                    let Some(Parked { cancel, .. }) = &parked else {
                        unreachable!("a poll that waits has registered");
                    };
                    tokio::select! {
                        biased;
                        () = cancel.poll.cancelled() => {
                            return if shared.cancel.is_cancelled() {
                                self.respond(Vec::new(), cursor, PollOutcome::Shutdown)
                            } else if cancel.token.is_cancelled() {
                                self.fail(PollError::Revoked)
                            } else {
                                self.respond(Vec::new(), cursor, PollOutcome::Evicted)
                            };
                        }
                        () = notified => {}
                        () = &mut deadline => {
                            return self.respond(Vec::new(), cursor, PollOutcome::Timeout);
                        }
                    }
                }
            }
        }
    }

    /// Builds and counts an answer: `reset` for [`PollOutcome::Reset`], a
    /// jittered `retry_after_ms` for [`PollOutcome::Cap`] and
    /// [`PollOutcome::Evicted`].
    fn respond(
        &self,
        events: Vec<Arc<Event>>,
        cursor: u64,
        outcome: PollOutcome,
    ) -> Result<Batch, PollError> {
        self.shared.metrics.poll_answered(outcome);
        Ok(Batch {
            events,
            cursor,
            reset: outcome == PollOutcome::Reset,
            retry_after_ms: matches!(outcome, PollOutcome::Cap | PollOutcome::Evicted)
                .then(|| rand::thread_rng().gen_range(RETRY_AFTER_MS)),
        })
    }

    /// `batch` as the wire's [`PollResponse`] (a copy of every event).
    pub fn response(&self, batch: Batch) -> PollResponse {
        PollResponse {
            events: batch.events.iter().map(|e| Event::clone(e)).collect(),
            cursor: self.cursor(batch.cursor).to_string(),
            reset: batch.reset,
            retry_after_ms: batch.retry_after_ms,
        }
    }

    /// The cursor for `seq`, named by the log's epoch.
    pub fn cursor(&self, seq: u64) -> Cursor {
        match self.shared.log.epoch() {
            Some(epoch) => Cursor::with_epoch(epoch, seq),
            None => Cursor::at(seq),
        }
    }

    fn fail(&self, err: PollError) -> Result<Batch, PollError> {
        let outcome = match &err {
            PollError::Revoked => PollOutcome::Revoked,
            PollError::Log(_) => PollOutcome::Error,
        };
        self.shared.metrics.poll_answered(outcome);
        Err(err)
    }

    /// Reads the buffer after `cursor`; when nothing is visible, arms a
    /// wake-up and, if `join`, counts the poll as a waiter (or refuses it at
    /// the cap).
    fn check(&self, org: &str, cursor: u64, filter: &PropertyFilter, join: bool) -> Check {
        let shared = &*self.shared;
        let mut claimed = None;
        let check = {
            // Held for one scan of at most `buffer_capacity` entries.
            let mut shard = shared.orgs.lock(org);
            let Some(state) = shard.get_mut(org) else {
                return Check::Miss;
            };
            match state.buffer.read(cursor, filter, shared.config.max_batch) {
                Read::Miss => Check::Miss,
                Read::Events { events, cursor } => Check::Events { events, cursor },
                Read::UpToDate { cursor } if !join => Check::Wait {
                    cursor,
                    notified: state.notified(),
                    joined: None,
                },
                Read::UpToDate { cursor } if state.waiters >= shared.config.waiter_cap => {
                    Check::Full { cursor }
                }
                Read::UpToDate { cursor } => {
                    state.waiters += 1;
                    state.last_active = Instant::now();
                    shared
                        .metrics
                        .waiters
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if state.claim_backfill() {
                        claimed = Some(Arc::clone(&state.key));
                    }
                    Check::Wait {
                        cursor,
                        notified: state.notified(),
                        joined: Some(Arc::clone(&state.key)),
                    }
                }
            }
        };
        if let Some(org) = claimed {
            backfill::spawn(&self.shared, org);
        }
        check
    }

    /// Serves a cursor the buffer does not cover from the log, and teaches
    /// the buffer what it read.
    async fn read_log(
        &self,
        org: &Arc<str>,
        after: u64,
        filter: &PropertyFilter,
    ) -> Result<FromLog, LogError> {
        let log = &self.shared.log;
        let limit = self.shared.config.max_batch;
        let read = log.events_after(org, after, limit).await?;
        match contiguous(after, read, limit) {
            Run::Late => {
                let (_, head) = log.event_bounds(org).await?;
                Ok(FromLog::Reset { head })
            }
            Run::Events { events, complete } if events.is_empty() => {
                let (oldest, head) = log.event_bounds(org).await?;
                if after > head {
                    // Ahead of the log: the database was replaced.
                    return Ok(FromLog::Reset { head });
                }
                if after < head {
                    // Either a commit landed between the two reads (read
                    // again) or everything after the cursor was pruned.
                    let raced = oldest.is_some_and(|oldest| oldest <= after + 1);
                    return Ok(if raced {
                        FromLog::Again
                    } else {
                        FromLog::Reset { head }
                    });
                }
                debug_assert!(complete);
                self.learn(org, after, &[], true);
                Ok(FromLog::Again)
            }
            Run::Events { events, complete } => {
                self.learn(org, after, &events, complete);
                let (visible, cursor) = scan(events.iter(), after, filter, limit);
                Ok(if visible.is_empty() {
                    FromLog::Hidden { cursor }
                } else {
                    FromLog::Events {
                        events: visible,
                        cursor,
                    }
                })
            }
        }
    }

    /// Merges a run read from the log into the org's buffer. Creates the
    /// buffer only from a `complete` run (one that reached the log's head):
    /// a buffer may claim a head only when every later event is still to be
    /// published.
    fn learn(&self, org: &Arc<str>, after: u64, run: &[Arc<Event>], complete: bool) {
        let shared = &*self.shared;
        let now = Instant::now();
        let (claimed, waker) = {
            // Held for one merge; never across an `.await`.
            let mut shard = shared.orgs.lock(org);
            if !shard.contains_key(&**org) {
                if !complete {
                    return;
                }
                let state = OrgState::new(Arc::clone(org), Buffer::at(after), now);
                shard.insert(Arc::clone(org), state);
                shared
                    .metrics
                    .buffered_orgs
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            let Some(state) = shard.get_mut(&**org) else {
                return;
            };
            let advanced = state
                .buffer
                .merge(after, run, now, shared.config.buffer_capacity);
            (
                state.claim_backfill(),
                advanced.then(|| state.waker()).flatten(),
            )
        };
        if let Some(waker) = waker {
            waker.notify_waiters();
        }
        if claimed {
            backfill::spawn(&self.shared, Arc::clone(org));
        }
    }
}
