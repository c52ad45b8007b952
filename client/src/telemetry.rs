//! Counters for the diagnostics panel and for load tools: leader changes,
//! suppressed follower polls, debounce fires, polls, events applied,
//! aggregate fetches, plus two gauges (outbox depth, lag behind the head).
//! Relaxed atomics: each is a tally, never used to order anything. A
//! sampled few sessions upload the tallies ([`crate::upload`]).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use ledgerline_wire::TelemetryUpload;

use crate::view::Counters;

#[derive(Debug, Default)]
pub struct Telemetry {
    pub(crate) leader_acquired: AtomicU64,
    pub(crate) leader_lost: AtomicU64,
    pub(crate) follower_suppressed_polls: AtomicU64,
    pub(crate) derived_debounce_fired: AtomicU64,
    pub(crate) polls: AtomicU64,
    pub(crate) events_applied: AtomicU64,
    pub(crate) aggregate_fetches: AtomicU64,
    pub(crate) outbox_depth: AtomicU64,
    /// Events left out because this client could not read them.
    pub(crate) events_skipped: AtomicU64,
    /// Poll answers the cache failed to store (disk full, locked, …).
    pub(crate) cache_write_failures: AtomicU64,
    /// The highest seq the server has said exists.
    pub(crate) head_seq: AtomicU64,
    /// The seq the cache is at.
    pub(crate) cache_seq: AtomicU64,
    /// Probes sent while offline (not in `Counters`).
    pub(crate) offline_probes: AtomicU64,
}

impl Telemetry {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    pub(crate) fn set(gauge: &AtomicU64, v: u64) {
        gauge.store(v, Relaxed);
    }

    pub(crate) fn raise(gauge: &AtomicU64, v: u64) {
        gauge.fetch_max(v, Relaxed);
    }

    pub fn counters(&self) -> Counters {
        let head = self.head_seq.load(Relaxed);
        let at = self.cache_seq.load(Relaxed);
        Counters {
            leader_acquired: self.leader_acquired.load(Relaxed),
            leader_lost: self.leader_lost.load(Relaxed),
            follower_suppressed_polls: self.follower_suppressed_polls.load(Relaxed),
            derived_debounce_fired: self.derived_debounce_fired.load(Relaxed),
            polls: self.polls.load(Relaxed),
            events_applied: self.events_applied.load(Relaxed),
            aggregate_fetches: self.aggregate_fetches.load(Relaxed),
            outbox_depth: self.outbox_depth.load(Relaxed),
            events_skipped: self.events_skipped.load(Relaxed),
            cache_write_failures: self.cache_write_failures.load(Relaxed),
            lag_behind_head: head.saturating_sub(at),
        }
    }

    /// The counters as uploaded (`POST /v1/telemetry`), totals since the
    /// session started; the uploader sends the increase since its last.
    pub fn upload_totals(&self) -> TelemetryUpload {
        TelemetryUpload {
            leader_acquired: self.leader_acquired.load(Relaxed),
            leader_lost: self.leader_lost.load(Relaxed),
            follower_suppressed_polls: self.follower_suppressed_polls.load(Relaxed),
            derived_debounce_fired: self.derived_debounce_fired.load(Relaxed),
            polls: self.polls.load(Relaxed),
            events_applied: self.events_applied.load(Relaxed),
            aggregate_fetches: self.aggregate_fetches.load(Relaxed),
            events_skipped: self.events_skipped.load(Relaxed),
            cache_write_failures: self.cache_write_failures.load(Relaxed),
            offline_probes: self.offline_probes.load(Relaxed),
        }
    }

    /// How many probes the poll loop has sent while offline.
    pub fn offline_probes(&self) -> u64 {
        self.offline_probes.load(Relaxed)
    }
}
